"""Each figure of the all-products dashboard timed alone, from the facts and from the rollups,
turn about in one run (so both see the same load), with the CPU time of this process.

    python -m tests.bench.bench_dashboard_parts --database-url sqlite:////tmp/bench.db

The database needs the rollups (`flask db upgrade`, then `flask status rebuild-rollups`).
The viewer is a product manager, the range the last 30 days (the dashboard's default)."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import User, UserRole
from app.extensions import db
from app.status.services import dashboards, kpis, rollup_orders, rollup_reads
from app.status.services.flow import flow_metrics
from app.status.services.periods import parse_period
from app.status.services.revenue import revenue
from app.status.services.scopes import scope_for
from app.status.services.usage import usage_totals

from .bench_pages import _staff
from .common import percentile


def _load() -> list[str]:
    with open("/proc/loadavg") as loadavg:
        return loadavg.read().split()[:3]


def _parts(scope, period, viewer) -> dict[str, tuple]:
    """name: (from the facts, from the rollups); None where a part has one way only."""
    return {
        "subscriptions": (
            lambda: kpis.subscription_counts(scope.subscriptions, period),
            lambda: rollup_reads.subscription_counts(scope, period),
        ),
        "revenue": (lambda: revenue(scope.subscriptions), lambda: rollup_reads.revenue(scope)),
        "usage": (
            lambda: usage_totals(scope.subscriptions, period),
            lambda: rollup_reads.usage_totals(scope, period),
        ),
        "support": (
            lambda: kpis.support_kpis(scope.requests, period),
            lambda: rollup_reads.support_kpis(scope, period),
        ),
        "fulfillment + flow": (
            lambda: (
                kpis.fulfillment_kpis(scope.orders, period),
                flow_metrics(scope.orders, scope.requests, period),
            ),
            lambda: rollup_orders.order_figures(scope, period),
        ),
        "deflection": (lambda: kpis.deflection_rate(scope.subscriptions, period, 0), None),
        "availability": (
            lambda: kpis.availability(
                scope.product_ids, kpis.running_span(scope.subscriptions, period)
            ),
            None,
        ),
        "offer table (all)": (
            lambda: dashboards.offer_table(viewer, period, from_facts=True),
            lambda: dashboards.offer_table(viewer, period),
        ),
        "offer table page": (None, lambda: dashboards.offer_table_page(viewer, period)),
        "whole dashboard": (
            lambda: dashboards.dashboard(viewer, period, from_facts=True),
            lambda: dashboards.dashboard(viewer, period),
        ),
    }


def _time(call, repeat: int) -> tuple[float, float, float]:
    call()  # warm-up
    walls, cpu = [], 0.0
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - started) * 1000)
        cpu += time.process_time() - started_cpu
    return percentile(walls, 0.5), percentile(walls, 0.95), cpu * 1000 / repeat


@click.command()
@click.option("--database-url", required=True)
@click.option("--repeat", default=5, show_default=True)
def main(database_url: str, repeat: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        viewer = db.session.scalar(
            sa.select(User).join(UserRole).where(UserRole.role == "product_manager").limit(1)
        ) or accounts.find_user_by_email(_staff("pm@bench.test", "product_manager"))
        db.session.commit()
        period = parse_period(None, None)
        scope = scope_for(viewer)
        click.echo(f"{db.engine.dialect.name}, load {_load()}")
        click.echo(f"{'part':<20}{'facts p50/p95 (cpu) ms':>28}{'rollups p50/p95 (cpu) ms':>28}")
        for name, ways in _parts(scope, period, viewer).items():
            cells = []
            for way in ways:
                if way is None:
                    cells.append("-")
                    continue
                p50, p95, cpu = _time(way, repeat)
                cells.append(f"{p50:.0f} / {p95:.0f} ({cpu:.0f})")
                db.session.rollback()
            click.echo(f"{name:<20}{cells[0]:>28}{cells[1]:>28}")
        click.echo(f"load {_load()}")


if __name__ == "__main__":
    main()
