"""Benchmark data: thousands of offers, hundreds of thousands of subscriptions, a million usage rows.

    python -m tests.bench.generate --database-url sqlite:///instance/bench.db \
        --offers 10000 --subscriptions 100000 --usage 1000000

Rows go in with bulk INSERTs in batches (with a progress bar), on a database built by the
migrations. Everything is deterministic for a given --seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa

from app.accounts.models import ConsumerGroup, User, UserRole, group_members
from app.catalog.models import Category, DigitalProduct, OfferSettings, ProductRelease, ServiceOffer
from app.extensions import db
from app.status.models import ServiceNotice, UsageMetric, UsageRecord
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from app.support.models import SupportRequest

WORDS = [
    "cloud",
    "secure",
    "managed",
    "premium",
    "virtual",
    "database",
    "backup",
    "network",
    "storage",
    "laptop",
    "monitor",
    "mobile",
    "access",
    "identity",
    "mailbox",
    "compute",
    "kubernetes",
    "analytics",
    "printer",
    "headset",
    "firewall",
    "vpn",
    "antivirus",
    "training",
    "desk",
    "license",
    "server",
    "container",
    "gateway",
    "archive",
    "replication",
    "encrypted",
    "shared",
    "dedicated",
    "standard",
    "advanced",
]
CATEGORIES = [
    "Devices",
    "Access and accounts",
    "Cloud compute",
    "Databases",
    "Collaboration",
    "Security",
    "Support",
    "Networking",
]
METRICS = [
    ("gb_transferred", "Data transferred", "GB"),
    ("cpu_hours", "CPU hours", "h"),
    ("api_calls", "API calls", "calls"),
]
START = datetime(2025, 1, 1, tzinfo=UTC)
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "zi",
    "bel",
    "dor",
    "fen",
    "gar",
    "hil",
    "jun",
]


def vocabulary(rng: random.Random, size: int = 2000) -> tuple[list[str], list[float]]:
    """Words for descriptions with a Zipf-like spread, as in real prose: a long tail of rare
    words, with the IT words of WORDS in the middle ranks, so each of them turns up in roughly
    one description in six (not in most of them)."""
    filler: set[str] = set()
    while len(filler) < size - len(WORDS):
        filler.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    words = sorted(filler)
    rng.shuffle(words)
    words[20:20] = WORDS
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    return words, weights


BATCH = 5000


def _insert(table, rows: list[dict]) -> None:
    if rows:
        db.session.execute(sa.insert(table), rows)


def _batched(label: str, total: int, make_row, table) -> None:
    with click.progressbar(length=total, label=label, show_pos=True) as bar:
        buffer: list[dict] = []
        for index in range(total):
            buffer.append(make_row(index))
            if len(buffer) >= BATCH:
                _insert(table, buffer)
                db.session.commit()
                bar.update(len(buffer))
                buffer = []
        _insert(table, buffer)
        db.session.commit()
        bar.update(len(buffer))


def generate(offers: int, subscriptions: int, usage: int, seed: int = 7, groups: int = 50) -> dict:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    _insert(
        ConsumerGroup.__table__,
        [{"name": f"Group {g:03d}", "description": "", "created_at": START} for g in range(groups)]
        + [{"name": "Support Desk", "description": "", "created_at": START}],
    )
    user_rows = [
        {
            "email": f"consumer{g:03d}@bench.test",
            "name": f"Consumer {g:03d}",
            "password_hash": "x",
            "active": True,
            "created_at": START,
        }
        for g in range(groups)
    ]
    _insert(User.__table__, user_rows)
    db.session.flush()
    group_ids = list(db.session.scalars(sa.select(ConsumerGroup.id).order_by(ConsumerGroup.id)))[
        :groups
    ]
    user_ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
    _insert(UserRole.__table__, [{"user_id": uid, "role": "consumer"} for uid in user_ids])
    _insert(
        group_members,
        [{"group_id": gid, "user_id": uid} for gid, uid in zip(group_ids, user_ids, strict=True)],
    )
    _insert(
        Category.__table__,
        [
            {"name": name, "slug": name.lower().replace(" ", "-"), "description": "", "position": i}
            for i, name in enumerate(CATEGORIES)
        ],
    )
    _insert(
        DigitalProduct.__table__,
        [{"name": f"Product {p:03d}", "description": "", "created_at": START} for p in range(100)],
    )
    _insert(
        UsageMetric.__table__,
        [{"key": key, "label": label, "unit": unit} for key, label, unit in METRICS],
    )
    db.session.commit()
    category_ids = list(db.session.scalars(sa.select(Category.id)))
    product_ids = list(db.session.scalars(sa.select(DigitalProduct.id)))
    _insert(
        ProductRelease.__table__,
        [
            {
                "product_id": pid,
                "version": "1.0",
                "status": "deployed",
                "notes": "",
                "deployed_at": START,
                "created_at": START,
            }
            for pid in product_ids
        ],
    )

    levels = {
        "availability_pct": 99.5,
        "fulfillment_target_hours": 24,
        "support_hours": "24x7",
        "response_hours": {"critical": 1, "high": 4, "medium": 8, "low": 24},
        "resolution_hours": {"critical": 4, "high": 8, "medium": 24, "low": 72},
    }

    description_words, description_weights = vocabulary(rng)

    def offer_row(index: int) -> dict:
        words = rng.sample(WORDS, 3)
        price = Decimal(rng.randint(100, 50_000)) / 100
        return {
            "code": f"BENCH-{index:05d}",
            "revision": 1,
            "name": " ".join(words).title(),
            "summary": f"{words[0].title()} service for {words[1]} and {words[2]} needs.",
            "description": " ".join(
                rng.choices(description_words, weights=description_weights, k=40)
            ),
            "kind": "new_instance",
            "status": "published",
            "category_id": rng.choice(category_ids),
            "product_id": rng.choice(product_ids),
            "valid_from": START,
            "cost": (price * Decimal("0.4")).quantize(Decimal("0.01")),
            "price": price,
            "currency": "EUR",
            "billing_period": rng.choice(["monthly", "yearly", "one_time"]),
            "terms": "Standard terms.",
            "service_levels": levels,
            "options": [
                {
                    "key": "gb_transferred_quota",
                    "label": "Quota",
                    "type": "number",
                    "min": 1,
                    "max": 10000,
                    "default": 500,
                }
            ],
            "fulfillment_plan": [
                {"name": "Provision", "mode": "automatic", "integration": None, "expected_hours": 1}
            ],
            "support_plan": {
                "tier1_group": "Support Desk",
                "channels": ["portal"],
                "escalation_path": [],
            },
            "published_at": START,
            "created_at": START,
            "updated_at": START,
            "version": 1,
        }

    _batched("offers", offers, offer_row, ServiceOffer.__table__)
    _insert(
        OfferSettings.__table__,
        [
            {"offer_code": f"BENCH-{i:05d}", "canary": False, "featured": i < 6}
            for i in range(offers)
        ],
    )
    db.session.commit()
    offer_rows = db.session.execute(
        sa.select(ServiceOffer.id, ServiceOffer.code, ServiceOffer.price, ServiceOffer.product_id)
    ).all()

    sub_offers: list[tuple] = []

    def subscription_row(index: int) -> dict:
        offer = offer_rows[rng.randrange(len(offer_rows))]
        created = START + timedelta(
            minutes=rng.randrange(0, int((now - START).total_seconds() // 60) - 2000)
        )
        terminated = created + timedelta(days=rng.randint(30, 300)) if rng.random() < 0.15 else None
        if terminated is not None and terminated > now:
            terminated = None
        sub_offers.append((offer, created))
        return {
            "offer_id": offer[0],
            "offer_code": offer[1],
            "group_id": group_ids[index % groups],
            "owner_id": user_ids[index % groups],
            "status": "terminated" if terminated else "active",
            "options": {"gb_transferred_quota": 500},
            "failure_reason": "",
            "created_at": created,
            "active_since": created + timedelta(hours=rng.randint(1, 48)),
            "terminated_at": terminated,
            "version": 2,
        }

    _batched("subscriptions", subscriptions, subscription_row, Subscription.__table__)
    first_sub = db.session.scalar(sa.select(sa.func.min(Subscription.id)))

    def contract_row(index: int) -> dict:
        offer, created = sub_offers[index]
        return {
            "subscription_id": first_sub + index,
            "version": 1,
            "status": "active",
            "offer_id": offer[0],
            "offer_code": offer[1],
            "offer_revision": 1,
            "price": offer[2],
            "currency": "EUR",
            "billing_period": "monthly",
            "snapshot": {"service_levels": levels, "terms": "Standard terms."},
            "agreed_at": created,
        }

    _batched("contracts", subscriptions, contract_row, ServiceContract.__table__)

    def order_row(index: int) -> dict:
        offer, created = sub_offers[index]
        return {
            "subscription_id": first_sub + index,
            "order_type": "new",
            "status": "completed",
            "options": {},
            "agreement": {"service_levels": levels},
            "idempotency_key": f"bench-{index}",
            "request_fingerprint": "",
            "requested_by_id": user_ids[index % groups],
            "created_at": created,
            "completed_at": created + timedelta(hours=rng.choice([2, 8, 20, 30, 50])),
            "failure_reason": "",
        }

    _batched("orders", subscriptions, order_row, Order.__table__)
    first_order = db.session.scalar(sa.select(sa.func.min(Order.id)))

    def task_row(index: int) -> dict:
        _, created = sub_offers[index]
        return {
            "order_id": first_order + index,
            "subscription_id": first_sub + index,
            "sequence": 1,
            "name": "Provision",
            "mode": "automatic",
            "expected_hours": 1,
            "status": "done",
            "failure_reason": "",
            "created_at": created,
            "queued_at": created,
            "started_at": created,
            "completed_at": created + timedelta(hours=1),
        }

    _batched("tasks", subscriptions, task_row, FulfillmentTask.__table__)
    days = 60

    def usage_row(index: int) -> dict:
        sub_index = index // days % subscriptions
        day = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=days - index % days
        )
        return {
            "subscription_id": first_sub + sub_index,
            "metric": METRICS[(index // (days * subscriptions)) % len(METRICS)][0],
            "quantity": Decimal(rng.randint(0, 2000)) / 10,
            "period_start": day,
            "period_end": day + timedelta(days=1),
            "recorded_at": day + timedelta(days=1),
        }

    _batched("usage", usage, usage_row, UsageRecord.__table__)
    requests = max(1, subscriptions // 20)

    def request_row(index: int) -> dict:
        _, created = sub_offers[index * 20 % subscriptions]
        opened = created + timedelta(days=rng.randint(1, 30))
        resolved = opened + timedelta(hours=rng.randint(1, 60)) if rng.random() < 0.8 else None
        return {
            "subscription_id": first_sub + index * 20 % subscriptions,
            "group_id": group_ids[index * 20 % subscriptions % groups],
            "requester_id": user_ids[index * 20 % subscriptions % groups],
            "request_type": "issue",
            "priority": "medium",
            "subject": "Bench request",
            "description": "x",
            "status": "resolved" if resolved else "in_progress",
            "tier": 1,
            "created_at": opened,
            "first_response_at": opened + timedelta(hours=2),
            "resolved_at": resolved,
            "response_target_hours": 8,
            "resolution_target_hours": 24,
            "business_hours_only": False,
            "paused_seconds": 0,
            "first_response_due": opened + timedelta(hours=8),
            "resolution_due": opened + timedelta(hours=24),
            "satisfaction": rng.randint(1, 5) if resolved else None,
            "satisfaction_comment": "",
            "version": 1,
        }

    _batched("support requests", requests, request_row, SupportRequest.__table__)
    _insert(
        ServiceNotice.__table__,
        [
            {
                "product_id": pid,
                "kind": "outage",
                "title": "Bench outage",
                "message": "",
                "starts_at": now - timedelta(days=10, minutes=pid),
                "ends_at": now - timedelta(days=10),
                "created_at": now - timedelta(days=10),
            }
            for pid in product_ids
        ],
    )
    db.session.commit()
    # After a bulk load, refresh the planner's statistics as an operator would (PostgreSQL's
    # autovacuum does it by itself soon after; SQLite never does, and without statistics it
    # takes the status index for selective and sorts every offer for a page of them).
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return {"offers": offers, "subscriptions": subscriptions, "usage": usage, "requests": requests}


@click.command()
@click.option("--database-url", required=True, help="Where to build the data (a fresh database).")
@click.option("--offers", default=10_000, show_default=True)
@click.option("--subscriptions", default=100_000, show_default=True)
@click.option("--usage", default=1_000_000, show_default=True)
@click.option("--seed", default=7, show_default=True)
def main(database_url: str, offers: int, subscriptions: int, usage: int, seed: int) -> None:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        click.echo(generate(offers, subscriptions, usage, seed))


if __name__ == "__main__":
    main()
