"""What the status page and the dashboard must not make up (issue 15, item 9): figures only over
the time a subscription existed, no usage line before it, a month-to-date line that starts again
instead of dropping to 0, last month's quota breach shown, levels (gauges) as peaks, never sums,
and "no data" where nothing was recorded.

The shared world: Finance and Engineering subscribed to VPN-ACCESS on 2026-10-26 at 12:00 (NOW
minus 25 days); Finance has a data quota of 100 GB a month; the clock stands at 2026-11-20 12:00.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.status import services as status
from app.status.models import UsageMetric
from tests.status import test_services as shared
from tests.status.test_services import NOW, fulfil, usage_rows

world = shared.world

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
OCT_26 = datetime(2026, 10, 26, tzinfo=UTC)


def page(client, subscription_id: int, query: str = "") -> str:
    response = client.get(f"/status/subscriptions/{subscription_id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def usage_figure(html: str, metric: str) -> str:
    """The usage figure (caption, chart and table) of one metric."""
    match = re.search(
        rf'<figure class="card usage-metric" aria-labelledby="usage-{metric}-caption">(.*?)</figure>',
        html,
        re.S,
    )
    assert match, f"no usage figure for {metric}"
    return match.group(1)


def test_a_consumers_dashboard_has_no_availability_before_their_first_subscription(
    world, users, agents, make_user
):
    newcomer = make_user("consumer", groups=("Newcomers",))
    fulfil(newcomer, agents[1], world["vpn"], "newcomer-vpn")  # ordered and active today
    october = status.month_period(2026, 10)
    assert status.dashboard(newcomer, october)["availability_pct"] is None
    # Finance's VPN ran from 26 October: its October is measured, and was all up.
    assert status.dashboard(users["consumer"], october)["availability_pct"] == 100.0


def test_the_status_page_says_over_which_time_its_kpis_were_measured(world, client_as):
    html = page(client_as("consumer"), world["finance"].id, "?from=2026-10-01&to=2026-10-31")
    assert (
        'data-testid="kpi-measured">Measured while the subscription was running: '
        "2026-10-26 12:00 UTC to 2026-11-01 00:00 UTC." in html
    )
    before = page(client_as("consumer"), world["finance"].id, "?from=2026-09-01&to=2026-09-30")
    assert 'data-testid="kpi-availability">no data' in before
    assert "The subscription was not running in this range, so there is nothing to measure." in (
        before
    )


def test_no_usage_line_is_drawn_for_the_days_before_the_subscription_existed(world, client_as):
    sub = world["finance"]
    status.record_usage(
        world["feeder"], usage_rows(sub.id, "gb_transferred", 3, start=OCT_26, per_day=2)
    )
    figure = usage_figure(
        page(client_as("consumer"), sub.id, "?from=2026-10-20&to=2026-10-31"), "gb_transferred"
    )
    assert "Month to date, 2026-10-26: 2</title>" in figure
    assert "Month to date, 2026-10-31: 6</title>" in figure
    assert "2026-10-25" not in figure and "2026-10-20" not in figure


def test_the_month_to_date_line_starts_again_on_the_first_instead_of_dropping_to_zero(
    world, client_as
):
    sub = world["finance"]
    status.record_usage(
        world["feeder"], usage_rows(sub.id, "gb_transferred", 10, start=OCT_26, per_day=3)
    )  # 26 October to 4 November
    figure = usage_figure(
        page(client_as("consumer"), sub.id, "?from=2026-10-26&to=2026-11-04"), "gb_transferred"
    )
    lines = re.findall(r'<polyline class="series-0" points="([^"]+)"', figure)
    assert [len(points.split()) for points in lines] == [
        6,
        4,
    ]  # October's six days, then November's
    assert "2026-11-01: a new month: the quota starts again</title>" in figure
    assert "Month to date, 2026-10-31: 18</title>" in figure
    assert "Month to date, 2026-11-01: 3</title>" in figure


def test_last_months_quota_breach_is_shown_as_a_warning(world, users, client_as):
    sub = world["finance"]
    status.record_usage(
        world["feeder"], usage_rows(sub.id, "gb_transferred", 6, start=OCT_26, per_day=12.93)
    )  # 77.58 GB in October against the quota of 100 GB: within it
    assert status.subscription_status(users["consumer"], sub.id)["warnings"] == []
    status.record_usage(
        world["feeder"], usage_rows(sub.id, "gb_transferred", 6, start=OCT_26, per_day=17.93)
    )  # 107.58 GB in October
    warnings = status.subscription_status(users["consumer"], sub.id)["warnings"]
    assert [(w["kind"], w["month"], w["used"], w["quota"]) for w in warnings] == [
        ("quota_exceeded", "2026-10", pytest.approx(107.58), 100.0)
    ]
    html = page(client_as("consumer"), sub.id)
    assert (
        '<span class="tag danger">Over quota</span> In October 2026, Data transferred was '
        "107.58 GB, over the monthly quota of 100 GB." in html
    )


def gauge_readings(subscription_id: int, day: datetime, values: list[float]) -> list[dict]:
    """Hourly readings of active users on one day."""
    return [
        {
            "subscription_id": subscription_id,
            "metric": "active_users",
            "quantity": value,
            "period_start": (day + timedelta(hours=hour)).isoformat(),
            "period_end": (day + timedelta(hours=hour + 1)).isoformat(),
        }
        for hour, value in enumerate(values)
    ]


@pytest.fixture
def active_users(world):
    db.session.add(
        UsageMetric(key="active_users", label="Active users", unit="users", kind="gauge")
    )
    db.session.flush()
    finance, engineering = world["finance"].id, world["engineering"].id
    status.record_usage(
        world["feeder"],
        [
            *gauge_readings(finance, NOV_1, [2, 5, 3]),
            *gauge_readings(finance, NOV_1 + timedelta(days=1), [4]),
            *gauge_readings(engineering, NOV_1, [2, 1]),
        ],
    )


def test_a_level_is_shown_as_its_peak_never_as_a_sum(world, active_users, client_as):
    figure = usage_figure(
        page(client_as("consumer"), world["finance"].id, "?from=2026-11-01&to=2026-11-20"),
        "active_users",
    )
    assert (
        "highest reading 5 in this range (a level: the peak, not a sum; "
        "average of the daily peaks 4.5)" in figure
    )
    assert "Daily peak, 2026-11-01: 5</title>" in figure
    assert "Daily peak, 2026-11-02: 4</title>" in figure
    assert "2026-11-03" not in figure  # no reading that day: no made-up 0


def test_the_dashboard_adds_levels_across_subscriptions_but_not_over_time(
    world, active_users, users
):
    november = status.Period(NOV_1, NOW)
    # 1 November: Finance's peak 5 and Engineering's 2 at the same time → 7 at most; 2 November: 4.
    assert status.dashboard(users["product_manager"], november)["usage"] == {"active_users": 7.0}
    assert status.dashboard(users["consumer"], november)["usage"] == {"active_users": 5.0}


def test_a_quota_without_usage_says_no_data_instead_of_drawing_zero(world, client_as):
    figure = usage_figure(page(client_as("consumer"), world["finance"].id), "gb_transferred")
    assert "no data in this range" in figure
    assert '<p class="chart-empty">No usage recorded in this range.</p>' in figure
    assert "<polyline" not in figure
