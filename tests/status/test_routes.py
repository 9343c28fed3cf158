"""HTML pages of the status area: notices, a subscription's status page, dashboards and CSV exports,
with who may see what."""

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.status import services as status
from app.status.models import ServiceNotice
from app.status.services import dashboards
from tests.conftest import login
from tests.status import test_services as shared
from tests.status.test_services import NOW, inbox_subjects, usage_rows

world = shared.world  # the shared scenario fixture


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture
def as_user(app):
    def factory(user):
        return login(app.test_client(), user)

    return factory


# --- notices -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    ["admin", "catalog_manager", "product_manager", "support_agent", "consumer", "other_consumer"],
)
def test_every_signed_in_user_reads_the_notices_page(world, client_as, role):
    response = client_as(role).get("/status/notices")
    assert response.status_code == 200
    assert b"Service status" in response.data


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    for path in (
        "/status/notices",
        "/status/dashboard",
        f"/status/subscriptions/{world['finance'].id}",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_product_manager_posts_a_notice_and_subscribers_are_told(world, client_as, users):
    manager = client_as("product_manager")
    page = manager.get("/status/notices")
    assert b"Post a notice" in page.data
    response = manager.post(
        "/status/notices",
        data={
            "product_id": world["product"].id,
            "kind": "maintenance",
            "title": "Gateway patch ✓",
            "message": "A short interruption.",
            "starts_at": "2026-11-25T22:00",
            "ends_at": "2026-11-25T23:00",
        },
    )
    assert response.status_code == 302
    notice = db.session.scalar(sa.select(ServiceNotice))
    assert notice.title == "Gateway patch ✓" and notice.kind == "maintenance"
    assert "Planned maintenance: Remote Access" in inbox_subjects(users["consumer"])
    consumer_page = client_as("consumer").get("/status/notices")
    assert "Gateway patch ✓" in consumer_page.get_data(as_text=True)
    assert b"Post a notice" not in consumer_page.data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"starts_at": "next tuesday"}, "Enter a date as YYYY-MM-DD."),
        ({"starts_at": "99999-01-01T00:00"}, "Enter a date as YYYY-MM-DD."),
        ({"ends_at": "2026-11-24T00:00"}, "The end must come after the start."),
        ({"title": ""}, "This field is required."),
        ({"kind": "meteor"}, "Choose a kind"),
        ({"product_id": "abc"}, "Choose a digital product."),
    ],
)
def test_bad_notice_input_shows_field_errors_and_saves_nothing(world, client_as, data, message):
    form = {
        "product_id": world["product"].id,
        "kind": "outage",
        "title": "Down",
        "message": "",
        "starts_at": "2026-11-25T22:00",
        "ends_at": "",
        **data,
    }
    response = client_as("product_manager").post("/status/notices", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ServiceNotice.id))) == 0


@pytest.mark.parametrize("role", ["consumer", "support_agent", "catalog_manager", "admin"])
def test_others_may_not_post_notices(world, client_as, role):
    response = client_as(role).post(
        "/status/notices",
        data={
            "product_id": world["product"].id,
            "kind": "outage",
            "title": "x",
            "starts_at": "2026-11-25T22:00",
        },
    )
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(ServiceNotice.id))) == 0


def test_update_and_resolve_through_the_page(world, client_as, users, agents):
    notice = status.post_notice(
        users["product_manager"],
        product_id=world["product"].id,
        kind="outage",
        title="Gateway down",
        message="",
        starts_at=NOW - timedelta(hours=1),
    )
    tier2 = login(client_as("consumer").application.test_client(), agents[2])
    prefix = f"n{notice.id}-"
    bad = tier2.post(
        f"/status/notices/{notice.id}/update",
        data={prefix + "message": "", prefix + "post": "Post update"},
    )
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)
    wrong_end = tier2.post(
        f"/status/notices/{notice.id}/update",
        data={
            prefix + "message": "Fixed",
            prefix + "ends_at": "garbage",
            prefix + "resolve": "Resolve",
        },
    )
    assert wrong_end.status_code == 422 and "Enter a date" in wrong_end.get_data(as_text=True)
    ok = tier2.post(
        f"/status/notices/{notice.id}/update",
        data={prefix + "message": "Rerouted", prefix + "post": "Post update"},
    )
    assert ok.status_code == 302
    done = tier2.post(
        f"/status/notices/{notice.id}/update",
        data={prefix + "message": "Fixed", prefix + "resolve": "Resolve"},
    )
    assert done.status_code == 302
    stored = db.session.get(ServiceNotice, notice.id)
    assert stored.resolved_at is not None and [u.message for u in stored.updates] == [
        "Rerouted",
        "Fixed",
    ]
    assert "Resolved: Gateway down" in inbox_subjects(users["consumer"])
    tier1 = client_as("support_agent").post(
        f"/status/notices/{notice.id}/update", data={prefix + "message": "x"}
    )
    assert tier1.status_code == 403
    assert (
        client_as("product_manager")
        .post("/status/notices/424242/update", data={"n424242-message": "x"})
        .status_code
        == 404
    )
    history = client_as("consumer").get("/status/notices?all=1").get_data(as_text=True)
    assert "Gateway down" in history and "resolved" in history


# --- the status page -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("consumer", 200),
        ("other_consumer", 404),
        ("product_manager", 200),
        ("support_agent", 200),
        ("catalog_manager", 200),
        ("admin", 404),
    ],
)
def test_status_page_permission_matrix(world, client_as, role, expected):
    assert (
        client_as(role).get(f"/status/subscriptions/{world['finance'].id}").status_code == expected
    )


def test_status_page_shows_usage_kpis_notices_and_warnings(world, client_as, users):
    sub = world["finance"]
    status.record_usage(
        world["feeder"],
        usage_rows(sub.id, "gb_transferred", 20, start=NOW - timedelta(days=19), per_day=4),
    )
    status.post_notice(
        users["product_manager"],
        product_id=world["product"].id,
        kind="maintenance",
        title="Gateway patch",
        message="",
        starts_at=NOW + timedelta(days=2),
    )
    response = client_as("consumer").get(f"/status/subscriptions/{sub.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Status of VPN access" in html
    assert '<svg class="chart' in html and '<title id="usage-gb-transferred-title">' in html
    assert "Data transferred" in html and "monthly quota 100" in html
    assert "Data transferred will reach its monthly quota of 100 GB" in html
    assert "Planned maintenance on 2026-11-22" in html and "Gateway patch" in html
    assert 'data-testid="kpi-availability">100%' in html
    assert 'data-testid="kpi-response">no data' in html
    assert "Fulfillment timeline" in html and "Approve access" in html
    assert "style=" not in html and "<script>" not in html
    other = (
        client_as("other_consumer")
        .get(f"/status/subscriptions/{world['engineering'].id}")
        .get_data(as_text=True)
    )
    assert "Gateway patch" in other and "will reach its quota" not in other


@pytest.mark.parametrize(
    ("query", "field_error"),
    [
        ("from=2026-11-10&to=2026-11-01", "The end of the range must come after its start."),
        ("from=nonsense", "Enter a date as YYYY-MM-DD."),
        ("to=9999-12-31", "Enter a date between"),
        ("from=2001-01-01&to=2026-01-01", "at most three years"),
    ],
)
def test_status_page_bad_range_is_a_field_error_not_a_500(world, client_as, query, field_error):
    response = client_as("consumer").get(f"/status/subscriptions/{world['finance'].id}?{query}")
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)


def test_status_page_of_an_unknown_subscription_is_404(world, client_as):
    assert client_as("consumer").get("/status/subscriptions/987654").status_code == 404


def test_usage_csv_of_the_status_page(world, client_as):
    sub = world["finance"]
    status.record_usage(
        world["feeder"],
        usage_rows(sub.id, "api_calls", 2, start=NOW - timedelta(days=2), per_day=7),
    )
    response = client_as("consumer").get(f"/status/subscriptions/{sub.id}/usage.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert rows_of(response) == [
        ["Metric", "Day", "Quantity"],
        ["api_calls", "2026-11-18", "7.0"],
        ["api_calls", "2026-11-19", "7.0"],
    ]
    assert (
        client_as("other_consumer").get(f"/status/subscriptions/{sub.id}/usage.csv").status_code
        == 404
    )


# --- dashboards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("product_manager", 200),
        ("catalog_manager", 200),
        ("support_agent", 200),
        ("consumer", 200),
        ("admin", 403),
    ],
)
def test_dashboard_permission_matrix(world, client_as, role, expected):
    assert client_as(role).get("/status/dashboard").status_code == expected


def test_a_consumer_sees_its_groups_figures_only_and_no_revenue(world, client_as):
    status.record_usage(
        world["feeder"],
        usage_rows(world["finance"].id, "gb_transferred", 2, start=NOW - timedelta(days=3)),
    )
    status.record_usage(
        world["feeder"],
        usage_rows(
            world["engineering"].id,
            "gb_transferred",
            2,
            start=NOW - timedelta(days=3),
            per_day=1000,
        ),
    )
    consumer = client_as("consumer").get("/status/dashboard").get_data(as_text=True)
    assert 'data-testid="kpi-active">1<' in consumer
    assert "kpi-mrr" not in consumer and "per offer" not in consumer
    assert f"/status/subscriptions/{world['finance'].id}" in consumer
    assert f"/status/subscriptions/{world['engineering'].id}" not in consumer
    assert (
        client_as("consumer")
        .get("/status/dashboard/usage.csv")
        .get_data(as_text=True)
        .splitlines()[1]
        == "gb_transferred,Data transferred,20.0,GB"
    )
    manager = client_as("product_manager").get("/status/dashboard").get_data(as_text=True)
    assert 'data-testid="kpi-active">2<' in manager and 'data-testid="kpi-mrr">15.00 EUR' in manager
    assert (
        client_as("product_manager")
        .get("/status/dashboard/usage.csv")
        .get_data(as_text=True)
        .splitlines()[1]
        == "gb_transferred,Data transferred,2020.0,GB"
    )


def test_dashboard_filters_by_product_and_offer(world, client_as, users, agents):
    from tests.status.test_services import fulfil

    fulfil(users["consumer"], agents[1], world["wiki"], "wiki")
    manager = client_as("product_manager")
    by_product = manager.get(f"/status/dashboard?product={world['other_product'].id}").get_data(
        as_text=True
    )
    assert (
        'data-testid="kpi-active">1<' in by_product
        and 'data-testid="kpi-mrr">20.00 EUR' in by_product
    )
    assert 'value="TEAM-WIKI"' in by_product.split('id="offer"')[1].split("</select>")[0]
    assert "VPN-ACCESS" not in by_product.split('id="offer"')[1].split("</select>")[0]
    by_offer = manager.get("/status/dashboard?offer=VPN-ACCESS").get_data(as_text=True)
    assert 'data-testid="kpi-active">2<' in by_offer
    offers_csv = rows_of(manager.get(f"/status/dashboard/offers.csv?product={world['product'].id}"))
    assert offers_csv == [
        ["Offer code", "Name", "New orders in range", "Active subscriptions"],
        ["VPN-ACCESS", "VPN access", "2", "2"],
    ]


def offer_table_of(html: str) -> str:
    return html.split('data-testid="table-offers"')[1].split("</table>")[0]


def test_dashboard_pages_the_offer_table_and_exports_every_offer(world, client_as, monkeypatch):
    monkeypatch.setattr(dashboards, "OFFERS_PER_PAGE", 1)
    manager = client_as("product_manager")
    first = manager.get("/status/dashboard").get_data(as_text=True)
    assert "VPN-ACCESS" in offer_table_of(first) and "TEAM-WIKI" not in offer_table_of(first)
    assert "Page 1 of 2 (2 in all)" in first
    assert 'href="/status/dashboard?page=2#table-offers" rel="next"' in first
    second = manager.get("/status/dashboard?page=2").get_data(as_text=True)
    assert "TEAM-WIKI" in offer_table_of(second) and "VPN-ACCESS" not in offer_table_of(second)
    assert [row[0] for row in rows_of(manager.get("/status/dashboard/offers.csv?page=2"))] == [
        "Offer code",
        "VPN-ACCESS",
        "TEAM-WIKI",
    ]
    for junk in ("-3", "abc", "99999999999999999999"):
        assert manager.get(f"/status/dashboard?page={junk}").status_code == 200


def test_offer_filter_asks_for_a_product_when_offers_are_too_many(world, client_as, monkeypatch):
    monkeypatch.setattr(dashboards, "OFFER_CHOICE_LIMIT", 1)
    manager = client_as("product_manager")
    html = manager.get("/status/dashboard").get_data(as_text=True)
    offer_select = html.split('id="offer"')[1].split("</select>")[0]
    assert "VPN-ACCESS" not in offer_select and "TEAM-WIKI" not in offer_select
    assert "Choose a product and press Show to list its offers." in html
    chosen = manager.get("/status/dashboard?offer=VPN-ACCESS").get_data(as_text=True)
    assert (
        '<option selected value="VPN-ACCESS">'
        in chosen.split('id="offer"')[1].split("</select>")[0]
    )
    assert 'data-testid="kpi-active">2<' in chosen


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "Enter a date as YYYY-MM-DD."),
        ("from=2026-11-10&to=2026-11-01", "must come after its start"),
        ("product=abc", "Choose a product from the list."),
        ("offer=" + "X" * 300, "Choose an offer from the list."),
    ],
)
def test_dashboard_bad_filters_are_field_errors(world, client_as, query, message):
    response = client_as("product_manager").get(f"/status/dashboard?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_dashboard_unknown_product_is_404(world, client_as):
    assert client_as("product_manager").get("/status/dashboard?product=987654").status_code == 404


@pytest.mark.parametrize(
    "table", ["summary", "months", "usage", "velocity", "distribution", "offers"]
)
def test_every_dashboard_table_downloads_as_csv(world, client_as, table):
    response = client_as("product_manager").get(
        f"/status/dashboard/{table}.csv?from=2026-10-01&to=2026-11-20"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="dashboard-{table}-20261001-20261121'
    )
    header = rows_of(response)[0]
    assert header and all(header)


def test_csv_contents_match_the_page(world, client_as):
    manager = client_as("product_manager")
    months = rows_of(manager.get("/status/dashboard/months.csv?from=2026-10-01&to=2026-11-20"))
    assert months == [
        ["Month", "New", "Terminated", "Active at month end"],
        ["2026-10", "2", "0", "2"],
        ["2026-11", "0", "0", "2"],
    ]
    summary = {
        row[0]: row[1]
        for row in rows_of(
            manager.get("/status/dashboard/summary.csv?from=2026-10-01&to=2026-11-20")
        )[1:]
    }
    assert summary["Monthly recurring revenue (EUR)"] == "15.00"
    assert summary["Fulfillment within target"] == "100.0"
    assert summary["Satisfaction (1–5)"] == ""  # no data is an empty cell, never 0
    velocity = rows_of(manager.get("/status/dashboard/velocity.csv?from=2026-10-01&to=2026-11-20"))
    assert velocity == [["Week starting", "Items done"], ["2026-10-26", "2"]]


def test_csv_exports_refuse_what_the_page_refuses(world, client_as):
    consumer = client_as("consumer")
    assert consumer.get("/status/dashboard/offers.csv").status_code == 404  # managers only
    assert consumer.get("/status/dashboard/secrets.csv").status_code == 404
    bad = consumer.get(
        "/status/dashboard/months.csv?from=garbage", headers={"Referer": "/status/dashboard"}
    )
    assert bad.status_code == 302 and bad.mimetype != "text/csv"
    assert client_as("admin").get("/status/dashboard/months.csv").status_code == 403


def test_navigation_links_to_the_dashboard_for_product_managers(world, client_as):
    html = client_as("product_manager").get("/status/notices").get_data(as_text=True)
    assert 'href="/status/dashboard"' in html
    clock.freeze(None)
