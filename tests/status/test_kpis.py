"""KPIs on a fixed scenario with a frozen clock; every expected figure is worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.catalog import services as catalog
from app.errors import NotAllowed, ValidationFailed
from app.extensions import db
from app.status import services as status
from app.status.models import UsageMetric
from app.subscriptions import services as subs
from app.support import services as support
from tests.conftest import module_world


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@module_world
def product(users):
    return catalog.save_product(users["product_manager"], name="Remote Access")


@module_world
def vpn(make_offer, product):
    return make_offer("VPN-ACCESS", product_id=product.id)


def order_and_fulfil(consumer, agent, offer, ordered: datetime, hours: float, key: str):
    clock.freeze(ordered)
    order, _ = subs.subscribe(
        consumer, offer.id, options={}, accept_terms=True, idempotency_key=key
    )
    manual = next(task for task in order.tasks if task.mode == "manual")
    clock.freeze(ordered + timedelta(hours=hours) - timedelta(hours=1))
    subs.transition_task(agent, manual.id, "start")
    clock.freeze(ordered + timedelta(hours=hours))
    subs.transition_task(agent, manual.id, "complete")
    return order


def test_three_orders_two_within_24h_target_is_66_7_percent(vpn, users, agents):
    # Lead times 10 h, 20 h and 30 h against the offer's 24 h target: 2 of 3 → 66.7 %.
    for number, hours in enumerate((10, 20, 30)):
        order_and_fulfil(users["consumer"], agents[1], vpn, at(2 + number, 9), hours, f"k{number}")
    clock.freeze(at(20))
    figures = status.fulfillment_kpis(
        sa.select(sa.literal_column("id")).select_from(sa.table("orders")),
        status.month_period(2026, 11),
    )
    assert figures == {"orders": 3, "average_lead_hours": 20.0, "within_target_pct": 66.7}


def test_72_minutes_of_outage_in_a_30_day_month_is_99_833_percent(product, users):
    clock.freeze(at(10, 9))
    notice = status.post_notice(
        users["product_manager"],
        product_id=product.id,
        kind="outage",
        title="Gateway down",
        message="Investigating",
        starts_at=at(10, 9),
        ends_at=None,
    )
    clock.freeze(at(10, 10, 12))
    status.update_notice(users["product_manager"], notice.id, message="Fixed", resolve=True)
    clock.freeze(at(30, 12))
    # 72 minutes out of 30 × 24 × 60 = 43,200 minutes: 1 − 72/43200 = 0.998333… → 99.833 %.
    assert status.outage_minutes([product.id], status.month_period(2026, 11)) == pytest.approx(72)
    assert status.availability([product.id], status.month_period(2026, 11)) == 99.833


def test_outage_clipped_to_the_period_and_maintenance_not_counted(product, users):
    clock.freeze(at(1))
    status.post_notice(
        users["product_manager"],
        product_id=product.id,
        kind="outage",
        title="Overnight",
        message="",
        starts_at=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        ends_at=at(1, 1),
    )
    status.post_notice(
        users["product_manager"],
        product_id=product.id,
        kind="maintenance",
        title="Patch",
        message="",
        starts_at=at(5, 1),
        ends_at=at(5, 3),
    )
    # Only the hour inside November counts: 1 − 60/43200 = 99.861 %.
    assert status.availability([product.id], status.month_period(2026, 11)) == 99.861


def test_a_period_with_no_data_says_no_data(product, users):
    period = status.month_period(2026, 11)
    assert status.fulfillment_kpis(sa.select(sa.literal(-1)), period)["within_target_pct"] is None
    support_figures = status.support_kpis(sa.select(sa.literal(-1)), period)
    assert (
        support_figures["response_within_target_pct"] is None
        and support_figures["satisfaction"] is None
    )
    assert (
        status.flow_metrics(sa.select(sa.literal(-1)), sa.select(sa.literal(-1)), period)[
            "flow_time_median_hours"
        ]
        is None
    )


def test_flow_metrics_over_orders_and_requests(vpn, users, agents):
    # Orders with flow times 10 h, 20 h, 30 h (each 1 h of worked task time) and one support
    # request resolved after 4 h with 1 h paused.
    for number, hours in enumerate((10, 20, 30)):
        order_and_fulfil(users["consumer"], agents[1], vpn, at(2 + number, 9), hours, f"k{number}")
    subscription_id = db.session.scalars(
        sa.select(sa.literal_column("id")).select_from(sa.table("subscriptions"))
    ).first()
    clock.freeze(at(9, 9))  # Monday
    request = support.open_request(
        users["consumer"],
        subscription_id,
        request_type="question",
        priority="low",
        subject="Q",
        description="?",
    )
    clock.freeze(at(9, 10))
    support.transition_request(agents[1], request.id, "waiting_on_consumer", reason="More?")
    clock.freeze(at(9, 11))
    support.add_message(users["consumer"], request.id, "Here")
    clock.freeze(at(9, 13))
    support.transition_request(agents[1], request.id, "resolved", reason="Done")
    clock.freeze(at(20))
    all_orders = sa.select(sa.literal_column("id")).select_from(sa.table("orders"))
    all_requests = sa.select(sa.literal_column("id")).select_from(sa.table("support_requests"))
    flow = status.flow_metrics(all_orders, all_requests, status.month_period(2026, 11))
    # Flow times 4, 10, 20, 30 h: median (nearest rank, 2nd of 4) 10 h; 85th percentile (4th of 4) 30 h.
    assert flow["flow_time_median_hours"] == 10.0 and flow["flow_time_p85_hours"] == 30.0
    assert flow["done"] == 4 and flow["distribution_pct"] == {"new": 75.0, "support": 25.0}
    # Active time: 1 h per order (task started 1 h before completion) + 3 h for the request (4 h − 1 h paused)
    # = 6 h of 64 h of flow time → 9.4 %.
    assert flow["efficiency_pct"] == 9.4
    # Done per ISO week (weeks start on Monday): Nov 2 (3 orders) and Nov 9 (the request).
    assert flow["velocity_per_week"] == [
        {"week": "2026-11-02", "done": 3},
        {"week": "2026-11-09", "done": 1},
    ]
    assert flow["load_now"] == 0


def test_usage_batch_keeps_good_rows_and_reports_bad_ones_by_index(
    active_subscription, users, make_user
):
    db.session.add(UsageMetric(key="gb_transferred", label="Data transferred", unit="GB"))
    db.session.commit()
    feeder = make_user("admin")
    rows = [
        {
            "subscription_id": active_subscription.id,
            "metric": "gb_transferred",
            "quantity": 3,
            "period_start": "2026-11-01",
            "period_end": "2026-11-02",
        },
        {
            "subscription_id": active_subscription.id,
            "metric": "gb_transferred",
            "quantity": -1,
            "period_start": "2026-11-02",
            "period_end": "2026-11-03",
        },
        {
            "subscription_id": active_subscription.id,
            "metric": "unknown",
            "quantity": 1,
            "period_start": "2026-11-02",
            "period_end": "2026-11-03",
        },
        {
            "subscription_id": active_subscription.id,
            "metric": "gb_transferred",
            "quantity": 1,
            "period_start": "2026-11-03",
            "period_end": "2026-11-02",
        },
        {
            "subscription_id": 999999,
            "metric": "gb_transferred",
            "quantity": 1,
            "period_start": "2026-11-02",
            "period_end": "2026-11-03",
        },
    ]
    result = status.record_usage(feeder, rows)
    assert result["stored"] == 1 and sorted(result["errors"]) == ["1", "2", "3", "4"]
    with pytest.raises(ValidationFailed):
        status.record_usage(feeder, rows, atomic=True)
    # Idempotent on (subscription, metric, period): a repeat replaces the quantity.
    status.record_usage(feeder, [dict(rows[0], quantity=5)])
    totals = status.usage_totals(
        sa.select(sa.literal(active_subscription.id)), status.Period(at(1), at(30))
    )
    assert totals == {"gb_transferred": 5.0}


def test_consumers_cannot_feed_other_groups_usage(active_subscription, users):
    db.session.add(UsageMetric(key="gb", label="GB", unit="GB"))
    db.session.commit()
    row = {
        "subscription_id": active_subscription.id,
        "metric": "gb",
        "quantity": 1,
        "period_start": "2026-11-01",
        "period_end": "2026-11-02",
    }
    assert status.record_usage(users["other_consumer"], [row])["stored"] == 0
    assert status.record_usage(users["consumer"], [row])["stored"] == 1


def test_quota_crossing_predicted_from_the_trend():
    # 10 a day from the 1st to the 10th of November: 100 used; a quota of 200 is reached 10 days later.
    series = [(f"2026-11-{day:02d}", 10.0) for day in range(1, 11)]
    assert (
        status.predict_quota_crossing(series, 200, today=datetime(2026, 11, 10).date()).isoformat()
        == "2026-11-20"
    )
    assert (
        status.predict_quota_crossing(series, 10_000, today=datetime(2026, 11, 10).date()) is None
    )
    # 310 would be reached on 1 December, when a monthly quota has started again: no warning.
    assert status.predict_quota_crossing(series, 310, today=datetime(2026, 11, 10).date()) is None
    assert (
        status.predict_quota_crossing(series, 300, today=datetime(2026, 11, 10).date()).isoformat()
        == "2026-11-30"
    )


def test_notices_notify_subscribers_and_only_staff_post(product, users, make_offer, agents):
    offer = make_offer("VPN-ACCESS", product_id=product.id)
    subs.subscribe(users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="n")
    with pytest.raises(NotAllowed):
        status.post_notice(
            agents[1], product_id=product.id, kind="outage", title="x", message="", starts_at=at(1)
        )
    with pytest.raises(ValidationFailed) as caught:
        status.post_notice(
            users["product_manager"],
            product_id=product.id,
            kind="meteor",
            title="",
            message="",
            starts_at=at(2),
            ends_at=at(1),
        )
    assert {"kind", "title", "ends_at"} <= set(caught.value.fields)
    status.post_notice(
        agents[2],
        product_id=product.id,
        kind="maintenance",
        title="Upgrade",
        message="Short",
        starts_at=at(28, 22),
        ends_at=at(28, 23),
    )
    from app.notifications.services import inbox_query

    subjects = [n.subject for n in db.session.scalars(inbox_query(users["consumer"]))]
    assert "Planned maintenance: Remote Access" in subjects


def test_consumer_dashboard_covers_only_their_groups(vpn, users, agents, make_user):
    order_and_fulfil(users["consumer"], agents[1], vpn, at(2, 9), 10, "a")
    engineer = make_user("consumer", groups=("Engineering",))
    order_and_fulfil(engineer, agents[1], vpn, at(3, 9), 10, "b")
    db.session.commit()  # the rollups are written when the facts commit
    clock.freeze(at(20))
    period = status.month_period(2026, 11)
    assert status.dashboard(users["consumer"], period)["subscriptions"]["active_now"] == 1
    assert status.dashboard(users["product_manager"], period)["subscriptions"]["active_now"] == 2
    assert status.dashboard(users["consumer"], period)["revenue"] is None
    revenue = status.dashboard(users["product_manager"], period)["revenue"]
    assert str(revenue["mrr"]) == "15.00" and str(revenue["margin"]) == "9.00"
