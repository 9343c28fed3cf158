"""Publish Service Status: usage ingest, service notices, and KPIs computed from stored facts
by SQL aggregates (never typed in, never by loading every row into Python)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from .. import validation as check
from ..accounts.models import Role, User, group_members
from ..audit import services as audit
from ..catalog.models import DigitalProduct, ServiceOffer
from ..errors import NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..inputs import whole_number
from ..models_base import UTCDateTime
from ..notifications.services import notify
from ..paging import RowPage
from ..subscriptions import services as subscriptions
from ..subscriptions.models import (
    FulfillmentTask,
    Order,
    OrderType,
    ServiceContract,
    Subscription,
    SubscriptionStatus,
)
from ..support.models import Deflection, RequestStatus, SupportRequest
from .models import NoticeKind, NoticeUpdate, ServiceNotice, UsageMetric, UsageRecord
from .sqltime import day_of, greatest, least, month_of, seconds_between, week_of

MAX_BATCH = 1000
NOTICE_ROLES = (Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT)


def _at(value: datetime) -> sa.BindParameter:
    return sa.literal(value, UTCDateTime())


@dataclass
class Period:
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def parse_period(start: Any = None, end: Any = None, *, default_days: int = 30) -> Period:
    """A [start, end) range from dates; the last `default_days` days by default. A bare date as
    the end means the whole of that day. Field errors (never a crash) on bad or far-off dates."""
    errors: check.Errors = {}
    now = clock.now()
    finish = _range_moment(errors, "to", end)
    begin = _range_moment(errors, "from", start)
    if "to" in errors or "from" in errors:
        raise ValidationFailed("The date range is not valid.", fields=errors)
    if finish is None:
        finish = now
    elif _is_bare_date(end):
        finish = finish + timedelta(days=1)  # a date means the whole of that day
    if begin is None:
        begin = finish - timedelta(days=default_days)
    if finish <= begin:
        check.add(errors, "to", "The end of the range must come after its start.")
    elif (finish - begin) > timedelta(days=3 * 366):
        check.add(errors, "from", "Choose a range of at most three years.")
    if errors:
        raise ValidationFailed("The date range is not valid.", fields=errors)
    return Period(begin, finish)


FIRST_YEAR, LAST_YEAR = 1970, 2999


def _range_moment(errors: check.Errors, field: str, value: Any) -> datetime | None:
    if isinstance(value, str) and len(value) > 40:
        check.add(errors, field, "Enter a date as YYYY-MM-DD.")
        return None
    moment = check.moment(errors, field, value)
    if moment is not None and not (FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR):
        check.add(errors, field, f"Enter a date between {FIRST_YEAR} and {LAST_YEAR}.")
        return None
    return moment.astimezone(UTC) if moment is not None else None


def _is_bare_date(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def _id(value: Any) -> int | None:
    """A positive database id from a form, query string or JSON value; None when it is not one."""
    return whole_number(value)


def month_period(year: int, month: int) -> Period:
    days = calendar.monthrange(year, month)[1]
    start = datetime(year, month, 1, tzinfo=UTC)
    return Period(start, start + timedelta(days=days))


def ratio(part: int | float | None, whole: int | float | None, digits: int = 1) -> float | None:
    """A percentage, or None ("no data") when there is nothing to measure."""
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), digits)


# --- usage -----------------------------------------------------------------------------------


def metrics() -> dict[str, UsageMetric]:
    return {
        metric.key: metric
        for metric in db.session.scalars(sa.select(UsageMetric).order_by(UsageMetric.key))
    }


def may_feed(user: User, subscription: Subscription) -> bool:
    """System actors and staff feed any subscription; consumers only their groups'."""
    if user.has_role(Role.ADMIN, Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT) or not user.roles:
        return True
    return subscription.group_id in user.group_ids and user.has_role(Role.CONSUMER)


MAX_QUANTITY = 10**13  # Numeric(18, 4) holds 14 digits before the point


def record_usage(actor: User, rows: Any, *, atomic: bool = False) -> dict:
    """Store usage rows (idempotent on subscription, metric and period: a repeat replaces the
    quantity). Bad rows are reported by index and the good ones kept, or with `atomic` the
    whole batch is refused when any row is bad."""
    if not isinstance(rows, list):
        raise ValidationFailed(
            "Send a list of usage rows (or one row).", fields={"records": ["Send a list."]}
        )
    if not rows or len(rows) > MAX_BATCH:
        raise ValidationFailed(
            f"Send between 1 and {MAX_BATCH} rows.", fields={"records": [f"1 to {MAX_BATCH} rows."]}
        )
    if not isinstance(atomic, bool):
        raise ValidationFailed(
            "atomic must be true or false.", fields={"atomic": ["Send true or false."]}
        )
    known = metrics()
    ids = {_id(row.get("subscription_id")) for row in rows if isinstance(row, dict)} - {None}
    subs = (
        {
            s.id: s
            for s in db.session.scalars(
                sa.select(Subscription).where(Subscription.id.in_(sorted(ids)))
            )
        }
        if ids
        else {}
    )
    cleaned: dict[tuple, dict] = {}
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        problems = _check_usage_row(actor, row, known, subs)
        if isinstance(problems, dict):
            key = (
                problems["subscription_id"],
                problems["metric"],
                problems["period_start"],
                problems["period_end"],
            )
            cleaned[key] = problems  # the same period twice in one batch: the later row wins
        else:
            errors[str(index)] = problems
    if errors and atomic:
        raise ValidationFailed(
            f"{len(errors)} of {len(rows)} rows are invalid; nothing was stored.", fields=errors
        )
    stored = len(rows) - len(errors)
    if cleaned:
        _store_usage(actor, list(cleaned.values()))
        audit.record(actor, "usage", "batch", "recorded", summary=f"{stored} rows")
    db.session.commit()
    return {"stored": stored, "rejected": len(errors), "errors": errors}


def _check_usage_row(actor: User, row: Any, known: dict, subs: dict) -> dict | list[str]:
    if not isinstance(row, dict):
        return ["Each row must be an object."]
    messages: list[str] = []
    subscription = subs.get(_id(row.get("subscription_id")))
    if subscription is None or not may_feed(actor, subscription):
        messages.append("subscription_id: unknown subscription, or not one you may feed.")
    metric = row.get("metric")
    if not isinstance(metric, str) or metric not in known:
        shown = metric if isinstance(metric, str) and len(metric) <= 40 else "…"
        messages.append(
            f"metric: unknown metric “{shown}”; known: {', '.join(sorted(known)) or 'none'}."
        )
    errors: check.Errors = {}
    quantity = check.number(
        errors, "quantity", row.get("quantity"), minimum=0, maximum=MAX_QUANTITY, required=True
    )
    start = check.moment(errors, "period_start", row.get("period_start"))
    end = check.moment(errors, "period_end", row.get("period_end"))
    if start is None and "period_start" not in errors:
        check.add(errors, "period_start", "Required.")
    if end is None and "period_end" not in errors:
        check.add(errors, "period_end", "Required.")
    for field, moment in (("period_start", start), ("period_end", end)):
        if moment is not None and not (FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR):
            check.add(errors, field, f"Use a time between {FIRST_YEAR} and {LAST_YEAR}.")
    if start and end and end <= start:
        check.add(errors, "period_end", "The end must come after the start.")
    messages += [f"{field}: {' '.join(texts)}" for field, texts in errors.items()]
    if messages:
        return messages
    return {
        "subscription_id": subscription.id,
        "metric": metric,
        "quantity": Decimal(str(quantity)),
        "period_start": start.astimezone(UTC),
        "period_end": end.astimezone(UTC),
    }


def _store_usage(actor: User, rows: list[dict]) -> None:
    """Upsert a batch: one query finds the periods already stored, the rest are inserted together."""
    starts = sorted({row["period_start"] for row in rows})
    existing = {
        (record.subscription_id, record.metric, record.period_start, record.period_end): record
        for record in db.session.scalars(
            sa.select(UsageRecord).where(
                UsageRecord.subscription_id.in_(sorted({row["subscription_id"] for row in rows})),
                UsageRecord.metric.in_(sorted({row["metric"] for row in rows})),
                UsageRecord.period_start.in_([_at(moment) for moment in starts]),
            )
        )
    }
    now = clock.now()
    fresh = []
    for values in rows:
        record = existing.get(
            (
                values["subscription_id"],
                values["metric"],
                values["period_start"],
                values["period_end"],
            )
        )
        if record is not None:
            record.quantity, record.recorded_at, record.recorded_by_id = (
                values["quantity"],
                now,
                actor.id,
            )
        else:
            fresh.append(values)
    if not fresh:
        return
    try:
        with db.session.begin_nested():
            db.session.add_all(
                [
                    UsageRecord(**values, recorded_at=now, recorded_by_id=actor.id)
                    for values in fresh
                ]
            )
    except (
        IntegrityError
    ):  # a concurrent feed stored some of these periods first: row by row, keep ours
        for values in fresh:
            _upsert_usage(actor, values)


def _upsert_usage(actor: User, values: dict) -> None:
    existing = db.session.scalar(
        sa.select(UsageRecord).where(
            UsageRecord.subscription_id == values["subscription_id"],
            UsageRecord.metric == values["metric"],
            UsageRecord.period_start == _at(values["period_start"]),
            UsageRecord.period_end == _at(values["period_end"]),
        )
    )
    if existing is not None:
        existing.quantity = values["quantity"]
        existing.recorded_at = clock.now()
        return
    try:
        with db.session.begin_nested():
            db.session.add(UsageRecord(**values, recorded_at=clock.now(), recorded_by_id=actor.id))
    except (
        IntegrityError
    ):  # the same period arrived from a concurrent feed: keep the latest quantity
        db.session.execute(
            sa.update(UsageRecord)
            .where(
                UsageRecord.subscription_id == values["subscription_id"],
                UsageRecord.metric == values["metric"],
                UsageRecord.period_start == _at(values["period_start"]),
                UsageRecord.period_end == _at(values["period_end"]),
            )
            .values(quantity=values["quantity"])
        )


def quotas(subscription: Subscription) -> dict[str, float]:
    """Quotas come from the subscription's options named `<metric>_quota`."""
    return {
        key[: -len("_quota")]: float(value)
        for key, value in (subscription.options or {}).items()
        if key.endswith("_quota")
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0
    }


def usage_series(subscription_ids: list[int], period: Period) -> dict[str, list[tuple[str, float]]]:
    """Daily totals per metric over the period: {metric: [(day, quantity), ...]}."""
    if not subscription_ids:
        return {}
    day = day_of(UsageRecord.period_start)
    rows = db.session.execute(
        sa.select(UsageRecord.metric, day, sa.func.sum(UsageRecord.quantity))
        .where(
            UsageRecord.subscription_id.in_(subscription_ids),
            UsageRecord.period_start >= _at(period.start),
            UsageRecord.period_start < _at(period.end),
        )
        .group_by(UsageRecord.metric, day)
        .order_by(UsageRecord.metric, day)
    ).all()
    series: dict[str, list[tuple[str, float]]] = {}
    for metric, bucket, total in rows:
        series.setdefault(metric, []).append((bucket, float(total)))
    return series


def usage_totals(subscription_filter, period: Period) -> dict[str, float]:
    rows = db.session.execute(
        sa.select(UsageRecord.metric, sa.func.sum(UsageRecord.quantity))
        .where(
            UsageRecord.subscription_id.in_(subscription_filter),
            UsageRecord.period_start >= _at(period.start),
            UsageRecord.period_start < _at(period.end),
        )
        .group_by(UsageRecord.metric)
    ).all()
    return {metric: float(total) for metric, total in rows}


def predict_quota_crossing(
    series: list[tuple[str, float]], quota: float, horizon_days: int = 30, today: date | None = None
) -> date | None:
    """Fit a line to the cumulative usage of the current month and say when it would cross the
    quota, if that is within the horizon and this month (a monthly quota starts again on the
    1st). Works on daily aggregates (a month at most)."""
    today = today or clock.now().date()
    month = today.strftime("%Y-%m")
    points = [(date.fromisoformat(day), value) for day, value in series if day.startswith(month)]
    if len(points) < 2:
        return None
    cumulative, running = [], 0.0
    for day, value in points:
        running += value
        cumulative.append(((day - points[0][0]).days, running))
    n = len(cumulative)
    mean_x = sum(x for x, _ in cumulative) / n
    mean_y = sum(y for _, y in cumulative) / n
    var = sum((x - mean_x) ** 2 for x, _ in cumulative)
    if var == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in cumulative) / var
    if slope <= 0:
        return None
    if running >= quota:
        return points[-1][0]
    days_to_cross = (quota - running) / slope
    crossing = points[-1][0] + timedelta(days=max(1, round(days_to_cross + 0.4999)))
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return crossing if crossing <= min(today + timedelta(days=horizon_days), month_end) else None


# --- service notices ---------------------------------------------------------------------------


def may_post_notices(actor: User) -> bool:
    """Product managers and support agents of tier 2 and up post and update service notices."""
    if actor.has_role(Role.PRODUCT_MANAGER):
        return True
    return actor.has_role(Role.SUPPORT_AGENT) and (actor.support_tier or 1) >= 2


def _require_notice_author(actor: User) -> None:
    if not may_post_notices(actor):
        raise NotAllowed(
            "Service notices are posted by product managers and support agents of tier 2 and up."
        )


def subscribers_of_product(product_id: int) -> list[User]:
    """Owners and group members of open subscriptions of any offer (any revision) on the product."""
    codes = sa.select(ServiceOffer.code).where(ServiceOffer.product_id == product_id)
    open_subscriptions = sa.and_(
        Subscription.offer_code.in_(codes), Subscription.status.in_(subscriptions.OPEN_STATUSES)
    )
    group_ids = sa.select(Subscription.group_id).where(open_subscriptions)
    owner_ids = sa.select(Subscription.owner_id).where(open_subscriptions)
    member_ids = sa.select(group_members.c.user_id).where(group_members.c.group_id.in_(group_ids))
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.active.is_(True), sa.or_(User.id.in_(owner_ids), User.id.in_(member_ids)))
            .order_by(User.id)
        )
    )


NOTICE_LABELS = {
    "maintenance": "Planned maintenance",
    "outage": "Outage",
    "degradation": "Degraded service",
}


def post_notice(
    actor: User,
    *,
    product_id: Any,
    kind: Any,
    title: Any,
    message: Any,
    starts_at: Any,
    ends_at: Any = None,
) -> ServiceNotice:
    _require_notice_author(actor)
    errors: check.Errors = {}
    product = db.session.get(DigitalProduct, _id(product_id)) if _id(product_id) else None
    if product is None:
        check.add(errors, "product_id", "Choose a digital product.")
    kind = check.choice(
        errors,
        "kind",
        kind if isinstance(kind, str) else None,
        [k.value for k in NoticeKind],
        "kind",
    )
    title = check.text(errors, "title", title, required=True, max_length=200)
    message = check.text(errors, "message", message, max_length=10_000)
    start = _notice_moment(errors, "starts_at", starts_at)
    end = _notice_moment(errors, "ends_at", ends_at)
    if start is None and "starts_at" not in errors:
        check.add(errors, "starts_at", "Enter when it starts.")
    if start and end and end <= start:
        check.add(errors, "ends_at", "The end must come after the start.")
    if errors:
        raise ValidationFailed("The notice could not be posted.", fields=errors)
    notice = ServiceNotice(
        product_id=product.id,
        kind=kind,
        title=title,
        message=message,
        starts_at=start,
        ends_at=end,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(notice)
    db.session.flush()
    audit.record(actor, "notice", notice.id, "posted", summary=f"{kind}: {title}")
    when = f"from {start:%Y-%m-%d %H:%M} UTC" + (f" to {end:%Y-%m-%d %H:%M} UTC" if end else "")
    notify(
        subscribers_of_product(product.id),
        f"{NOTICE_LABELS[kind]}: {product.name}",
        f"{title} — {when}. {message}".strip(),
        "/status/notices",
    )
    db.session.commit()
    return notice


def _notice_moment(errors: check.Errors, field: str, value: Any) -> datetime | None:
    if isinstance(value, str) and len(value) > 40:
        check.add(errors, field, "Enter a date and time as YYYY-MM-DD HH:MM.")
        return None
    moment = check.moment(errors, field, value)
    if moment is not None and not (FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR):
        check.add(errors, field, f"Enter a time between {FIRST_YEAR} and {LAST_YEAR}.")
        return None
    return moment.astimezone(UTC) if moment is not None else None


def get_notice(viewer: User, notice_id: Any) -> ServiceNotice:
    """A notice the viewer may see (staff: any; consumers: those on their subscriptions' products)."""
    notice = db.session.scalar(
        notices_for_user(viewer, current_only=False).where(
            ServiceNotice.id == (_id(notice_id) or -1)
        )
    )
    if notice is None:
        raise NotFound("No such notice.")
    return notice


def update_notice(
    actor: User, notice_id: int, *, message: Any, ends_at: Any = None, resolve: bool = False
) -> ServiceNotice:
    """Post an update (and optionally a new expected end), or resolve the notice: its end becomes
    the actual end (now, unless given). Resolving a notice that has not started cancels it."""
    _require_notice_author(actor)
    notice = db.session.get(ServiceNotice, _id(notice_id) or -1)
    if notice is None:
        raise NotFound("No such notice.")
    errors: check.Errors = {}
    message = check.text(errors, "message", message, required=True, max_length=10_000)
    end = _notice_moment(errors, "ends_at", ends_at)
    now = clock.now()
    if notice.resolved_at is not None:
        check.add(errors, "message", "This notice is resolved.")
    cancelled = bool(resolve) and end is None and now <= notice.starts_at
    if resolve and end is None and not cancelled:
        end = now
    if end is not None and end <= notice.starts_at:
        check.add(errors, "ends_at", "The end must come after the start.")
    elif resolve and end is not None and end > now:
        check.add(
            errors,
            "ends_at",
            "A resolved notice cannot end in the future; leave this empty to end it now.",
        )
    if errors:
        raise ValidationFailed("The notice could not be updated.", fields=errors)
    if cancelled:
        notice.ends_at = None  # it never happened: no outage minutes
    elif end is not None:
        notice.ends_at = end
    if resolve:
        notice.resolved_at = now
    db.session.add(
        NoticeUpdate(notice_id=notice.id, message=message, author_id=actor.id, created_at=now)
    )
    audit.record(
        actor, "notice", notice.id, "resolved" if resolve else "updated", summary=message[:200]
    )
    word = ("Cancelled" if cancelled else "Resolved") if resolve else "Update"
    notify(
        subscribers_of_product(notice.product_id),
        f"{word}: {notice.title}",
        message,
        "/status/notices",
    )
    db.session.commit()
    return notice


def notices_query(*, product_ids: list[int] | None = None, current_only: bool = False) -> sa.Select:
    query = sa.select(ServiceNotice).options(selectinload(ServiceNotice.updates))
    if product_ids is not None:
        query = query.where(ServiceNotice.product_id.in_(product_ids or [-1]))
    if current_only:
        now = clock.now()
        query = query.where(
            ServiceNotice.resolved_at.is_(None),
            sa.or_(ServiceNotice.ends_at.is_(None), ServiceNotice.ends_at > _at(now)),
        )
    return query.order_by(ServiceNotice.starts_at.desc())


def notices_for_user(user: User, *, current_only: bool = True) -> sa.Select:
    """Staff see every notice; consumers those on the products of their groups' subscriptions."""
    if user.has_role(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT, Role.CATALOG_MANAGER, Role.ADMIN):
        return notices_query(current_only=current_only)
    products = (
        sa.select(ServiceOffer.product_id)
        .join(Subscription, Subscription.offer_id == ServiceOffer.id)
        .where(
            Subscription.group_id.in_(sorted(user.group_ids) or [-1]),
            ServiceOffer.product_id.is_not(None),
        )
    )
    return notices_query(current_only=current_only).where(ServiceNotice.product_id.in_(products))


def list_notices(
    viewer: User, *, current_only: bool = True, limit: int = 200
) -> list[ServiceNotice]:
    return list(
        db.session.scalars(notices_for_user(viewer, current_only=current_only).limit(limit))
    )


# --- KPIs ------------------------------------------------------------------------------------


def outage_minutes(product_ids, period: Period) -> float:
    """Minutes of outage notices overlapping the period: from the start to the (expected or
    actual) end; an unresolved outage without an end runs until now; one that is cancelled, or
    has not begun, counts nothing."""
    now = _at(min(clock.now(), period.end))
    actual_end = sa.case(
        (
            ServiceNotice.resolved_at.is_not(None),
            sa.func.coalesce(ServiceNotice.ends_at, ServiceNotice.resolved_at),
        ),
        else_=sa.func.coalesce(ServiceNotice.ends_at, now),
    )
    start = greatest(ServiceNotice.starts_at, _at(period.start))
    finish = least(actual_end, _at(period.end))
    seconds = db.session.scalar(
        sa.select(
            sa.func.sum(sa.case((finish > start, seconds_between(start, finish)), else_=0))
        ).where(
            ServiceNotice.kind == NoticeKind.OUTAGE.value,
            ServiceNotice.product_id.in_(product_ids),
            ServiceNotice.starts_at < _at(period.end),
            sa.or_(ServiceNotice.ends_at.is_(None), ServiceNotice.ends_at > _at(period.start)),
        )
    )
    return max(0.0, float(seconds or 0) / 60)


def availability(product_ids, period: Period) -> float | None:
    """1 − outage minutes ÷ minutes in the period, as a percentage with three decimals; over several
    products, the mean of theirs (outage minutes ÷ product-minutes). No products, or a period that
    has not begun: None ("no data")."""
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
            Order.completed_at >= _at(period.start),
            Order.completed_at < _at(period.end),
        )
    ).one()
    count, average, within, with_target = row
    return {
        "orders": int(count or 0),
        "average_lead_hours": round(float(average) / 3600, 2) if average is not None else None,
        "within_target_pct": ratio(within, with_target),
    }


def support_kpis(request_filter, period: Period) -> dict:
    """Requests opened in the period: first response and resolution within target (paused time is
    excluded by the clock), median-free averages, satisfaction, deflection handled separately."""
    response = seconds_between(SupportRequest.created_at, SupportRequest.first_response_at)
    resolution = (
        seconds_between(SupportRequest.created_at, SupportRequest.resolved_at)
        - SupportRequest.paused_seconds
    )
    row = db.session.execute(
        sa.select(
            sa.func.count(SupportRequest.id),
            sa.func.sum(sa.case((SupportRequest.first_response_at.is_not(None), 1), else_=0)),
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            SupportRequest.first_response_at.is_not(None),
                            SupportRequest.response_breached_at.is_(None),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            sa.func.sum(sa.case((SupportRequest.resolved_at.is_not(None), 1), else_=0)),
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            SupportRequest.resolved_at.is_not(None),
                            SupportRequest.resolution_breached_at.is_(None),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            sa.func.avg(
                sa.case((SupportRequest.first_response_at.is_not(None), response), else_=None)
            ),
            sa.func.avg(sa.case((SupportRequest.resolved_at.is_not(None), resolution), else_=None)),
            sa.func.avg(SupportRequest.satisfaction),
            sa.func.count(SupportRequest.satisfaction),
        ).where(
            SupportRequest.id.in_(request_filter),
            SupportRequest.created_at >= _at(period.start),
            SupportRequest.created_at < _at(period.end),
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
        "average_response_hours": round(float(avg_response) / 3600, 2)
        if avg_response is not None
        else None,
        "average_resolution_hours": round(float(avg_resolution) / 3600, 2)
        if avg_resolution is not None
        else None,
        "satisfaction": round(float(satisfaction), 2) if satisfaction is not None else None,
        "rated": int(rated or 0),
    }


def deflection_rate(subscription_filter, period: Period, requests: int) -> float | None:
    deflected = (
        db.session.scalar(
            sa.select(sa.func.count(Deflection.id)).where(
                Deflection.subscription_id.in_(subscription_filter),
                Deflection.created_at >= _at(period.start),
                Deflection.created_at < _at(period.end),
            )
        )
        or 0
    )
    return ratio(deflected, deflected + requests)


def subscription_counts(subscription_filter, period: Period) -> dict:
    """Active now, new and terminated per month, and active at each month's end."""
    new_month, end_month = month_of(Subscription.created_at), month_of(Subscription.terminated_at)
    created = dict(
        db.session.execute(
            sa.select(new_month, sa.func.count(Subscription.id))
            .where(
                Subscription.id.in_(subscription_filter),
                Subscription.created_at >= _at(period.start),
                Subscription.created_at < _at(period.end),
            )
            .group_by(new_month)
        ).all()
    )
    ended = dict(
        db.session.execute(
            sa.select(end_month, sa.func.count(Subscription.id))
            .where(
                Subscription.id.in_(subscription_filter),
                Subscription.terminated_at >= _at(period.start),
                Subscription.terminated_at < _at(period.end),
            )
            .group_by(end_month)
        ).all()
    )
    months = _months(period)
    active_at = []
    columns = []
    for _label, month_end in months:
        moment = min(month_end, clock.now())
        columns.append(
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            Subscription.active_since.is_not(None),
                            Subscription.active_since <= _at(moment),
                            sa.or_(
                                Subscription.terminated_at.is_(None),
                                Subscription.terminated_at > _at(moment),
                            ),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label(f"m{len(columns)}")
        )
    if columns:
        row = db.session.execute(
            sa.select(*columns).where(Subscription.id.in_(subscription_filter))
        ).one()
        active_at = [
            (label, int(value or 0)) for (label, _), value in zip(months, row, strict=True)
        ]
    active_now = (
        db.session.scalar(
            sa.select(sa.func.count(Subscription.id)).where(
                Subscription.id.in_(subscription_filter),
                Subscription.status.in_(
                    [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.MODIFYING.value]
                ),
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


def _months(period: Period) -> list[tuple[str, datetime]]:
    months, cursor = [], datetime(period.start.year, period.start.month, 1, tzinfo=UTC)
    while cursor < period.end and len(months) < 48:
        following = month_period(cursor.year, cursor.month).end
        months.append((cursor.strftime("%Y-%m"), min(following, period.end)))
        cursor = following
    return months


def revenue(subscription_filter) -> dict:
    """Monthly recurring revenue and margin of active subscriptions, from their contracts' prices
    (yearly prices count a twelfth; one-time prices are not recurring) and the offers' costs, per
    currency. mrr/margin/currency give the only currency (or the largest, when there are several)."""
    monthly = sa.case(
        (ServiceContract.billing_period == "monthly", 1.0),
        (ServiceContract.billing_period == "yearly", 1.0 / 12),
        else_=0.0,
    )
    rows = db.session.execute(
        sa.select(
            ServiceContract.currency,
            sa.func.sum(ServiceContract.price * monthly),
            sa.func.sum(ServiceOffer.cost * monthly),
        )
        .join(Subscription, Subscription.id == ServiceContract.subscription_id)
        .join(ServiceOffer, ServiceOffer.id == ServiceContract.offer_id)
        .where(
            ServiceContract.status == "active",
            Subscription.id.in_(subscription_filter),
            Subscription.status.in_(
                [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.MODIFYING.value]
            ),
        )
        .group_by(ServiceContract.currency)
    ).all()
    cent = Decimal("0.01")
    by_currency = []
    for currency, mrr, cost in rows:
        mrr = Decimal(str(mrr or 0)).quantize(cent)
        by_currency.append(
            {
                "currency": currency,
                "mrr": mrr,
                "margin": (mrr - Decimal(str(cost or 0))).quantize(cent),
            }
        )
    by_currency.sort(key=lambda item: (-item["mrr"], item["currency"]))
    main = (
        by_currency[0]
        if by_currency
        else {"currency": "EUR", "mrr": Decimal("0.00"), "margin": Decimal("0.00")}
    )
    return {
        "mrr": main["mrr"],
        "margin": main["margin"],
        "currency": main["currency"],
        "by_currency": by_currency,
    }


# --- flow metrics over every request type ---------------------------------------------------------


def _among(column, ids: sa.Select):
    """`column IN (ids)`, written as EXISTS over the ids: SQLite then walks the outer table by
    its own (period) index and probes the ids, instead of walking every id in scope first
    (measured: 4x faster for a month of orders out of 100,000 in the dashboard's scope; for
    a handful of ids, as on a status page, IN is the faster form)."""
    listed = ids.subquery()
    return sa.exists().where(list(listed.c)[0] == column)


def _done(moment, period: Period | None):
    """Done inside the period; with no period, not done yet."""
    if period is None:
        return moment.is_(None)
    return sa.and_(moment >= _at(period.start), moment < _at(period.end))


def _flow_items(order_filter, request_filter, period: Period | None) -> sa.Subquery:
    """One row per work item done in the period (None: not done yet): orders (by type) and
    support requests, with created, done and active time. Each branch filters first, so the
    active time of an order is summed over its own tasks only."""
    task_active = (
        sa.select(
            sa.func.sum(seconds_between(FulfillmentTask.started_at, FulfillmentTask.completed_at))
        )
        .where(
            FulfillmentTask.order_id == Order.id,
            FulfillmentTask.completed_at.is_not(None),
            FulfillmentTask.started_at.is_not(None),
        )
        .correlate(Order)
        .scalar_subquery()
    )
    orders = sa.select(
        Order.order_type.label("kind"),
        Order.created_at.label("created_at"),
        Order.completed_at.label("done_at"),
        sa.func.coalesce(task_active, 0).label("active"),
    ).where(_among(Order.id, order_filter), _done(Order.completed_at, period))
    done_at = sa.func.coalesce(SupportRequest.resolved_at, SupportRequest.closed_at)
    requests = sa.select(
        sa.literal("support").label("kind"),
        SupportRequest.created_at.label("created_at"),
        done_at.label("done_at"),
        (seconds_between(SupportRequest.created_at, done_at) - SupportRequest.paused_seconds).label(
            "active"
        ),
    ).where(_among(SupportRequest.id, request_filter), _done(done_at, period))
    return sa.union_all(orders, requests).subquery("flow_items")


def flow_metrics(order_filter, request_filter, period: Period) -> dict:
    items = _flow_items(order_filter, request_filter, period)
    flow = seconds_between(items.c.created_at, items.c.done_at)
    week = week_of(items.c.done_at)
    # One grouped pass gives velocity, distribution and the sums; percentiles and load follow.
    velocity: dict[str, int] = {}
    distribution: dict[str, int] = {}
    active_sum = flow_sum = 0.0
    for label, kind, count, active, seconds in db.session.execute(
        sa.select(
            week, items.c.kind, sa.func.count(), sa.func.sum(items.c.active), sa.func.sum(flow)
        )
        .group_by(week, items.c.kind)
        .order_by(week)
    ).all():
        velocity[label] = velocity.get(label, 0) + int(count)
        distribution[kind] = distribution.get(kind, 0) + int(count)
        active_sum += float(active or 0)
        flow_sum += float(seconds or 0)
    total = sum(distribution.values())
    median, p85 = _percentile_hours(flow, total, (0.5, 0.85))
    waiting = _flow_items(order_filter, request_filter, None)
    load = {
        kind: int(count)
        for kind, count in db.session.execute(
            sa.select(waiting.c.kind, sa.func.count()).group_by(waiting.c.kind)
        ).all()
    }
    return {
        "velocity_per_week": [{"week": label, "done": done} for label, done in velocity.items()],
        "flow_time_median_hours": median,
        "flow_time_p85_hours": p85,
        "load_now": sum(load.values()),
        "load_by_type": load,
        "efficiency_pct": ratio(active_sum, flow_sum) if total else None,
        "distribution_pct": {
            kind: ratio(count, total) for kind, count in sorted(distribution.items())
        },
        "done": total,
    }


def _percentile_hours(flow, total: int, fractions: tuple[float, ...]) -> list[float | None]:
    """Nearest-rank percentiles computed in SQL, in one query: number the items by flow time
    (a window function) and keep the ranks ⌈fraction × n⌉."""
    if total == 0:
        return [None] * len(fractions)
    # ceil(fraction × n) without float noise
    ranks = [max(1, -(-int(round(fraction * total * 1000)) // 1000)) for fraction in fractions]
    ordered = sa.select(
        flow.label("seconds"), sa.func.row_number().over(order_by=flow).label("position")
    ).subquery()
    found = dict(
        db.session.execute(
            sa.select(ordered.c.position, ordered.c.seconds).where(
                ordered.c.position.in_(sorted(set(ranks)))
            )
        ).all()
    )
    return [
        round(float(found[rank]) / 3600, 2) if found.get(rank) is not None else None
        for rank in ranks
    ]


# --- scopes and dashboards -----------------------------------------------------------------------


@dataclass
class Scope:
    """Which subscriptions a figure covers, as SQL sub-selects."""

    subscriptions: sa.Select
    orders: sa.Select
    requests: sa.Select
    product_ids: sa.Select


def _chosen_product(product_id: Any) -> int | None:
    """The product a dashboard filter names, or None for all products."""
    if product_id in (None, ""):
        return None
    chosen = _id(product_id)
    if chosen is None:
        raise ValidationFailed(
            "Choose a product.", fields={"product": ["Choose a product from the list."]}
        )
    if db.session.get(DigitalProduct, chosen) is None:
        raise NotFound("No such product.")
    return chosen


def scope_for(viewer: User, *, product_id: Any = None, offer_code: str = "") -> Scope:
    """Product managers see any product or offer; catalog managers any offer; consumers only
    their groups' subscriptions (whatever filter they pass)."""
    query = sa.select(Subscription.id).where(Subscription.parent_id.is_(None))
    staff = viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)
    if staff:
        pass
    elif viewer.has_role(Role.CONSUMER):
        query = query.where(Subscription.group_id.in_(sorted(viewer.group_ids) or [-1]))
    else:
        raise NotAllowed("Your role has no dashboard.")
    product_id = _chosen_product(product_id)
    if product_id is not None:
        query = query.where(
            Subscription.offer_id.in_(
                # never correlated: _products_in_scope nests this under a join on offers
                sa.select(ServiceOffer.id)
                .where(ServiceOffer.product_id == product_id)
                .correlate(None)
            )
        )
    if offer_code:
        if not isinstance(offer_code, str) or len(offer_code) > 40:
            raise ValidationFailed(
                "Choose an offer.", fields={"offer": ["Choose an offer from the list."]}
            )
        query = query.where(Subscription.offer_code == offer_code.strip().upper())
    return Scope(
        subscriptions=query,
        orders=sa.select(Order.id).where(Order.subscription_id.in_(query)),
        requests=sa.select(SupportRequest.id).where(SupportRequest.subscription_id.in_(query)),
        # staff see a product's availability even before anyone subscribes; a consumer only
        # that of products its groups use
        product_ids=sa.select(sa.literal(product_id))
        if product_id is not None and staff
        else _products_in_scope(query),
    )


def _products_in_scope(subscriptions_: sa.Select) -> sa.Select:
    """The products with a subscription among `subscriptions_`. From
    the products' side, EXISTS stops at each product's first such subscription, where a
    DISTINCT over the join would read all of them."""
    return sa.select(DigitalProduct.id).where(
        sa.select(Subscription.id)
        .join(ServiceOffer, Subscription.offer_id == ServiceOffer.id)
        .where(ServiceOffer.product_id == DigitalProduct.id, subscriptions_.whereclause)
        .exists()
    )


def dashboard(
    viewer: User, period: Period, *, product_id: Any = None, offer_code: str = ""
) -> dict:
    scope = scope_for(viewer, product_id=product_id, offer_code=offer_code)
    support = support_kpis(scope.requests, period)
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "subscriptions": subscription_counts(scope.subscriptions, period),
        "revenue": revenue(scope.subscriptions)
        if viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER)
        else None,
        "usage": usage_totals(scope.subscriptions, period),
        "fulfillment": fulfillment_kpis(scope.orders, period),
        "support": support,
        "deflection_pct": deflection_rate(scope.subscriptions, period, support["requests"]),
        "availability_pct": availability(scope.product_ids, period),
        "flow": flow_metrics(scope.orders, scope.requests, period),
    }


OFFERS_PER_PAGE = 25


def sees_offer_figures(viewer: User) -> bool:
    """Catalog and product managers see the dashboard's figures per offer."""
    return viewer.has_role(Role.CATALOG_MANAGER, Role.PRODUCT_MANAGER)


def _offer_table_query(
    viewer: User, period: Period, product_id: Any
) -> tuple[sa.Select, sa.Select]:
    """Per live offer code: new orders in the period and active subscriptions now, busiest
    first; and the count of those codes (the outer joins keep one row per code)."""
    if not sees_offer_figures(viewer):
        raise NotAllowed("Only managers see figures per offer.")
    orders = (
        sa.select(Subscription.offer_code.label("code"), sa.func.count(Order.id).label("orders"))
        .join(Order, Order.subscription_id == Subscription.id)
        .where(
            Order.created_at >= _at(period.start),
            Order.created_at < _at(period.end),
            Order.order_type == OrderType.NEW.value,
        )
        .group_by(Subscription.offer_code)
        .subquery()
    )
    active = (
        sa.select(
            Subscription.offer_code.label("code"), sa.func.count(Subscription.id).label("active")
        )
        .where(
            Subscription.status.in_(
                [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.MODIFYING.value]
            )
        )
        .group_by(Subscription.offer_code)
        .subquery()
    )
    live = sa.select(
        ServiceOffer.code.label("code"), sa.func.max(ServiceOffer.name).label("name")
    ).where(ServiceOffer.status.in_(["published", "retired"]))
    product_id = _chosen_product(product_id)
    if product_id is not None:
        live = live.where(ServiceOffer.product_id == product_id)
    live = live.group_by(ServiceOffer.code).subquery()
    n_orders = sa.func.coalesce(orders.c.orders, 0)
    n_active = sa.func.coalesce(active.c.active, 0)
    rows = (
        sa.select(live.c.code, live.c.name, n_orders, n_active)
        .outerjoin(orders, orders.c.code == live.c.code)
        .outerjoin(active, active.c.code == live.c.code)
        .order_by(n_active.desc(), n_orders.desc(), live.c.code)
    )
    return rows, sa.select(sa.func.count()).select_from(live)


def _offer_rows(query: sa.Select) -> list[dict]:
    return [
        {"code": code, "name": name, "orders": int(n_orders), "active": int(n_active)}
        for code, name, n_orders, n_active in db.session.execute(query).all()
    ]


def offer_table(viewer: User, period: Period, *, product_id: Any = None) -> list[dict]:
    """Every live offer's figures, busiest first (catalog and product managers; CSV and API)."""
    query, _ = _offer_table_query(viewer, period, product_id)
    return _offer_rows(query)


def offer_table_page(
    viewer: User,
    period: Period,
    *,
    product_id: Any = None,
    page: int = 1,
    per_page: int | None = None,
) -> RowPage:
    """One page of `offer_table` (OFFERS_PER_PAGE rows unless told); a page past the end shows
    the last one."""
    per_page = per_page or OFFERS_PER_PAGE
    query, count = _offer_table_query(viewer, period, product_id)
    total = db.session.scalar(count)
    page = max(1, min(page, -(-total // per_page) or 1))
    items = _offer_rows(query.limit(per_page).offset((page - 1) * per_page))
    return RowPage(items=items, total=total, page=page, per_page=per_page)


TYPE_LABELS = {
    "new": "Orders",
    "modify": "Modifications",
    "terminate": "Terminations",
    "support": "Support requests",
}


def dashboard_tables(data: dict) -> dict[str, dict]:
    """The dashboard's figures as tables (title, header, rows): the page shows them and each one
    downloads as CSV. None stays None ("no data"), never 0 or 100."""
    subscriptions_ = data["subscriptions"]
    support, fulfillment, flow = data["support"], data["fulfillment"], data["flow"]
    summary = [
        ("Active subscriptions now", subscriptions_["active_now"], ""),
        ("Fulfilled orders", fulfillment["orders"], ""),
        ("Average fulfillment lead time", fulfillment["average_lead_hours"], "hours"),
        ("Fulfillment within target", fulfillment["within_target_pct"], "%"),
        ("First response within target", support["response_within_target_pct"], "%"),
        ("Resolution within target", support["resolution_within_target_pct"], "%"),
        ("Availability", data["availability_pct"], "%"),
        ("Support requests", support["requests"], ""),
        ("Average first response", support["average_response_hours"], "hours"),
        ("Average resolution", support["average_resolution_hours"], "hours"),
        ("Satisfaction (1–5)", support["satisfaction"], f"{support['rated']} ratings"),
        ("Deflection rate", data["deflection_pct"], "%"),
        ("Flow time, median", flow["flow_time_median_hours"], "hours"),
        ("Flow time, 85th percentile", flow["flow_time_p85_hours"], "hours"),
        ("Load now (open items)", flow["load_now"], ""),
        ("Flow efficiency", flow["efficiency_pct"], "%"),
        ("Items done in range", flow["done"], ""),
    ]
    if data.get("revenue") is not None:
        money = []
        for item in data["revenue"].get("by_currency") or [data["revenue"]]:
            money += [
                (f"Monthly recurring revenue ({item['currency']})", item["mrr"], item["currency"]),
                (f"Monthly margin ({item['currency']})", item["margin"], item["currency"]),
            ]
        summary[1:1] = money
    kinds = sorted(
        set(flow["distribution_pct"]) | set(flow["load_by_type"]),
        key=lambda kind: list(TYPE_LABELS).index(kind) if kind in TYPE_LABELS else 99,
    )
    known = metrics() if data["usage"] else {}
    tables = {
        "summary": {"title": "Key figures", "header": ["Figure", "Value", "Unit"], "rows": summary},
        "months": {
            "title": "Subscriptions per month",
            "header": ["Month", "New", "Terminated", "Active at month end"],
            "rows": [
                (row["month"], row["new"], row["terminated"], row["active"])
                for row in subscriptions_["per_month"]
            ],
        },
        "usage": {
            "title": "Usage totals",
            "header": ["Metric", "Label", "Total", "Unit"],
            "rows": [
                (
                    metric,
                    known[metric].label if metric in known else metric,
                    total,
                    known[metric].unit if metric in known else "",
                )
                for metric, total in sorted(data["usage"].items())
            ],
        },
        "velocity": {
            "title": "Velocity per week",
            "header": ["Week starting", "Items done"],
            "rows": [(row["week"], row["done"]) for row in flow["velocity_per_week"]],
        },
        "distribution": {
            "title": "Distribution and load by request type",
            "header": ["Type", "Share of items done (%)", "Open now"],
            "rows": [
                (
                    TYPE_LABELS.get(kind, kind),
                    flow["distribution_pct"].get(kind),
                    flow["load_by_type"].get(kind, 0),
                )
                for kind in kinds
            ],
        },
    }
    return tables


def offers_table(offers: list[dict]) -> dict:
    """`offer_table` rows as a dashboard table (title, header, rows)."""
    return {
        "title": "Orders and active subscriptions per offer",
        "header": ["Offer code", "Name", "New orders in range", "Active subscriptions"],
        "rows": [(row["code"], row["name"], row["orders"], row["active"]) for row in offers],
    }


OFFER_CHOICE_LIMIT = 200


def filter_choices(viewer: User, product_id: Any = None, offer_code: Any = "") -> dict:
    """Products, and the offers (live codes, optionally of one product) for the dashboard's selects.
    Consumers choose among the offers their groups subscribe to. Thousands of offers are no
    choice to scroll through: past OFFER_CHOICE_LIMIT, and with no product chosen, the list
    holds only the chosen offer and `offers_narrowed` asks for a product first."""
    products = db.session.execute(
        sa.select(DigitalProduct.id, DigitalProduct.name).order_by(DigitalProduct.name)
    ).all()
    offers = sa.select(ServiceOffer.code, sa.func.max(ServiceOffer.name)).where(
        ServiceOffer.status.in_(["published", "retired"])
    )
    if _id(product_id):
        offers = offers.where(ServiceOffer.product_id == _id(product_id))
    if not viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER, Role.SUPPORT_AGENT):
        offers = offers.where(
            ServiceOffer.code.in_(
                sa.select(Subscription.offer_code).where(
                    Subscription.group_id.in_(sorted(viewer.group_ids) or [-1])
                )
            )
        )
    offers = offers.group_by(ServiceOffer.code).order_by(ServiceOffer.code)
    listed = db.session.execute(offers.limit(OFFER_CHOICE_LIMIT + 1)).all()
    narrowed = not _id(product_id) and len(listed) > OFFER_CHOICE_LIMIT
    if narrowed:
        chosen = offer_code.strip().upper() if isinstance(offer_code, str) else ""
        listed = (
            db.session.execute(offers.where(ServiceOffer.code == chosen)).all() if chosen else []
        )
    return {
        "products": [(pid, name) for pid, name in products],
        "offers": [(code, name) for code, name in listed],
        "offers_narrowed": narrowed,
    }


def group_subscriptions(viewer: User, limit: int = 50) -> list[Subscription]:
    """The viewer's groups' top-level subscriptions, newest first (links to their status pages)."""
    return list(
        db.session.scalars(
            subscriptions.visible_subscriptions_query(viewer)
            .where(Subscription.group_id.in_(sorted(viewer.group_ids) or [-1]))
            .limit(limit)
        )
    )


def subscription_status(viewer: User, subscription_id: int, period: Period | None = None) -> dict:
    """Everything the status page shows for one subscription, computed from stored facts."""
    subscription = subscriptions.subscription_for(viewer, subscription_id)
    period = period or parse_period()
    now = clock.now()
    contract = subscriptions.current_contract(subscription)
    levels = (contract.snapshot if contract else {}).get("service_levels") or {}
    product_ids = [subscription.offer.product_id] if subscription.offer.product_id else []
    series = usage_series([subscription.id], period)
    known = metrics()
    limits = {
        metric: quota for metric, quota in quotas(subscription).items() if metric in known
    }  # quotas on metrics we measure
    warnings = []
    if limits:
        # The trend is read from this month's usage, whatever range the page shows.
        month = month_period(now.year, now.month)
        this_month = usage_series(
            [subscription.id], Period(month.start, min(month.end, now + timedelta(days=1)))
        )
        for metric, quota in sorted(limits.items()):
            crossing = predict_quota_crossing(this_month.get(metric, []), quota, today=now.date())
            if crossing is None:
                continue
            reached = crossing <= now.date()
            name = known[metric].label if metric in known else metric
            unit = f" {known[metric].unit}" if metric in known and known[metric].unit else ""
            text = (
                f"{name} has reached its monthly quota of {quota:g}{unit} ({crossing:%Y-%m-%d})."
                if reached
                else f"At the current rate, {name} will reach its monthly quota of {quota:g}{unit} on {crossing:%Y-%m-%d}."
            )
            warnings.append(
                {
                    "kind": "quota",
                    "metric": metric,
                    "quota": quota,
                    "date": crossing.isoformat(),
                    "reached": reached,
                    "message": text,
                }
            )
    upcoming: list[ServiceNotice] = []
    if product_ids:
        upcoming = list(
            db.session.scalars(
                notices_query(product_ids=product_ids, current_only=True)
                .order_by(None)
                .order_by(ServiceNotice.starts_at, ServiceNotice.id)
            )
        )
        for notice in upcoming:
            if notice.kind == NoticeKind.MAINTENANCE and notice.starts_at > now:
                warnings.append(
                    {
                        "kind": "maintenance",
                        "date": notice.starts_at.isoformat(),
                        "notice_id": notice.id,
                        "message": f"Planned maintenance on {notice.starts_at:%Y-%m-%d %H:%M} UTC: {notice.title}.",
                    }
                )
    open_requests = list(
        db.session.scalars(
            sa.select(SupportRequest)
            .where(
                SupportRequest.subscription_id == subscription.id,
                SupportRequest.status.notin_(
                    [RequestStatus.RESOLVED.value, RequestStatus.CLOSED.value]
                ),
            )
            .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
        )
    )
    orders = subscriptions.orders_of(subscription)
    # Availability counts only the time the subscription was running within the range.
    running = Period(
        max(period.start, subscription.active_since or now),
        min(period.end, subscription.terminated_at or period.end),
    )
    return {
        "subscription": subscription,
        "contract": contract,
        "period": period,
        "orders": orders,
        "usage": series,
        "quotas": limits,
        "metrics": known,
        "notices": upcoming,
        "open_requests": open_requests,
        "warnings": warnings,
        "kpis": {
            "availability_pct": availability(product_ids, running)
            if product_ids and running.end > running.start
            else None,
            "availability_target_pct": levels.get("availability_pct"),
            "fulfillment": fulfillment_kpis(
                sa.select(Order.id).where(Order.subscription_id == subscription.id),
                period=Period(
                    subscription.created_at - timedelta(seconds=1), now + timedelta(seconds=1)
                ),
            ),
            "fulfillment_target_hours": levels.get("fulfillment_target_hours"),
            "support": support_kpis(
                sa.select(SupportRequest.id).where(
                    SupportRequest.subscription_id == subscription.id
                ),
                period,
            ),
        },
    }
