"""The dashboards' figures from the daily rollups: whole days come from the rollups, and the
parts of the range that are not whole days (today, which is still being written, and a range
that starts or ends inside a day) from the facts. The results have the shape of the
facts-only functions (kpis.py, revenue.py, usage.py), which stay the reference they are tested
against.

Figures "now" (active subscriptions, MRR and margin) are totals over every day of the rollups,
today's rows included: those rows are written in the same transaction as the facts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ... import clock
from ...catalog.models import ServiceOffer
from ...catalog.prices import changes_in_force
from ...extensions import db
from ...subscriptions.models import Subscription
from ...support.models import SupportRequest
from ..models import (
    SUBSCRIPTION_MONEY,
    OfferRollup,
    SubscriptionGroupRollup,
    SubscriptionRollup,
    SupportRollup,
    UsageGroupRollup,
    UsageRecord,
    UsageRollup,
)
from ..sqltime import at, day_of, seconds_between
from .kpis import _hours, ratio
from .periods import Period, months_of
from .revenue import CENT
from .scopes import Scope
from .usage import gauge_keys

QUANTUM = Decimal("0.0001")  # the scale of usage quantities


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _ceil_day(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day if _midnight(day) == moment else day + timedelta(days=1)


@dataclass
class Split:
    """A period as whole days [first, end) read from the rollups, and the rest (`edges`) read
    from the facts."""

    first: date | None
    end: date | None
    edges: list[Period]


def split(period: Period) -> Split:
    today = clock.now().astimezone(UTC).date()
    first = _ceil_day(period.start)
    end = min(period.end.astimezone(UTC).date(), today)
    if first >= end:
        return Split(None, None, [period])
    edges = [
        Period(start, finish)
        for start, finish in ((period.start, _midnight(first)), (_midnight(end), period.end))
        if finish > start
    ]
    return Split(first, end, edges)


def _within(column, periods: list[Period]) -> sa.ColumnElement:
    return sa.or_(*[sa.and_(column >= at(part.start), column < at(part.end)) for part in periods])


def _days(table, parts: Split) -> list[sa.ColumnElement]:
    return [table.c.day >= parts.first, table.c.day < parts.end]


# --- usage ---------------------------------------------------------------------------------------


def _edge_usage(scope: Scope, parts: Split, gauges: set[str]) -> sa.Select:
    """Per metric and day of the edges, from the records (usage._daily's figures), walked by
    their period index and joined to the subscriptions in scope."""
    U = UsageRecord  # noqa: N806
    day = day_of(U.period_start).label("day")
    per_subscription = (
        sa.select(
            U.metric.label("metric"),
            day,
            sa.case(
                (U.metric.in_(sorted(gauges)), sa.func.max(U.quantity)),
                else_=sa.func.sum(U.quantity),
            ).label("quantity"),
        )
        .join(Subscription, Subscription.id == U.subscription_id)
        .where(scope.subscriptions.whereclause, _within(U.period_start, parts.edges))
        .group_by(U.metric, U.subscription_id, day)
        .subquery()
    )
    return sa.select(
        per_subscription.c.metric,
        per_subscription.c.day,
        sa.func.sum(per_subscription.c.quantity),
    ).group_by(per_subscription.c.metric, per_subscription.c.day)


def usage_totals(scope: Scope, period: Period) -> dict[str, float]:
    """Per metric over the period: a counter's total, a gauge's peak day (usage.usage_totals)."""
    parts = split(period)
    gauges = set(gauge_keys())
    figures: dict[tuple[str, date | str], Decimal] = {}
    if parts.first is not None:
        wide = scope.offer_ids is None  # no offer or product chosen: the groups' rows
        table = (UsageGroupRollup if wide else UsageRollup).__table__
        rows = db.session.execute(
            sa.select(
                table.c.metric,
                table.c.day,
                sa.func.sum(table.c.quantity),
                sa.func.sum(table.c.peak),
            )
            .where(*_days(table, parts), *scope.rollup_filter(table))
            .group_by(table.c.metric, table.c.day)
        ).all()
        for metric, day, quantity, peak in rows:
            figures[(metric, day)] = peak if metric in gauges else quantity
    if parts.edges:
        for metric, day, quantity in db.session.execute(_edge_usage(scope, parts, gauges)).all():
            figures[(metric, f"edge-{day}")] = quantity
    totals: dict[str, Decimal] = {}
    for (metric, _day), value in figures.items():
        value = Decimal(str(value or 0))  # summed exactly, as the database sums the facts
        if metric in gauges:
            totals[metric] = max(totals.get(metric, value), value)
        else:
            totals[metric] = totals.get(metric, Decimal(0)) + value
    return {metric: float(total.quantize(QUANTUM)) for metric, total in totals.items()}


# --- subscriptions -------------------------------------------------------------------------------


def _count_if(condition) -> sa.ColumnElement:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _month_ends(period: Period) -> list[tuple[str, datetime, date]]:
    """Each month's label, the moment its count is taken (its end, or now) and the midnight up
    to which the rollups count it (never past today's)."""
    today = clock.now().astimezone(UTC).date()
    ends = []
    for label, month_end in months_of(period):
        moment = min(month_end, clock.now())
        ends.append((label, moment, min(moment.astimezone(UTC).date(), today)))
    return ends


def _daily_counts(scope: Scope) -> list[tuple]:
    """Per day: created, terminated, started − ended, and running, in one pass (over the
    groups' rows when no product or offer is chosen)."""
    table = (SubscriptionGroupRollup if scope.offer_ids is None else SubscriptionRollup).__table__
    return db.session.execute(
        sa.select(
            table.c.day,
            sa.func.sum(table.c.created),
            sa.func.sum(table.c.terminated),
            sa.func.sum(table.c.started - table.c.ended),
            sa.func.sum(table.c.running),
        )
        .where(*scope.rollup_filter(table))
        .group_by(table.c.day)
    ).all()


def _edge_new_and_terminated(scope: Scope, parts: Split, per_month: dict) -> None:
    S = Subscription  # noqa: N806
    for index, moment in enumerate((S.created_at, S.terminated_at)):
        for when in db.session.scalars(
            sa.select(moment).where(scope.subscriptions.whereclause, _within(moment, parts.edges))
        ):
            per_month[when.strftime("%Y-%m")][index] += 1


def _edge_active(scope: Scope, ends: list[tuple[str, datetime, date]]) -> list[int]:
    """Per month end: started after its midnight and up to it, minus ended (after being
    active) in the same span, from the facts."""
    S = Subscription  # noqa: N806
    started, ended = S.active_since, S.terminated_at
    columns = []
    for _, moment, cut in ends:
        after = at(_midnight(cut))
        columns.append(_count_if(sa.and_(started > after, started <= at(moment))))
        columns.append(_count_if(sa.and_(started.is_not(None), ended > after, ended <= at(moment))))
    earliest = at(_midnight(min(cut for _, _, cut in ends)))
    row = db.session.execute(
        sa.select(*columns).where(
            scope.subscriptions.whereclause, sa.or_(started > earliest, ended > earliest)
        )
    ).one()
    return [int(row[2 * i] or 0) - int(row[2 * i + 1] or 0) for i in range(len(ends))]


def subscription_counts(scope: Scope, period: Period) -> dict:
    """Active now, new and terminated per month, active at each month's end (kpis.py)."""
    parts = split(period)
    ends = _month_ends(period)
    per_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    active = [0] * len(ends)
    running = 0
    for day, created, terminated, net, runs in _daily_counts(scope):
        running += int(runs or 0)
        if parts.first is not None and parts.first <= day < parts.end:
            per_month[day.strftime("%Y-%m")][0] += int(created or 0)
            per_month[day.strftime("%Y-%m")][1] += int(terminated or 0)
        for index, (_, _, cut) in enumerate(ends):
            if day < cut:
                active[index] += int(net or 0)
    if parts.edges:
        _edge_new_and_terminated(scope, parts, per_month)
    if ends:
        active = [a + b for a, b in zip(active, _edge_active(scope, ends), strict=True)]
    return {
        "active_now": running,
        "per_month": [
            {
                "month": label,
                "new": per_month[label][0] if label in per_month else 0,
                "terminated": per_month[label][1] if label in per_month else 0,
                "active": count,
            }
            for (label, _, _), count in zip(ends, active, strict=True)
        ],
    }


# --- revenue -------------------------------------------------------------------------------------


def _money_per_currency(scope: Scope) -> list[tuple]:
    """Per currency: monthly and yearly price cents, option cents, and the cost cents of the
    running contracts at each offer's cost in force now (catalog.prices.changes_in_force, one
    join), for a year (12 × monthly + yearly contracts: one sum); over every group from the
    rows per offer and currency (one each: no grouping), else summed per offer first."""
    if scope.group_ids is None:
        table = OfferRollup.__table__
        per_offer = (
            sa.select(
                table.c.offer_id, table.c.currency, *[table.c[name] for name in SUBSCRIPTION_MONEY]
            )
            .where(table.c.currency != "", *scope.rollup_filter(table))
            .subquery()
        )
    else:
        table = SubscriptionRollup.__table__
        per_offer = (
            sa.select(
                table.c.offer_id,
                table.c.currency,
                *[sa.func.sum(table.c[name]).label(name) for name in SUBSCRIPTION_MONEY],
            )
            .where(table.c.currency != "", *scope.rollup_filter(table))
            .group_by(table.c.offer_id, table.c.currency)
            .subquery()
        )
    changes = changes_in_force(clock.now())
    cost = sa.cast(
        sa.func.round(sa.func.coalesce(changes.c.cost, ServiceOffer.cost) * 100), sa.BigInteger
    )
    contracts = 12 * per_offer.c.monthly_contracts + per_offer.c.yearly_contracts
    return db.session.execute(
        sa.select(
            per_offer.c.currency,
            sa.func.sum(per_offer.c.monthly_price_cents),
            sa.func.sum(per_offer.c.yearly_price_cents),
            sa.func.sum(per_offer.c.options_cents),
            sa.func.sum(contracts * cost),
        )
        .join(ServiceOffer, ServiceOffer.id == per_offer.c.offer_id)
        .outerjoin(changes, changes.c.offer_code == ServiceOffer.code)
        .group_by(per_offer.c.currency)
        # a currency whose running contracts all ended leaves rows of zeros behind
        .having(
            sa.func.sum(
                per_offer.c.monthly_contracts
                + per_offer.c.yearly_contracts
                + sa.func.abs(per_offer.c.options_cents)
            )
            > 0
        )
    ).all()


def revenue(scope: Scope) -> dict:
    """MRR and margin of the running subscriptions, per currency (revenue.revenue): the prices
    from the rollups, the cost each offer has in force now times its running contracts."""
    by_currency = []
    for currency, monthly, yearly, options, yearly_cost in _money_per_currency(scope):
        price = (
            Decimal(options or 0) / 100
            + Decimal(monthly or 0) / 100
            + Decimal(yearly or 0) / 100 / 12
        )
        cost_ = Decimal(yearly_cost or 0) / 100 / 12
        mrr = price.quantize(CENT)
        by_currency.append(
            {"currency": currency, "mrr": mrr, "margin": (mrr - cost_).quantize(CENT)}
        )
    by_currency.sort(key=lambda item: (-item["mrr"], item["currency"]))
    main = (
        by_currency[0]
        if by_currency
        else {
            "currency": "EUR",
            "mrr": Decimal("0.00"),
            "margin": Decimal("0.00"),
        }
    )
    return {
        **{name: main[name] for name in ("mrr", "margin", "currency")},
        "by_currency": by_currency,
    }


# --- support -------------------------------------------------------------------------------------

SUPPORT_SUMS = (
    "requests",
    "responded",
    "response_met",
    "resolved",
    "resolution_met",
    "response_seconds",
    "resolution_seconds",
    "satisfaction_sum",
    "rated",
)


def _support_facts(scope: Scope, periods: list[Period]) -> tuple:
    """The sums of SUPPORT_SUMS over the requests opened in these parts of the range."""
    R = SupportRequest  # noqa: N806
    responded = R.first_response_at.is_not(None)
    resolved = R.resolved_at.is_not(None)
    response = seconds_between(R.created_at, R.first_response_at)
    resolution = seconds_between(R.created_at, R.resolved_at) - R.paused_seconds
    return db.session.execute(
        sa.select(
            sa.func.count(R.id),
            _count_if(responded),
            _count_if(sa.and_(responded, R.response_breached_at.is_(None))),
            _count_if(resolved),
            _count_if(sa.and_(resolved, R.resolution_breached_at.is_(None))),
            sa.func.sum(sa.case((responded, response), else_=0)),
            sa.func.sum(sa.case((resolved, resolution), else_=0)),
            sa.func.sum(R.satisfaction),
            sa.func.count(R.satisfaction),
        )
        .join(Subscription, Subscription.id == R.subscription_id)
        .where(scope.subscriptions.whereclause, _within(R.created_at, periods))
    ).one()


def support_kpis(scope: Scope, period: Period) -> dict:
    """Requests opened in the period: SLA outcomes, averages and satisfaction (kpis.support_kpis)."""
    parts = split(period)
    sums = dict.fromkeys(SUPPORT_SUMS, 0.0)
    if parts.first is not None:
        table = SupportRollup.__table__
        row = db.session.execute(
            sa.select(*[sa.func.sum(table.c[name]) for name in SUPPORT_SUMS]).where(
                *_days(table, parts), *scope.rollup_filter(table)
            )
        ).one()
        for name, value in zip(SUPPORT_SUMS, row, strict=True):
            sums[name] += float(value or 0)
    if parts.edges:
        for name, value in zip(SUPPORT_SUMS, _support_facts(scope, parts.edges), strict=True):
            sums[name] += float(value or 0)
    average = lambda total, count: total / count if count else None  # noqa: E731
    satisfaction = average(sums["satisfaction_sum"], sums["rated"])
    return {
        "requests": int(sums["requests"]),
        "response_within_target_pct": ratio(sums["response_met"], sums["responded"]),
        "resolution_within_target_pct": ratio(sums["resolution_met"], sums["resolved"]),
        "average_response_hours": _hours(average(sums["response_seconds"], sums["responded"])),
        "average_resolution_hours": _hours(average(sums["resolution_seconds"], sums["resolved"])),
        "satisfaction": round(satisfaction, 2) if satisfaction is not None else None,
        "rated": int(sums["rated"]),
    }
