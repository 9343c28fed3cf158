"""KPIs computed from stored facts by SQL aggregates (never typed in, never by loading every row
into Python): availability against outages, fulfillment lead time, support response and
resolution within target, deflection, and subscriptions per month."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ... import clock
from ...extensions import db
from ...subscriptions.models import Order, OrderType, Subscription, SubscriptionStatus
from ...support.models import Deflection, SupportRequest
from ..models import NoticeKind, ServiceNotice
from ..sqltime import at, greatest, least, month_of, seconds_between
from .periods import Period, months_of

RUNNING = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.MODIFYING.value)


def ratio(part: int | float | None, whole: int | float | None, digits: int = 1) -> float | None:
    """A percentage, or None ("no data") when there is nothing to measure."""
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), digits)


def _hours(seconds, digits: int = 2) -> float | None:
    return round(float(seconds) / 3600, digits) if seconds is not None else None


# --- availability ----------------------------------------------------------------------------


def outage_minutes(product_ids, period: Period) -> float:
    """Minutes of outage notices overlapping the period: from the start to the (expected or
    actual) end; an unresolved outage without an end runs until now; one that is cancelled, or
    has not begun, counts nothing."""
    now = at(min(clock.now(), period.end))
    actual_end = sa.case(
        (
            ServiceNotice.resolved_at.is_not(None),
            sa.func.coalesce(ServiceNotice.ends_at, ServiceNotice.resolved_at),
        ),
        else_=sa.func.coalesce(ServiceNotice.ends_at, now),
    )
    start = greatest(ServiceNotice.starts_at, at(period.start))
    finish = least(actual_end, at(period.end))
    seconds = db.session.scalar(
        sa.select(
            sa.func.sum(sa.case((finish > start, seconds_between(start, finish)), else_=0))
        ).where(
            ServiceNotice.kind == NoticeKind.OUTAGE.value,
            ServiceNotice.product_id.in_(product_ids),
            ServiceNotice.starts_at < at(period.end),
            sa.or_(ServiceNotice.ends_at.is_(None), ServiceNotice.ends_at > at(period.start)),
        )
    )
    return max(0.0, float(seconds or 0) / 60)


def running_span(subscription_filter, period: Period) -> Period | None:
    """The part of the period from the first activation to the last termination (or now) of
    the subscriptions that ran in it; None when none of them ran then. Availability over a
    viewer's subscriptions is measured over this part, never over time before they existed.
    Each end is one probe along an index on its moment (not a pass over every subscription):
    did one run at the period's start, else the first activation in it; does one still run,
    else the last termination in it."""
    S = Subscription  # noqa: N806
    start, end = at(period.start), at(period.end)
    # the filter's own conditions (a select of Subscription.id), so each probe walks its index
    scope = subscription_filter.whereclause
    ours = [
        sa.true() if scope is None else scope,
        S.active_since.is_not(None),
        S.active_since < end,
    ]

    def first(moment, *where, descending=False) -> sa.ScalarSelect:
        order = moment.desc() if descending else moment
        return sa.select(moment).where(*ours, *where).order_by(order).limit(1).scalar_subquery()

    def any_(*where) -> sa.ScalarSelect:
        # only whether there is one: no order, so the probe stops at the first match (ordered,
        # SQLite sorts the 90,000 still running by activation to return the first)
        return sa.select(S.active_since).where(*ours, *where).limit(1).scalar_subquery()

    at_start, first_in, still_running, last = db.session.execute(
        sa.select(
            any_(S.active_since <= start, _ended_after(start)),
            first(S.active_since, S.active_since > start, _ended_after(start)),
            any_(S.terminated_at.is_(None)),
            first(S.terminated_at, S.terminated_at > start, descending=True),
        )
    ).one()
    if (at_start is None and first_in is None) or (still_running is None and last is None):
        return None
    now = clock.now()
    began = period.start if at_start is not None else _utc(first_in)
    last = now if still_running is not None else _utc(last)
    span = Period(max(period.start, began), min(period.end, last, now))
    return span if span.end > span.start else None


def _ended_after(moment) -> sa.ColumnElement:
    return sa.or_(Subscription.terminated_at.is_(None), Subscription.terminated_at > moment)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def availability(product_ids, period: Period | None) -> float | None:
    """1 − outage minutes ÷ minutes in the period, as a percentage with three decimals; over several
    products, the mean of theirs (outage minutes ÷ product-minutes). No products, or a period that
    has not begun: None ("no data")."""
    if period is None:
        return None
    minutes = period.minutes
    if minutes <= 0 or period.start > clock.now():
        return None
    if isinstance(product_ids, sa.Select):
        product_ids = db.session.scalars(product_ids).all()
    product_ids = sorted(set(product_ids))
    if not product_ids:
        return None
    return round(
        100.0 * (1 - outage_minutes(product_ids, period) / (minutes * len(product_ids))), 3
    )


# --- fulfillment and support -------------------------------------------------------------------


def fulfillment_kpis(order_filter, period: Period) -> dict:
    """New-instance orders completed in the period: lead time (ordered → active) and % within the
    fulfillment target agreed in their contract."""
    lead = seconds_between(Order.created_at, Order.completed_at)
    target = Order.agreement[("service_levels", "fulfillment_target_hours")].as_float()
    row = db.session.execute(
        sa.select(
            sa.func.count(Order.id),
            sa.func.avg(lead),
            sa.func.sum(sa.case((sa.and_(target.is_not(None), lead <= target * 3600), 1), else_=0)),
            sa.func.sum(sa.case((target.is_not(None), 1), else_=0)),
        ).where(
            Order.id.in_(order_filter),
            Order.order_type == OrderType.NEW.value,
            Order.completed_at.is_not(None),
            Order.completed_at >= at(period.start),
            Order.completed_at < at(period.end),
        )
    ).one()
    count, average, within, with_target = row
    return {
        "orders": int(count or 0),
        "average_lead_hours": _hours(average),
        "within_target_pct": ratio(within, with_target),
    }


def _count_if(condition) -> sa.ColumnElement:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _support_figures() -> list[sa.ColumnElement]:
    """The aggregates of support_kpis, in the order it reads them."""
    responded = SupportRequest.first_response_at.is_not(None)
    resolved = SupportRequest.resolved_at.is_not(None)
    response = seconds_between(SupportRequest.created_at, SupportRequest.first_response_at)
    resolution = (
        seconds_between(SupportRequest.created_at, SupportRequest.resolved_at)
        - SupportRequest.paused_seconds
    )
    return [
        sa.func.count(SupportRequest.id),
        _count_if(responded),
        _count_if(sa.and_(responded, SupportRequest.response_breached_at.is_(None))),
        _count_if(resolved),
        _count_if(sa.and_(resolved, SupportRequest.resolution_breached_at.is_(None))),
        sa.func.avg(sa.case((responded, response), else_=None)),
        sa.func.avg(sa.case((resolved, resolution), else_=None)),
        sa.func.avg(SupportRequest.satisfaction),
        sa.func.count(SupportRequest.satisfaction),
    ]


def support_kpis(request_filter, period: Period) -> dict:
    """Requests opened in the period: first response and resolution within target (paused time is
    excluded by the clock), median-free averages, satisfaction, deflection handled separately."""
    row = db.session.execute(
        sa.select(*_support_figures()).where(
            SupportRequest.id.in_(request_filter),
            SupportRequest.created_at >= at(period.start),
            SupportRequest.created_at < at(period.end),
        )
    ).one()
    (
        total,
        responded,
        responded_ok,
        resolved,
        resolved_ok,
        avg_response,
        avg_resolution,
        satisfaction,
        rated,
    ) = row
    return {
        "requests": int(total or 0),
        "response_within_target_pct": ratio(responded_ok, responded),
        "resolution_within_target_pct": ratio(resolved_ok, resolved),
        "average_response_hours": _hours(avg_response),
        "average_resolution_hours": _hours(avg_resolution),
        "satisfaction": round(float(satisfaction), 2) if satisfaction is not None else None,
        "rated": int(rated or 0),
    }


def deflection_rate(subscription_filter, period: Period, requests: int) -> float | None:
    deflected = (
        db.session.scalar(
            sa.select(sa.func.count(Deflection.id)).where(
                # EXISTS: walk the period's deflections by their index, probe the scope
                sa.exists().where(
                    list(subscription_filter.subquery().c)[0] == Deflection.subscription_id
                ),
                Deflection.created_at >= at(period.start),
                Deflection.created_at < at(period.end),
            )
        )
        or 0
    )
    return ratio(deflected, deflected + requests)


# --- subscriptions -------------------------------------------------------------------------------


def subscription_counts(subscription_filter, period: Period) -> dict:
    """Active now, new and terminated per month, and active at each month's end."""
    created = _per_month(subscription_filter, Subscription.created_at, period)
    ended = _per_month(subscription_filter, Subscription.terminated_at, period)
    active_at = _active_at_month_ends(subscription_filter, months_of(period))
    active_now = (
        db.session.scalar(
            sa.select(sa.func.count(Subscription.id)).where(
                Subscription.id.in_(subscription_filter), Subscription.status.in_(RUNNING)
            )
        )
        or 0
    )
    return {
        "active_now": int(active_now),
        "per_month": [
            {
                "month": label,
                "new": int(created.get(label, 0)),
                "terminated": int(ended.get(label, 0)),
                "active": active,
            }
            for label, active in active_at
        ],
    }


def _per_month(subscription_filter, moment, period: Period) -> dict[str, int]:
    """How many of the subscriptions have `moment` in each month of the period."""
    month = month_of(moment)
    return dict(
        db.session.execute(
            sa.select(month, sa.func.count(Subscription.id))
            .where(
                Subscription.id.in_(subscription_filter),
                moment >= at(period.start),
                moment < at(period.end),
            )
            .group_by(month)
        ).all()
    )


def _active_at_month_ends(subscription_filter, months) -> list[tuple[str, int]]:
    """Per month: how many of the subscriptions were active at its end (or now, for this
    month), all months in one query."""
    if not months:
        return []
    columns = []
    for _label, month_end in months:
        moment = at(min(month_end, clock.now()))
        columns.append(
            _count_if(
                sa.and_(
                    Subscription.active_since.is_not(None),
                    Subscription.active_since <= moment,
                    sa.or_(
                        Subscription.terminated_at.is_(None), Subscription.terminated_at > moment
                    ),
                )
            ).label(f"m{len(columns)}")
        )
    row = db.session.execute(
        sa.select(*columns).where(Subscription.id.in_(subscription_filter))
    ).one()
    return [(label, int(value or 0)) for (label, _), value in zip(months, row, strict=True)]
