"""Search latency: the search backend (the Whoosh index, or PostgreSQL full-text search with
--backend postgres) against a plain SQL LIKE search over the same offers, in one run.

python -m tests.bench.bench_search --database-url sqlite:////tmp/bench.db [--generate 10000]
python -m tests.bench.bench_search --database-url postgresql://... --backend postgres
"""

from __future__ import annotations

import tempfile
import time
from statistics import median

import click
import sqlalchemy as sa

from app import clock, create_app
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.search import index as search_index
from app.search import services as search

from .common import timed

QUERIES = [
    "cloud backup",
    "secure access",
    "vpn",
    "databse replication",
    "laptop monitor",
    "kubernetes",
    "premium support desk",
    "encrypted storage",
    "analytics server",
    "mobil",
    "firewall gateway",
    "training",
]


def like_search(user, text: str, limit: int = 20) -> list[int]:
    """What we would do without an index: visible offers whose text contains every word."""
    query = catalog.visible_offers_query(user).with_only_columns(ServiceOffer.id)
    for word in text.lower().split():
        pattern = f"%{word}%"
        query = query.where(
            sa.or_(
                sa.func.lower(ServiceOffer.name).like(pattern),
                sa.func.lower(ServiceOffer.summary).like(pattern),
                sa.func.lower(ServiceOffer.description).like(pattern),
                sa.func.lower(ServiceOffer.code).like(pattern),
            )
        )
    return list(db.session.scalars(query.order_by(ServiceOffer.name).limit(limit)))


def database_search(user, text: str):
    """The portal's own SQL answer (LIKE plus facets, sorting, pagination): what search falls
    back to when the index is unavailable."""
    criteria = search.parse_criteria(text)
    return search._search_database(user, criteria, clock.now(), degraded=False)


@click.command()
@click.option("--database-url", required=True)
@click.option(
    "--generate",
    "generate_offers",
    type=int,
    default=0,
    help="Build a fresh data set with this many offers first.",
)
@click.option("--repeat", default=30, show_default=True)
@click.option(
    "--backend",
    type=click.Choice(["whoosh", "postgres"]),
    default=None,
    help="SEARCH_BACKEND (default: the database's).",
)
def main(database_url: str, generate_offers: int, repeat: int, backend: str | None) -> None:
    index_dir = tempfile.mkdtemp(prefix="offerdesk-bench-index-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "SEARCH_INDEX_DIR": index_dir,
            "SEARCH_BACKEND": backend or "",
        }
    )
    with app.app_context():
        if generate_offers:
            from flask_migrate import upgrade

            from .generate import generate

            upgrade()
            generate(generate_offers, 1000, 1000)
        offers = db.session.scalar(sa.select(sa.func.count(ServiceOffer.id)))
        started = time.perf_counter()
        if app.config["SEARCH_BACKEND"] == "whoosh":
            with click.progressbar(length=offers, label="Indexing") as bar:
                search_index.rebuild(progress=bar.update)
        index_seconds = time.perf_counter() - started
        from app.accounts.models import User

        user = db.session.scalars(sa.select(User).order_by(User.id)).first()
        results = {}
        for text in QUERIES:
            results[text] = {
                "index": timed(lambda text=text: search.search_offers(user, text), repeat),
                "like": timed(lambda text=text: like_search(user, text), repeat),
                "fallback": timed(lambda text=text: database_search(user, text), repeat),
                "hits_index": search.search_offers(user, text).total,
                "hits_like": len(like_search(user, text, limit=100_000)),
            }
        index_all = [r["index"]["p50_ms"] for r in results.values()]
        like_all = [r["like"]["p50_ms"] for r in results.values()]
        fallback_all = [r["fallback"]["p50_ms"] for r in results.values()]
        click.echo(
            f"{db.engine.dialect.name}, {app.config['SEARCH_BACKEND']} backend: {offers} offers, "
            f"index built in {index_seconds:.1f} s"
        )
        click.echo(
            f"{'query':<24}{'index p50':>10}{'index p95':>10}{'LIKE p50':>10}{'LIKE p95':>10}"
            f"{'SQL p50':>10}{'SQL p95':>10}{'hits idx':>10}{'hits LIKE':>10}"
        )
        for text, row in results.items():
            click.echo(
                f"{text:<24}{row['index']['p50_ms']:>10}{row['index']['p95_ms']:>10}{row['like']['p50_ms']:>10}"
                f"{row['like']['p95_ms']:>10}{row['fallback']['p50_ms']:>10}{row['fallback']['p95_ms']:>10}"
                f"{row['hits_index']:>10}{row['hits_like']:>10}"
            )
        click.echo(
            f"median of p50s: index {median(index_all)} ms, plain LIKE {median(like_all)} ms, "
            f"SQL with facets {median(fallback_all)} ms"
        )


if __name__ == "__main__":
    main()
