"""Keeping the daily rollups current, in the transaction that writes the facts.

Subscriptions, their contracts and support requests: every flush that changes a field a rollup
counts reads what those facts contributed before the flush and after it (rollup_facts.py, the
same SQL the rebuild runs); the difference is added to the affected rows when the transaction
commits (rollup_deltas.py), all rows at once in one order.

Usage records are replaced by a repeat of the same period, so their day is recomputed instead:
the feed locks the day's rollup row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer)
and only then reads the facts, in a new statement that sees every committed record."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ...subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from ...support.models import SupportRequest
from ..models import (
    OFFER_AMOUNTS,
    SUBSCRIPTION_COUNTS,
    OfferRollup,
    SubscriptionGroupRollup,
    UsageGroupRollup,
    UsageRecord,
    UsageRollup,
)
from ..sqltime import at
from . import rollup_deltas
from .rollup_deltas import add_to_rollup, defer, insert
from .rollup_facts import (
    ORDER_AMOUNTS,
    ORDER_KEY,
    SUBSCRIPTION_AMOUNTS,
    SUBSCRIPTION_KEY,
    SUPPORT_AMOUNTS,
    SUPPORT_KEY,
    TABLES,
    USAGE_AMOUNTS,
    USAGE_GROUP_KEY,
    order_contributions,
    subscription_contributions,
    support_contributions,
    usage_contributions,
)

# The fields each watched fact's rollup contribution depends on.
WATCHED = {
    Subscription: (
        "status",
        "offer_id",
        "group_id",
        "parent_id",
        "created_at",
        "active_since",
        "terminated_at",
    ),
    ServiceContract: (
        "status",
        "price",
        "options_monthly",
        "currency",
        "billing_period",
        "subscription_id",
    ),
    SupportRequest: (
        "subscription_id",
        "created_at",
        "first_response_at",
        "resolved_at",
        "paused_seconds",
        "response_breached_at",
        "resolution_breached_at",
        "satisfaction",
    ),
    Order: ("order_type", "created_at", "completed_at", "agreement", "subscription_id"),
    FulfillmentTask: ("started_at", "completed_at", "order_id"),
}


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _totals(connection, select: sa.Select, key, amounts) -> dict[tuple, dict]:
    return {
        tuple(row[: len(key)]): dict(zip(amounts, row[len(key) :], strict=True))
        for row in connection.execute(select).all()
    }


def _per_group(change: dict[tuple, dict]) -> dict[tuple, dict]:
    """The counts of subscription rollup changes (offer, group, currency, day) per group and day."""
    out: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(SUBSCRIPTION_COUNTS, 0))
    for (_offer, group_id, currency, day), amounts in change.items():
        if currency == "":
            for name in SUBSCRIPTION_COUNTS:
                out[(group_id, day)][name] += amounts.get(name, 0)
    return dict(out)


def _per_offer(change: dict[tuple, dict]) -> dict[tuple, dict]:
    """The running counts and money of subscription rollup changes per offer and currency."""
    out: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(OFFER_AMOUNTS, 0))
    for (offer_id, _group, currency, _day), amounts in change.items():
        for name in OFFER_AMOUNTS:
            out[(offer_id, currency)][name] += amounts.get(name, 0)
    return dict(out)


def _difference(before: dict, after: dict) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for row_key in set(before) | set(after):
        old, new = before.get(row_key, {}), after.get(row_key, {})
        out[row_key] = {
            name: (new.get(name) or 0) - (old.get(name) or 0) for name in set(old) | set(new)
        }
    return out


# --- subscriptions, contracts, support requests: the difference a flush makes ------------------

PENDING = "status.rollups.before"


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    attrs = sa.inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _touched(session: Session) -> tuple[list, list, list, list]:
    """The subscriptions and contracts, the support requests, and the orders and tasks whose
    contribution this flush may change; and the subscriptions moving to another offer or group
    (their requests, orders and usage follow them)."""
    facts, requests, orders, moved = [], [], [], []
    dirty = session.dirty
    for obj in (*session.new, *dirty, *session.deleted):
        fields = WATCHED.get(type(obj))
        if fields is None or (obj in dirty and not _changed(obj, fields)):
            continue
        if isinstance(obj, SupportRequest):
            requests.append(obj)
        elif isinstance(obj, Order | FulfillmentTask):
            orders.append(obj)
        else:
            facts.append(obj)
        if (
            isinstance(obj, Subscription)
            and obj in dirty
            and _changed(obj, ("offer_id", "group_id"))
        ):
            moved.append(obj)
    return facts, requests, orders, moved


def _subscription_ids(facts: list) -> set[int]:
    ids = {obj.id if isinstance(obj, Subscription) else obj.subscription_id for obj in facts}
    ids.discard(None)
    return ids


def _read(connection, facts: list, requests: list, orders: list, moved: list) -> tuple:
    subscription_ids = _subscription_ids(facts)
    request_ids = {obj.id for obj in requests if obj.id is not None}
    moved_ids = sorted(obj.id for obj in moved)
    subscriptions = support = order_totals = {}
    if subscription_ids:
        subscriptions = _totals(
            connection,
            subscription_contributions([Subscription.id.in_(sorted(subscription_ids))]),
            SUBSCRIPTION_KEY,
            SUBSCRIPTION_AMOUNTS,
        )
    if request_ids or moved_ids:
        support = _totals(
            connection,
            support_contributions(
                [
                    sa.or_(
                        SupportRequest.id.in_(sorted(request_ids)),
                        SupportRequest.subscription_id.in_(moved_ids),
                    )
                ]
            ),
            SUPPORT_KEY,
            SUPPORT_AMOUNTS,
        )
    order_ids = {obj.id if isinstance(obj, Order) else obj.order_id for obj in orders}
    order_ids.discard(None)
    if order_ids or moved_ids:
        order_totals = _totals(
            connection,
            order_contributions(
                [sa.or_(Order.id.in_(sorted(order_ids)), Order.subscription_id.in_(moved_ids))]
            ),
            ORDER_KEY,
            ORDER_AMOUNTS,
        )
    return subscriptions, support, order_totals


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    session.info.pop(PENDING, None)  # whatever a failed flush left behind
    facts, requests, orders, moved = _touched(session)
    if facts or requests or orders:
        before = _read(session.connection(), facts, requests, orders, moved)
        session.info[PENDING] = (facts, requests, orders, moved, before)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    pending = session.info.pop(PENDING, None)
    if pending is None:
        return
    facts, requests, orders, moved, (subscriptions_before, support_before, orders_before) = pending
    connection = session.connection()
    subscriptions_after, support_after, orders_after = _read(
        connection, facts, requests, orders, moved
    )
    model, key, _ = TABLES["subscriptions"]
    change = _difference(subscriptions_before, subscriptions_after)
    defer(session, model, key, change)
    defer(session, SubscriptionGroupRollup, ("group_id", "day"), _per_group(change))
    defer(session, OfferRollup, ("offer_id", "currency"), _per_offer(change))
    model, key, _ = TABLES["support"]
    defer(session, model, key, _difference(support_before, support_after))
    model, key, _ = TABLES["orders"]
    defer(session, model, key, _difference(orders_before, orders_after))
    if moved:
        subscription = Subscription.__table__
        connection.execute(
            UsageRollup.__table__.update()
            .where(UsageRollup.subscription_id.in_(sorted(obj.id for obj in moved)))
            .values(
                offer_id=sa.select(subscription.c.offer_id)
                .where(subscription.c.id == UsageRollup.subscription_id)
                .scalar_subquery()
            )
        )


# --- usage: the day recomputed under the row's lock ----------------------------------------------


def _lock_usage_rows(connection, keys: list[tuple], owners: dict[int, tuple]) -> dict:
    table = UsageRollup.__table__
    connection.execute(
        insert(connection, table).on_conflict_do_nothing(index_elements=list(TABLES["usage"][1])),
        [
            {
                "subscription_id": sub_id,
                "metric": metric,
                "day": day,
                "offer_id": owners[sub_id][0],
                "group_id": owners[sub_id][1],
            }
            for sub_id, metric, day in keys
        ],
    )
    locked = (
        sa.select(
            table.c.subscription_id, table.c.metric, table.c.day, table.c.id, table.c.group_id
        )
        .add_columns(*[table.c[name] for name in USAGE_AMOUNTS])
        .where(sa.tuple_(table.c.subscription_id, table.c.metric, table.c.day).in_(keys))
        .order_by(table.c.id)
    )
    if connection.dialect.name == "postgresql":
        locked = locked.with_for_update()
    return {tuple(row[:3]): row[3:] for row in connection.execute(locked).all()}


def refresh_usage_days(session: Session, keys: set[tuple]) -> None:
    """Recompute the usage rollups of these (subscription id, metric, day) from the records
    (flushed first), and move the difference into the groups' rows."""
    session.flush()
    connection = session.connection()
    ids = sorted({key[0] for key in keys})
    owners = {
        sub_id: (offer_id, group_id)
        for sub_id, offer_id, group_id in connection.execute(
            sa.select(Subscription.id, Subscription.offer_id, Subscription.group_id).where(
                Subscription.id.in_(ids), Subscription.parent_id.is_(None)
            )
        ).all()
    }
    keys_ = sorted(key for key in keys if key[0] in owners)
    if not keys_:
        return
    old = _lock_usage_rows(connection, keys_, owners)
    first, last = min(key[2] for key in keys_), max(key[2] for key in keys_)
    fresh = usage_contributions(
        [
            UsageRecord.subscription_id.in_(sorted(owners)),
            UsageRecord.metric.in_(sorted({key[1] for key in keys_})),
            UsageRecord.period_start >= at(midnight(first)),
            UsageRecord.period_start < at(midnight(last + timedelta(days=1))),
        ]
    )
    new = {tuple(row[:3]): row[5:] for row in connection.execute(fresh).all()}
    changes, groups = [], defaultdict(lambda: dict.fromkeys(USAGE_AMOUNTS, 0))
    for key in keys_:
        row_id, group_id, *before = old[key]
        after = new.get(key, (0, 0, 0))
        changes.append(
            {"row_id": row_id, **{f"v_{n}": v for n, v in zip(USAGE_AMOUNTS, after, strict=True)}}
        )
        for name, was, now in zip(USAGE_AMOUNTS, before, after, strict=True):
            groups[(group_id, key[1], key[2])][name] += (now or 0) - (was or 0)
    table = UsageRollup.__table__
    connection.execute(
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"v_{name}") for name in USAGE_AMOUNTS}),
        changes,
    )
    # At once, not on commit: a feed is one call, its rows in key order after the day's rows
    add_to_rollup(connection, UsageGroupRollup, USAGE_GROUP_KEY, dict(groups))


# --- rebuilding from the facts -------------------------------------------------------------------

REBUILD_BATCH = 5000
CONTRIBUTIONS = {
    "subscriptions": subscription_contributions,
    "support": support_contributions,
    "orders": order_contributions,
}


def rebuild(session: Session, progress=None, batch: int = REBUILD_BATCH) -> dict[str, int]:
    """Empty the rollups and recount them from the facts, `batch` subscriptions at a time
    (`progress(n)` after each); run in one transaction, so running it again gives the same rows
    and readers see the old rollups until it commits."""
    session.flush()
    rollup_deltas.discard(session)  # the recount counts every flushed fact: not these again
    connection = session.connection()
    for model in (
        UsageGroupRollup,
        UsageRollup,
        SubscriptionGroupRollup,
        OfferRollup,
        *(m for m, _, _ in TABLES.values()),
    ):
        connection.execute(sa.delete(model))
    first, last = connection.execute(
        sa.select(sa.func.min(Subscription.id), sa.func.max(Subscription.id))
    ).one()
    for start in range(first or 0, (last or -1) + 1, batch):
        end = start + batch
        for name, where in (
            ("subscriptions", [Subscription.id >= start, Subscription.id < end]),
            (
                "support",
                [SupportRequest.subscription_id >= start, SupportRequest.subscription_id < end],
            ),
            ("orders", [Order.subscription_id >= start, Order.subscription_id < end]),
        ):
            model, key, amounts = TABLES[name]
            contributions = CONTRIBUTIONS[name](where)
            add_to_rollup(connection, model, key, _totals(connection, contributions, key, amounts))
        usage = usage_contributions(
            [UsageRecord.subscription_id >= start, UsageRecord.subscription_id < end]
        )
        connection.execute(
            sa.insert(UsageRollup).from_select(
                [column.name for column in usage.selected_columns], usage
            )
        )
        if progress is not None:
            progress(min(end, last + 1) - start)
    _project_to_groups(connection)
    return {
        model.__tablename__: connection.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (
            UsageRollup,
            UsageGroupRollup,
            SubscriptionGroupRollup,
            OfferRollup,
            *(m for m, _, _ in TABLES.values()),
        )
    }


def _summed_into(connection, model, source: sa.Table, keys: list[str], amounts, *where) -> None:
    connection.execute(
        sa.insert(model).from_select(
            [*keys, *amounts],
            sa.select(*[source.c[k] for k in keys], *[sa.func.sum(source.c[a]) for a in amounts])
            .where(*where)
            .group_by(*[source.c[k] for k in keys]),
        )
    )


def _project_to_groups(connection) -> None:
    """The group-and-day tables, and the offers' running figures, summed from the finer ones."""
    usage, counts = UsageRollup.__table__, TABLES["subscriptions"][0].__table__
    _summed_into(connection, UsageGroupRollup, usage, list(USAGE_GROUP_KEY), USAGE_AMOUNTS)
    _summed_into(
        connection,
        SubscriptionGroupRollup,
        counts,
        ["group_id", "day"],
        SUBSCRIPTION_COUNTS,
        counts.c.currency == "",
    )
    _summed_into(connection, OfferRollup, counts, ["offer_id", "currency"], OFFER_AMOUNTS)
