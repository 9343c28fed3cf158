"""Page latency and SQL query counts on a large data set, through the real app (test client).

    python -m tests.bench.bench_pages --database-url sqlite:////tmp/bench.db --generate \
        --offers 10000 --subscriptions 100000 --usage 1000000

Each page is fetched `--repeat` times after a warm-up; p50/p95 and the number of SQL statements
of one fetch are printed. Run it at two sizes to see that query counts do not grow with the data.
"""

from __future__ import annotations

import tempfile

import click
import sqlalchemy as sa

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import User, UserRole
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.search import index as search_index
from app.subscriptions.models import Subscription

from .common import counting_queries, timed

PASSWORD = "bench-password"


def _login(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def _staff(email: str, role: str, tier: int | None = None) -> str:
    user = accounts.find_user_by_email(email)
    if user is None:
        user = User(
            email=email,
            name=f"Bench {role}",
            password_hash=accounts.hash_password(PASSWORD),
            active=True,
            support_tier=tier,
        )
        db.session.add(user)
        db.session.flush()
        db.session.add(UserRole(user_id=user.id, role=role))
    return email


def _prepare_users() -> dict[str, str]:
    consumer = db.session.scalars(sa.select(User).order_by(User.id)).first()
    consumer.password_hash = accounts.hash_password(PASSWORD)
    emails = {
        "consumer": consumer.email,
        "product_manager": _staff("pm@bench.test", "product_manager"),
        "catalog_manager": _staff("cm@bench.test", "catalog_manager"),
        "support_agent": _staff("agent@bench.test", "support_agent", tier=1),
    }
    db.session.commit()
    return emails


@click.command()
@click.option("--database-url", required=True)
@click.option("--generate/--no-generate", default=False)
@click.option("--offers", default=10_000, show_default=True)
@click.option("--subscriptions", default=100_000, show_default=True)
@click.option("--usage", default=1_000_000, show_default=True)
@click.option("--repeat", default=20, show_default=True)
@click.option(
    "--index-dir",
    default=None,
    help="Keep the search index here between runs (built when missing); default: a fresh one.",
)
@click.option(
    "--only",
    default=None,
    help="Fetch only the pages whose name starts with this (e.g. dashboard); no search index.",
)
def main(
    database_url: str,
    generate: bool,
    offers: int,
    subscriptions: int,
    usage: int,
    repeat: int,
    index_dir: str | None,
    only: str | None,
) -> None:
    index_dir = index_dir or tempfile.mkdtemp(prefix="offerdesk-bench-index-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "SEARCH_INDEX_DIR": index_dir,
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        if generate:
            from flask_migrate import upgrade

            from .generate import generate as build

            upgrade()
            build(offers, subscriptions, usage)
        if not only and not search_index.status().get("documents"):
            total = db.session.scalar(sa.select(sa.func.count(ServiceOffer.id)))
            with click.progressbar(length=total, label="Indexing") as bar:
                search_index.rebuild(progress=bar.update)
        emails = _prepare_users()
        consumer = accounts.find_user_by_email(emails["consumer"])
        subscription_id = db.session.scalar(
            sa.select(Subscription.id)
            .where(Subscription.group_id.in_(consumer.group_ids))
            .order_by(Subscription.id)
        )
        product_id = db.session.scalar(
            sa.select(ServiceOffer.product_id)
            .join(Subscription, Subscription.offer_id == ServiceOffer.id)
            .where(Subscription.id == subscription_id)
        )
        offer_id = db.session.scalar(
            sa.select(ServiceOffer.id).where(ServiceOffer.status == "published").limit(1)
        )
        dialect = db.engine.dialect.name
        sizes = {
            name: db.session.scalar(sa.text(f"SELECT count(*) FROM {name}"))
            for name in (
                "service_offers",
                "subscriptions",
                "usage_records",
                "orders",
                "support_requests",
            )
        }
    as_consumer, as_manager = (
        _login(app, emails["consumer"]),
        _login(app, emails["product_manager"]),
    )
    as_catalog, as_agent = (
        _login(app, emails["catalog_manager"]),
        _login(app, emails["support_agent"]),
    )
    pages = [
        ("catalog", as_consumer, "/catalog/"),
        ("search", as_consumer, "/search?q=cloud+backup"),
        ("my subscriptions", as_consumer, "/subscriptions"),
        ("subscription", as_consumer, f"/subscriptions/{subscription_id}"),
        ("status page", as_consumer, f"/status/subscriptions/{subscription_id}"),
        ("dashboard (all)", as_manager, "/status/dashboard"),
        ("dashboard (product)", as_manager, f"/status/dashboard?product={product_id}"),
        ("offer editor", as_catalog, f"/catalog/manage/offers/{offer_id}"),
        ("support queue", as_agent, "/support/queue"),
        ("knowledge base", as_consumer, "/support/knowledge"),
    ]
    click.echo(f"{dialect}: {sizes}")
    click.echo(f"{'page':<20}{'status':>7}{'queries':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for name, client, path in pages:
        if only and not name.startswith(only):
            continue
        with app.app_context(), counting_queries() as statements:
            response = client.get(path)
        figures = timed(lambda client=client, path=path: client.get(path), repeat)
        click.echo(
            f"{name:<20}{response.status_code:>7}{len(statements):>9}{figures['p50_ms']:>9}{figures['p95_ms']:>9}"
        )


if __name__ == "__main__":
    main()
