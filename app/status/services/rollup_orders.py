"""Fulfillment and the flow metrics from the order rollups: completed orders for whole days
from `order_rollups` (per order type, day and flow time in hundredths of an hour), the rest of
the range (today, a partial first day) and the support requests from the facts, in the shape
of kpis.fulfillment_kpis and flow.flow_metrics.

The flow time percentiles are nearest-rank over those hundredths: rounding keeps the order of
the items, so the k-th bucket is the k-th item's flow time rounded as the dashboard shows it
(the facts round in Python, the buckets in SQL; the two can differ by 0.01 h only for a flow
time of an odd multiple of 18 seconds, exactly halfway)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from ...extensions import db
from ...subscriptions.models import Order, OrderType
from ...support.models import SupportRequest
from ..models import OrderRollup
from ..sqltime import seconds_between, week_of
from .flow import _among, _load, flow_figures
from .kpis import _hours, ratio
from .periods import Period
from .rollup_facts import flow_bucket, order_measures
from .rollup_reads import _days, _within, split
from .scopes import Scope

NEW = OrderType.NEW.value


def _week(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


def _rolled(scope: Scope, parts) -> list[tuple]:
    """(kind, week, bucket, done, flow seconds, active seconds, with target, within target)
    of the whole days, from the rollups."""
    table = OrderRollup.__table__
    rows = db.session.execute(
        sa.select(
            table.c.order_type,
            table.c.day,
            table.c.flow_bucket,
            *[
                sa.func.sum(table.c[name])
                for name in ("done", "lead_seconds", "active_seconds", "with_target")
            ],
            sa.func.sum(table.c.within_target),
        )
        .where(*_days(table, parts), *scope.rollup_filter(table))
        .group_by(table.c.order_type, table.c.day, table.c.flow_bucket)
    ).all()
    return [(kind, _week(day), *rest) for kind, day, *rest in rows]


def _edge_orders(scope: Scope, edges: list[Period]) -> list[tuple]:
    """The same figures for the orders completed in the edges, from the facts."""
    O = Order  # noqa: N806, E741
    lead, target, active = order_measures()
    week, bucket = week_of(O.completed_at), flow_bucket(lead)
    return db.session.execute(
        sa.select(
            O.order_type,
            week,
            bucket,
            sa.func.count(),
            sa.func.sum(lead),
            sa.func.sum(sa.func.coalesce(active, 0)),
            sa.func.sum(sa.case((target.is_not(None), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(target.is_not(None), lead <= target * 3600), 1), else_=0)),
        )
        .where(_among(O.id, scope.orders), _within(O.completed_at, edges))
        .group_by(O.order_type, week, bucket)
    ).all()


def _requests_done(scope: Scope, period: Period) -> list[tuple]:
    """Support requests done in the period, from the facts (there are few of them)."""
    R = SupportRequest  # noqa: N806
    done_at = sa.func.coalesce(R.resolved_at, R.closed_at)
    flow = seconds_between(R.created_at, done_at)
    week, bucket = week_of(done_at), flow_bucket(flow)
    return db.session.execute(
        sa.select(
            sa.literal("support"),
            week,
            bucket,
            sa.func.count(),
            sa.func.sum(flow),
            sa.func.sum(flow - R.paused_seconds),
            sa.literal(0),
            sa.literal(0),
        )
        .where(_among(R.id, scope.requests), _within(done_at, [period]))
        .group_by(week, bucket)
    ).all()


def _percentiles(histogram: dict[int, int], total: int, fractions) -> list[float | None]:
    """Nearest-rank percentiles (flow._percentile_hours) over the buckets."""
    if total == 0:
        return [None] * len(fractions)
    ranks = [max(1, -(-int(round(fraction * total * 1000)) // 1000)) for fraction in fractions]
    found, seen = {}, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        for rank in ranks:
            if rank not in found and rank <= seen:
                found[rank] = round(bucket / 100, 2)
    return [found.get(rank) for rank in ranks]


def order_figures(scope: Scope, period: Period) -> tuple[dict, dict]:
    """The dashboard's fulfillment and flow figures."""
    parts = split(period)
    rows = [
        *(_rolled(scope, parts) if parts.first is not None else []),
        *(_edge_orders(scope, parts.edges) if parts.edges else []),
        *_requests_done(scope, period),
    ]
    velocity: dict[str, int] = defaultdict(int)
    distribution: dict[str, int] = defaultdict(int)
    histogram: dict[int, int] = defaultdict(int)
    new = {"done": 0, "lead": 0.0, "with": 0, "within": 0}
    active_sum = flow_sum = 0.0
    for kind, week, bucket, done, flow, active, with_target, within in rows:
        done = int(done or 0)
        velocity[week] += done
        distribution[kind] += done
        histogram[int(bucket)] += done
        active_sum += float(active or 0)
        flow_sum += float(flow or 0)
        if kind == NEW:
            new["done"] += done
            new["lead"] += float(flow or 0)
            new["with"] += int(with_target or 0)
            new["within"] += int(within or 0)
    total = sum(distribution.values())
    median, p85 = _percentiles(histogram, total, (0.5, 0.85))
    load = _load(scope.orders, scope.requests)
    fulfillment = {
        "orders": new["done"],
        "average_lead_hours": _hours(new["lead"] / new["done"]) if new["done"] else None,
        "within_target_pct": ratio(new["within"], new["with"]),
    }
    flow = flow_figures(velocity, distribution, active_sum, flow_sum, (median, p85), load)
    return fulfillment, flow
