"""What each fact adds to the daily rollups, as SQL over the facts: one definition used both to
keep the rollups current (over the few rows a transaction touches) and to rebuild them (over
every row, in batches). Only top-level subscriptions count, as on the dashboards."""

from __future__ import annotations

import sqlalchemy as sa

from ...subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from ...support.models import SupportRequest
from ..models import (
    ORDER_AMOUNTS,
    SUBSCRIPTION_COUNTS,
    SUBSCRIPTION_MONEY,
    SUPPORT_COUNTS,
    OrderRollup,
    SubscriptionRollup,
    SupportRollup,
    UsageRecord,
    UsageRollup,
)
from ..sqltime import date_of, date_up_to, seconds_between
from .kpis import RUNNING

SUBSCRIPTION_KEY = ("offer_id", "group_id", "currency", "day")
SUBSCRIPTION_AMOUNTS = (*SUBSCRIPTION_COUNTS, *SUBSCRIPTION_MONEY)
SUPPORT_KEY = ("offer_id", "group_id", "day")
SUPPORT_AMOUNTS = (*SUPPORT_COUNTS, "response_seconds", "resolution_seconds")
USAGE_KEY = ("subscription_id", "metric", "day")
USAGE_AMOUNTS = ("records", "quantity", "peak")
USAGE_GROUP_KEY = ("group_id", "metric", "day")
ORDER_KEY = ("offer_id", "group_id", "order_type", "day", "flow_bucket")


def _when(condition, value=1) -> sa.ColumnElement:
    return sa.case((condition, value), else_=0)


def _cents(money) -> sa.ColumnElement:
    return sa.cast(sa.func.round(money * 100), sa.BigInteger)


def _subscription_part(day, currency=None, **amounts) -> sa.Select:
    zero = sa.literal(0, sa.BigInteger)
    columns = [
        sa.cast(amounts.get(name, zero), sa.BigInteger).label(name) for name in SUBSCRIPTION_AMOUNTS
    ]
    return sa.select(
        Subscription.offer_id.label("offer_id"),
        Subscription.group_id.label("group_id"),
        (currency if currency is not None else sa.literal("")).label("currency"),
        day.label("day"),
        *columns,
    )


def subscription_contributions(where: list) -> sa.Select:
    """Per rollup key, what the subscriptions matching `where` add: created (and running now) on
    their creation day, started and ended on the days up to whose end those moments fall,
    terminated on the day of termination, and, for the running ones, their active contract's
    recurring money (in its currency) on their creation day."""
    S, C = Subscription, ServiceContract  # noqa: N806 - short names for a long select
    top = [S.parent_id.is_(None), *where]
    running = S.status.in_(RUNNING)
    monthly, yearly = C.billing_period == "monthly", C.billing_period == "yearly"
    parts = [
        _subscription_part(date_of(S.created_at), created=1, running=_when(running)).where(*top),
        _subscription_part(date_up_to(S.active_since), started=1).where(
            *top, S.active_since.is_not(None)
        ),
        _subscription_part(date_of(S.terminated_at), terminated=1).where(
            *top, S.terminated_at.is_not(None)
        ),
        _subscription_part(date_up_to(S.terminated_at), ended=1).where(
            *top, S.terminated_at.is_not(None), S.active_since.is_not(None)
        ),
        _subscription_part(
            date_of(S.created_at),
            C.currency,
            monthly_contracts=_when(monthly),
            yearly_contracts=_when(yearly),
            monthly_price_cents=_when(monthly, _cents(C.price)),
            yearly_price_cents=_when(yearly, _cents(C.price)),
            options_cents=_cents(C.options_monthly),
        )
        .join(C, C.subscription_id == S.id)
        .where(*top, running, C.status == "active"),
    ]
    union = sa.union_all(*parts).subquery("parts")
    return sa.select(
        *[union.c[name] for name in SUBSCRIPTION_KEY],
        *[sa.func.sum(union.c[name]).label(name) for name in SUBSCRIPTION_AMOUNTS],
    ).group_by(*[union.c[name] for name in SUBSCRIPTION_KEY])


def support_contributions(where: list) -> sa.Select:
    """Per rollup key, what the support requests matching `where` add, on the day they were
    opened: met means done with no breach recorded, as support_kpis counts it; seconds are
    whole seconds (resolution without paused time)."""
    R, S = SupportRequest, Subscription  # noqa: N806
    responded = R.first_response_at.is_not(None)
    resolved = R.resolved_at.is_not(None)
    response = sa.func.round(seconds_between(R.created_at, R.first_response_at))
    resolution = sa.func.round(seconds_between(R.created_at, R.resolved_at) - R.paused_seconds)
    amounts = {
        "requests": sa.func.count(R.id),
        "responded": _when(responded),
        "response_met": _when(sa.and_(responded, R.response_breached_at.is_(None))),
        "response_breached": _when(R.response_breached_at.is_not(None)),
        "resolved": _when(resolved),
        "resolution_met": _when(sa.and_(resolved, R.resolution_breached_at.is_(None))),
        "resolution_breached": _when(R.resolution_breached_at.is_not(None)),
        "rated": _when(R.satisfaction.is_not(None)),
        "satisfaction_sum": sa.func.coalesce(R.satisfaction, 0),
        "response_seconds": _when(sa.and_(responded, response > 0), response),
        "resolution_seconds": _when(sa.and_(resolved, resolution > 0), resolution),
    }
    day = date_of(R.created_at)
    return (
        sa.select(
            S.offer_id.label("offer_id"),
            S.group_id.label("group_id"),
            day.label("day"),
            *[
                sa.cast(value if name == "requests" else sa.func.sum(value), sa.BigInteger).label(
                    name
                )
                for name, value in amounts.items()
            ],
        )
        .join(S, S.id == R.subscription_id)
        .where(S.parent_id.is_(None), *where)
        .group_by(S.offer_id, S.group_id, day)
    )


def usage_contributions(where: list) -> sa.Select:
    """Per subscription, metric and day (of the period's start): the records, their total and
    the highest of them, with the subscription's offer and group."""
    U, S = UsageRecord, Subscription  # noqa: N806
    day = date_of(U.period_start)
    return (
        sa.select(
            U.subscription_id.label("subscription_id"),
            U.metric.label("metric"),
            day.label("day"),
            S.offer_id.label("offer_id"),
            S.group_id.label("group_id"),
            sa.func.count(U.id).label("records"),
            sa.func.sum(U.quantity).label("quantity"),
            sa.func.max(U.quantity).label("peak"),
        )
        .join(S, S.id == U.subscription_id)
        .where(S.parent_id.is_(None), *where)
        .group_by(U.subscription_id, U.metric, day, S.offer_id, S.group_id)
    )


def flow_bucket(seconds) -> sa.ColumnElement:
    """A flow time in hundredths of an hour, rounded as the dashboard rounds its hours."""
    return sa.cast(sa.func.round(seconds / 36), sa.Integer)


def order_measures() -> tuple[sa.ColumnElement, sa.ColumnElement, sa.ScalarSelect]:
    """An order's lead (= flow) seconds, its fulfillment target in hours (None: no target)
    and the active seconds of its finished tasks, as the rollups and the facts count them."""
    O, T = Order, FulfillmentTask  # noqa: N806, E741
    lead = seconds_between(O.created_at, O.completed_at)
    target = O.agreement[("service_levels", "fulfillment_target_hours")].as_float()
    active = (
        sa.select(sa.func.sum(seconds_between(T.started_at, T.completed_at)))
        .where(T.order_id == O.id, T.completed_at.is_not(None), T.started_at.is_not(None))
        .correlate(O)
        .scalar_subquery()
    )
    return lead, target, active


def order_contributions(where: list) -> sa.Select:
    """Per rollup key, what the completed orders matching `where` add on the day they were
    completed: their lead (= flow) seconds and the active seconds of their finished tasks,
    whole seconds; with a fulfillment target, whether the lead was within it
    (kpis.fulfillment_kpis and flow.flow_metrics count them so)."""
    O, S = Order, Subscription  # noqa: N806, E741
    lead, target, active = order_measures()
    per_order = (
        sa.select(
            S.offer_id.label("offer_id"),
            S.group_id.label("group_id"),
            O.order_type.label("order_type"),
            date_of(O.completed_at).label("day"),
            flow_bucket(lead).label("flow_bucket"),
            sa.func.round(lead).label("lead_seconds"),
            sa.func.round(sa.func.coalesce(active, 0)).label("active_seconds"),
            _when(target.is_not(None)).label("with_target"),
            _when(sa.and_(target.is_not(None), lead <= target * 3600)).label("within_target"),
        )
        .join(S, S.id == O.subscription_id)
        .where(S.parent_id.is_(None), O.completed_at.is_not(None), *where)
        .subquery("per_order")
    )
    sums = {
        "done": sa.func.count(),
        **{name: sa.func.sum(per_order.c[name]) for name in ORDER_AMOUNTS if name != "done"},
    }
    return sa.select(
        *[per_order.c[name] for name in ORDER_KEY],
        *[sa.cast(sums[name], sa.BigInteger).label(name) for name in ORDER_AMOUNTS],
    ).group_by(*[per_order.c[name] for name in ORDER_KEY])


TABLES = {
    "subscriptions": (SubscriptionRollup, SUBSCRIPTION_KEY, SUBSCRIPTION_AMOUNTS),
    "support": (SupportRollup, SUPPORT_KEY, SUPPORT_AMOUNTS),
    "usage": (UsageRollup, USAGE_KEY, USAGE_AMOUNTS),
    "orders": (OrderRollup, ORDER_KEY, ORDER_AMOUNTS),
}
