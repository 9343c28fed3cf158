"""Usage: the metrics consumers' subscriptions are measured in, the usage feed (idempotent per
subscription, metric and period) and the daily and total figures read back from it."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...audit import services as audit
from ...errors import ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import whole_number
from ...subscriptions.models import Subscription
from ..models import MetricKind, UsageMetric, UsageRecord
from ..sqltime import at, day_of
from . import rollups
from .periods import FIRST_YEAR, LAST_YEAR, Period, in_years

MAX_BATCH = 1000
MAX_QUANTITY = 10**13  # Numeric(18, 4) holds 14 digits before the point


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


def record_usage(actor: User, rows: Any, *, atomic: bool = False) -> dict:
    """Store usage rows (idempotent on subscription, metric and period: a repeat replaces the
    quantity). Bad rows are reported by index and the good ones kept, or with `atomic` the
    whole batch is refused when any row is bad."""
    _check_batch(rows, atomic)
    known = metrics()
    ids = {whole_number(row.get("subscription_id")) for row in rows if isinstance(row, dict)}
    ids.discard(None)
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
            cleaned[_period_key(problems)] = problems  # the same period twice: the later row wins
        else:
            errors[str(index)] = problems
    if errors and atomic:
        raise ValidationFailed(
            _(
                "%(count)s of %(count2)s rows are invalid; nothing was stored.",
                count=len(errors),
                count2=len(rows),
            ),
            fields=errors,
        )
    stored = len(rows) - len(errors)
    if cleaned:
        _store_usage(actor, list(cleaned.values()))
        rollups.refresh_usage_days(
            db.session,
            {
                (row["subscription_id"], row["metric"], row["period_start"].date())
                for row in cleaned.values()
            },
        )
        audit.record(actor, "usage", "batch", "recorded", summary=f"{stored} rows")
    db.session.flush()
    return {"stored": stored, "rejected": len(errors), "errors": errors}


def _check_batch(rows: Any, atomic: Any) -> None:
    if not isinstance(rows, list):
        raise ValidationFailed(
            _("Send a list of usage rows (or one row)."), fields={"records": [_("Send a list.")]}
        )
    if not rows or len(rows) > MAX_BATCH:
        raise ValidationFailed(
            _("Send between 1 and %(MAX_BATCH)s rows.", MAX_BATCH=MAX_BATCH),
            fields={"records": [_("1 to %(MAX_BATCH)s rows.", MAX_BATCH=MAX_BATCH)]},
        )
    if not isinstance(atomic, bool):
        raise ValidationFailed(
            _("atomic must be true or false."), fields={"atomic": [_("Send true or false.")]}
        )


def _period_key(values: dict) -> tuple:
    return (
        values["subscription_id"],
        values["metric"],
        values["period_start"],
        values["period_end"],
    )


def _check_usage_row(actor: User, row: Any, known: dict, subs: dict) -> dict | list[str]:
    if not isinstance(row, dict):
        return [_("Each row must be an object.")]
    messages: list[str] = []
    subscription = subs.get(whole_number(row.get("subscription_id")))
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
        check.add(errors, "period_start", _("Required."))
    if end is None and "period_end" not in errors:
        check.add(errors, "period_end", _("Required."))
    for field, moment in (("period_start", start), ("period_end", end)):
        if moment is not None and not in_years(moment):
            check.add(
                errors,
                field,
                _(
                    "Use a time between %(FIRST_YEAR)s and %(LAST_YEAR)s.",
                    FIRST_YEAR=FIRST_YEAR,
                    LAST_YEAR=LAST_YEAR,
                ),
            )
    if start and end and end <= start:
        check.add(errors, "period_end", _("The end must come after the start."))
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
                UsageRecord.period_start.in_([at(moment) for moment in starts]),
            )
        )
    }
    now = clock.now()
    fresh = []
    for values in rows:
        record = existing.get(_period_key(values))
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


def _same_period(values: dict):
    return (
        UsageRecord.subscription_id == values["subscription_id"],
        UsageRecord.metric == values["metric"],
        UsageRecord.period_start == at(values["period_start"]),
        UsageRecord.period_end == at(values["period_end"]),
    )


def _upsert_usage(actor: User, values: dict) -> None:
    existing = db.session.scalar(sa.select(UsageRecord).where(*_same_period(values)))
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
            sa.update(UsageRecord).where(*_same_period(values)).values(quantity=values["quantity"])
        )


def gauge_keys() -> list[str]:
    """The metrics that are levels (MetricKind.GAUGE): their figures are peaks, never sums."""
    return sorted(
        db.session.scalars(
            sa.select(UsageMetric.key).where(UsageMetric.kind == MetricKind.GAUGE.value)
        )
    )


def _daily(subscription_filter, period: Period) -> sa.Subquery:
    """Per metric and day, over the subscriptions: a counter's day is the sum of its records, a
    gauge's the sum over the subscriptions of each one's highest reading that day (levels add up
    across subscriptions at one time, never over time)."""
    day = day_of(UsageRecord.period_start).label("day")
    per_subscription = (
        sa.select(
            UsageRecord.metric.label("metric"),
            day,
            sa.case(
                (UsageRecord.metric.in_(gauge_keys()), sa.func.max(UsageRecord.quantity)),
                else_=sa.func.sum(UsageRecord.quantity),
            ).label("quantity"),
        )
        .where(
            UsageRecord.subscription_id.in_(subscription_filter),
            UsageRecord.period_start >= at(period.start),
            UsageRecord.period_start < at(period.end),
        )
        .group_by(UsageRecord.metric, UsageRecord.subscription_id, day)
        .subquery()
    )
    return (
        sa.select(
            per_subscription.c.metric,
            per_subscription.c.day,
            sa.func.sum(per_subscription.c.quantity).label("quantity"),
        )
        .group_by(per_subscription.c.metric, per_subscription.c.day)
        .subquery()
    )


def usage_series(subscription_ids: list[int], period: Period) -> dict[str, list[tuple[str, float]]]:
    """Daily figures per metric over the period, only for days with records: {metric: [(day,
    quantity), ...]}. A counter's day is its total, a gauge's its peak reading."""
    if not subscription_ids:
        return {}
    daily = _daily(subscription_ids, period)
    rows = db.session.execute(
        sa.select(daily.c.metric, daily.c.day, daily.c.quantity).order_by(
            daily.c.metric, daily.c.day
        )
    ).all()
    series: dict[str, list[tuple[str, float]]] = {}
    for metric, bucket, total in rows:
        series.setdefault(metric, []).append((bucket, float(total)))
    return series


def usage_totals(subscription_filter, period: Period) -> dict[str, float]:
    """Per metric over the period: a counter's total, a gauge's peak (its highest day)."""
    daily = _daily(subscription_filter, period)
    figure = sa.case(
        (daily.c.metric.in_(gauge_keys()), sa.func.max(daily.c.quantity)),
        else_=sa.func.sum(daily.c.quantity),
    )
    rows = db.session.execute(sa.select(daily.c.metric, figure).group_by(daily.c.metric)).all()
    return {metric: float(total) for metric, total in rows}


def monthly_usage(subscription_filter, period: Period) -> dict[tuple[str, str], float]:
    """Per (metric, 'YYYY-MM') with records in the period: a counter's month total, a gauge's
    peak reading (its highest day) that month."""
    daily = _daily(subscription_filter, period)
    month = sa.func.substr(daily.c.day, 1, 7)
    figure = sa.case(
        (daily.c.metric.in_(gauge_keys()), sa.func.max(daily.c.quantity)),
        else_=sa.func.sum(daily.c.quantity),
    )
    rows = db.session.execute(
        sa.select(daily.c.metric, month, figure).group_by(daily.c.metric, month)
    ).all()
    return {(metric, label): float(value) for metric, label, value in rows}
