"""Search latency per backend: the Whoosh index and, on PostgreSQL, full-text search
(SEARCH_BACKEND=postgres), against a plain SQL LIKE and the SQL fallback over the same offers,
in one run. It prints every query's p50/p95 and, per backend, the p50/p95 over all samples.

    python -m tests.bench.bench_search --database-url sqlite:////tmp/bench.db --generate 10000
    bash tests/with_postgres.sh sh -c 'python -m tests.bench.bench_search \
        --database-url "$TEST_DATABASE_URL" --generate 10000 --backend whoosh --backend postgres'

--generate builds a fresh data set first (by the migrations, then tests.bench.generate; it
works at 100000 too). Without it the database is used as it is. --index-dir keeps the Whoosh
index between runs (it is rebuilt when missing or when --reindex is given), so the same data
can be timed on two checkouts back to back (tests/bench/compare_search.sh)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from statistics import median

import click
import sqlalchemy as sa

from app import clock, create_app
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.search import index as search_index
from app.search import services as search
from app.search.index.store import probe

from .common import percentile

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


def _forget_searcher() -> None:
    """--cold: drop the kept Whoosh searcher and what it keeps (checkouts without it: nothing)."""
    try:
        from app.search import searchers
    except ImportError:
        return
    searchers.forget()


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock_now = CLOCK["wall"]


def samples_of(call, repeat: int, cold: bool = False) -> list[float]:
    """Milliseconds of `repeat` calls after one warm-up; the session is reset between calls
    (as between requests), so no call answers from objects an earlier one loaded. `cold`
    also drops the kept Whoosh searcher before each call (as after every index commit).
    With --clock cpu the milliseconds are this process's CPU time (the database's own time
    is in it on SQLite, not on PostgreSQL): steadier than wall time on a loaded machine."""
    call()
    samples = []
    for _ in range(repeat):
        db.session.rollback()
        if cold:
            _forget_searcher()
        started = clock_now()
        call()
        samples.append((clock_now() - started) * 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    return round(median(samples), 1), round(percentile(samples, 0.95), 1)


def _ensure_index(app, index_dir: Path, reindex: bool, offers: int) -> float | None:
    """Build the Whoosh index when it is missing (or asked to); seconds taken, None if kept."""
    if not reindex and probe(index_dir) is None:
        return None
    started = time.perf_counter()
    with click.progressbar(length=offers, label="Indexing") as bar:
        search_index.rebuild(progress=bar.update)
    return time.perf_counter() - started


def _time_backend(app, name: str, user, repeat: int, baselines: bool, cold: bool) -> dict:
    app.config["SEARCH_BACKEND"] = name
    rows = {}
    for text in QUERIES:
        result = search.search_offers(user, text)
        rows[text] = {
            "backend": samples_of(lambda text=text: search.search_offers(user, text), repeat, cold),
            "hits": result.total,
            "source": result.source,
        }
        if baselines:
            rows[text]["like"] = samples_of(lambda text=text: like_search(user, text), repeat)
            rows[text]["fallback"] = samples_of(
                lambda text=text: database_search(user, text), repeat
            )
            rows[text]["hits_like"] = len(like_search(user, text, limit=1_000_000))
    return rows


def _report(name: str, rows: dict, baselines: bool) -> None:
    header = f"{'query':<24}{'p50':>8}{'p95':>8}{'hits':>7}"
    if baselines:
        header += f"{'LIKE p50':>10}{'LIKE p95':>10}{'SQL p50':>9}{'SQL p95':>9}{'LIKE hits':>10}"
    click.echo(f"\n{name} backend\n{header}")
    for text, row in rows.items():
        p50, p95 = summary(row["backend"])
        line = f"{text:<24}{p50:>8}{p95:>8}{row['hits']:>7}"
        if row["source"] != "index":
            line += f"  (answered by {row['source']})"
        if baselines:
            like, fallback = summary(row["like"]), summary(row["fallback"])
            line += (
                f"{like[0]:>10}{like[1]:>10}{fallback[0]:>9}{fallback[1]:>9}{row['hits_like']:>10}"
            )
        click.echo(line)
    every = [sample for row in rows.values() for sample in row["backend"]]
    p50, p95 = summary(every)
    click.echo(f"{name}: all {len(every)} samples p50 {p50} ms, p95 {p95} ms")


@click.command()
@click.option("--database-url", required=True)
@click.option(
    "--generate",
    "generate_offers",
    type=int,
    default=0,
    help="Build a fresh data set with this many offers first.",
)
@click.option("--repeat", default=30, show_default=True, help="Timed runs of each query.")
@click.option(
    "--backend",
    "backends",
    type=click.Choice(["whoosh", "postgres"]),
    multiple=True,
    help="SEARCH_BACKEND to time; repeat for both (default: the database's).",
)
@click.option("--index-dir", type=click.Path(file_okay=False), default=None)
@click.option("--reindex", is_flag=True, help="Rebuild the Whoosh index even if it is usable.")
@click.option(
    "--cold", is_flag=True, help="Open the Whoosh searcher afresh for every call (no caches)."
)
@click.option(
    "--baselines/--no-baselines", default=True, help="Also time LIKE and the SQL fallback."
)
@click.option(
    "--clock",
    "clock_name",
    type=click.Choice(sorted(CLOCK)),
    default="wall",
    show_default=True,
    help="Time wall clock or this process's CPU time.",
)
def main(
    database_url: str,
    generate_offers: int,
    repeat: int,
    backends: tuple[str, ...],
    index_dir: str | None,
    reindex: bool,
    baselines: bool,
    cold: bool,
    clock_name: str,
) -> None:
    global clock_now
    clock_now = CLOCK[clock_name]
    index_path = Path(index_dir or tempfile.mkdtemp(prefix="offerdesk-bench-index-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "SEARCH_INDEX_DIR": str(index_path),
            "SEARCH_BACKEND": backends[0] if backends else "",
        }
    )
    backends = backends or (app.config["SEARCH_BACKEND"],)
    with app.app_context():
        if generate_offers:
            from flask_migrate import upgrade

            from .generate import generate

            upgrade()
            generate(generate_offers, 1000, 1000)
            reindex = True
        offers = db.session.scalar(sa.select(sa.func.count(ServiceOffer.id)))
        index_seconds = None
        if "whoosh" in backends:
            index_seconds = _ensure_index(app, index_path, reindex, offers)
        from app.accounts.models import User

        user = db.session.scalars(sa.select(User).order_by(User.id)).first()
        built = "kept" if index_seconds is None else f"built in {index_seconds:.1f} s"
        click.echo(
            f"{db.engine.dialect.name}: {offers} offers, Whoosh index in {index_path} ({built}); "
            f"{repeat} runs per query{', searcher opened afresh for each' if cold else ''}"
            f"{', CPU time' if clock_name == 'cpu' else ''}"
        )
        totals = {}
        for name in backends:
            rows = _time_backend(app, name, user, repeat, baselines, cold)
            _report(name, rows, baselines)
            totals[name] = summary([s for row in rows.values() for s in row["backend"]])
        click.echo("")
        for name, (p50, p95) in totals.items():
            click.echo(
                f"SUMMARY {db.engine.dialect.name} {offers} offers {name}: p50 {p50} ms, p95 {p95} ms"
            )


if __name__ == "__main__":
    main()
