"""Status services beyond the hand-worked KPIs: notices and their notifications, who sees and
feeds what, date ranges, the usage feed's per-row errors, the status page's warnings.

The fixtures here (`world`, `fulfil`, `usage_rows`) are shared by the route, API and query tests."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.catalog import services as catalog
from app.errors import NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.notifications.services import inbox_query
from app.status import presenters
from app.status import services as status
from app.status.models import ServiceNotice, UsageMetric, UsageRecord
from app.status.services import dashboards
from app.subscriptions import services as subs
from app.support import services as support
from tests.catalog.conftest import complete_offer_data
from tests.conftest import module_world

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
QUOTA_OPTION = {
    "key": "gb_transferred_quota",
    "label": "Monthly data quota (GB)",
    "type": "number",
    "min": 1,
    "max": 100000,
    "default": 100,
}


def fulfil(consumer, agent, offer, key: str, options: dict | None = None):
    """Order an offer for the consumer's first group and complete its manual step."""
    order, _ = subs.subscribe(
        consumer, offer.id, options=options or {}, accept_terms=True, idempotency_key=key
    )
    for task in order.tasks:
        if task.mode == "manual" and task.status != "done":
            subs.transition_task(agent, task.id, "complete")
    return db.session.get(type(order.subscription), order.subscription_id)


def usage_rows(
    subscription_id: int, metric: str, days: int, *, start: datetime, per_day: float = 10
) -> list[dict]:
    return [
        {
            "subscription_id": subscription_id,
            "metric": metric,
            "quantity": per_day,
            "period_start": (start + timedelta(days=day)).isoformat(),
            "period_end": (start + timedelta(days=day + 1)).isoformat(),
        }
        for day in range(days)
    ]


def inbox_subjects(user) -> list[str]:
    return [notification.subject for notification in db.session.scalars(inbox_query(user))]


@module_world
def world(users, make_offer, agents, make_user):
    """A product with an offer that carries a data quota; Finance and Engineering each subscribe;
    a second product with its own offer; usage metrics; the clock at NOW."""
    clock.freeze(NOW - timedelta(days=25))
    product = catalog.save_product(users["product_manager"], name="Remote Access")
    other_product = catalog.save_product(users["product_manager"], name="Collaboration")
    options = [*complete_offer_data()["options"], QUOTA_OPTION]
    vpn = make_offer("VPN-ACCESS", product_id=product.id, options=options)
    wiki = make_offer(
        "TEAM-WIKI", product_id=other_product.id, name="Team wiki", price="20.00", cost="5.00"
    )
    db.session.add_all(
        [
            UsageMetric(key="gb_transferred", label="Data transferred", unit="GB"),
            UsageMetric(key="api_calls", label="API calls", unit="calls"),
        ]
    )
    db.session.commit()
    finance = fulfil(
        users["consumer"], agents[1], vpn, "finance-vpn", {"gb_transferred_quota": 100}
    )
    engineering = fulfil(users["other_consumer"], agents[1], vpn, "engineering-vpn")
    clock.freeze(NOW)
    feeder = make_user("admin", email="feed@example.test")
    return {
        "product": product,
        "other_product": other_product,
        "vpn": vpn,
        "wiki": wiki,
        "finance": finance,
        "engineering": engineering,
        "feeder": feeder,
        "agents": agents,
        "users": users,
    }


# --- notices ---------------------------------------------------------------------------------


def test_updates_and_resolution_notify_the_products_subscribers_only(world, users, make_user):
    bystander = make_user("consumer", groups=("Sales",))
    manager = users["product_manager"]
    notice = status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="outage",
        title="Gateway down",
        message="Investigating",
        starts_at=NOW - timedelta(minutes=30),
    )
    status.update_notice(
        manager, notice.id, message="Failover in progress", ends_at=NOW + timedelta(hours=1)
    )
    clock.freeze(NOW + timedelta(minutes=45))
    status.update_notice(world["agents"][2], notice.id, message="Back to normal", resolve=True)
    for consumer in (users["consumer"], users["other_consumer"]):
        subjects = inbox_subjects(consumer)
        assert "Outage: Remote Access" in subjects
        assert "Update: Gateway down" in subjects
        assert "Resolved: Gateway down" in subjects
    assert inbox_subjects(bystander) == []
    stored = db.session.get(ServiceNotice, notice.id)
    assert stored.resolved_at == NOW + timedelta(minutes=45) and stored.ends_at == NOW + timedelta(
        minutes=45
    )
    assert [update.message for update in stored.updates] == [
        "Failover in progress",
        "Back to normal",
    ]


def test_a_resolved_notice_takes_no_more_updates_and_cannot_end_in_the_future(world, users):
    manager = users["product_manager"]
    notice = status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="degradation",
        title="Slow",
        message="",
        starts_at=NOW - timedelta(hours=1),
    )
    with pytest.raises(ValidationFailed) as caught:
        status.update_notice(
            manager, notice.id, message="Done", ends_at=NOW + timedelta(hours=2), resolve=True
        )
    assert "ends_at" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        status.update_notice(manager, notice.id, message="Oops", ends_at=NOW - timedelta(hours=3))
    assert caught.value.fields["ends_at"] == ["The end must come after the start."]
    status.update_notice(manager, notice.id, message="Done", resolve=True)
    with pytest.raises(ValidationFailed) as caught:
        status.update_notice(manager, notice.id, message="Again")
    assert caught.value.fields["message"] == ["This notice is resolved."]
    with pytest.raises(ValidationFailed) as caught:
        status.update_notice(manager, notice.id, message="  ")
    assert "message" in caught.value.fields


def test_resolving_maintenance_before_it_starts_cancels_it(world, users):
    manager = users["product_manager"]
    notice = status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="outage",
        title="Planned cut-over",
        message="",
        starts_at=NOW + timedelta(days=2),
        ends_at=NOW + timedelta(days=2, hours=2),
    )
    status.update_notice(manager, notice.id, message="Not needed after all", resolve=True)
    stored = db.session.get(ServiceNotice, notice.id)
    assert stored.resolved_at == NOW and stored.ends_at is None
    assert "Cancelled: Planned cut-over" in inbox_subjects(users["consumer"])
    assert (
        status.outage_minutes([world["product"].id], status.Period(NOW, NOW + timedelta(days=5)))
        == 0
    )


def test_only_product_managers_and_tier_2_agents_post_or_update(world, users):
    for actor in (users["catalog_manager"], users["consumer"], world["agents"][1], users["admin"]):
        assert not status.may_post_notices(actor)
        with pytest.raises(NotAllowed):
            status.post_notice(
                actor,
                product_id=world["product"].id,
                kind="outage",
                title="x",
                message="",
                starts_at=NOW,
            )
    notice = status.post_notice(
        world["agents"][3],
        product_id=world["product"].id,
        kind="maintenance",
        title="Patch",
        message="",
        starts_at=NOW + timedelta(days=1),
    )
    with pytest.raises(NotAllowed):
        status.update_notice(world["agents"][1], notice.id, message="x")
    with pytest.raises(NotFound):
        status.update_notice(users["product_manager"], 999_999, message="x")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"product_id": "²"}, "product_id"),
        ({"product_id": "99999999999999999999"}, "product_id"),
        ({"product_id": None}, "product_id"),
        ({"kind": ["outage"]}, "kind"),
        ({"title": "x" * 201}, "title"),
        ({"title": 12}, "title"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "9999-12-31T23:59"}, "starts_at"),
        ({"starts_at": "2026-13-40"}, "starts_at"),
        ({"starts_at": ""}, "starts_at"),
        ({"ends_at": "2026-11-19T00:00"}, "ends_at"),
        ({"ends_at": "x" * 5000}, "ends_at"),
    ],
)
def test_bad_notice_fields_are_field_errors(world, users, fields, expected):
    data = {
        "product_id": world["product"].id,
        "kind": "maintenance",
        "title": "Ünïcode ✓ upgrade",
        "message": "",
        "starts_at": "2026-11-21T22:00",
        "ends_at": None,
        **fields,
    }
    with pytest.raises(ValidationFailed) as caught:
        status.post_notice(users["product_manager"], **data)
    assert expected in caught.value.fields
    assert db.session.scalar(sa.select(sa.func.count(ServiceNotice.id))) == 0


def test_consumers_see_notices_of_their_subscriptions_products_only(world, users, make_user):
    manager = users["product_manager"]
    status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="maintenance",
        title="VPN patch",
        message="",
        starts_at=NOW + timedelta(days=1),
    )
    status.post_notice(
        manager,
        product_id=world["other_product"].id,
        kind="outage",
        title="Wiki down",
        message="",
        starts_at=NOW - timedelta(hours=1),
    )
    titles = lambda user: [n.title for n in status.list_notices(user)]  # noqa: E731
    assert titles(users["consumer"]) == ["VPN patch"]
    assert sorted(titles(users["product_manager"])) == ["VPN patch", "Wiki down"]
    assert titles(make_user("consumer", groups=("Sales",))) == []
    wiki_notice = db.session.scalar(
        sa.select(ServiceNotice).where(ServiceNotice.title == "Wiki down")
    )
    with pytest.raises(NotFound):
        status.get_notice(users["consumer"], wiki_notice.id)
    assert status.get_notice(users["support_agent"], wiki_notice.id).title == "Wiki down"


# --- KPIs edge cases -------------------------------------------------------------------------------


def test_a_future_open_ended_outage_does_not_reduce_past_outage_minutes(world, users):
    manager = users["product_manager"]
    status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="outage",
        title="Past",
        message="",
        starts_at=NOW - timedelta(hours=3),
        ends_at=NOW - timedelta(hours=2),
    )
    status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="outage",
        title="Announced",
        message="",
        starts_at=NOW + timedelta(hours=5),
    )
    period = status.Period(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert status.outage_minutes([world["product"].id], period) == pytest.approx(60)


def test_availability_over_two_products_is_the_mean_of_theirs(world, users):
    manager = users["product_manager"]
    day = status.Period(NOW - timedelta(days=1), NOW)
    status.post_notice(
        manager,
        product_id=world["product"].id,
        kind="outage",
        title="Down",
        message="",
        starts_at=NOW - timedelta(hours=12),
        ends_at=NOW - timedelta(hours=9, minutes=36),
    )
    # 144 minutes of 1,440 on one product (90 %) and none on the other (100 %) → 95 %.
    assert status.availability([world["product"].id], day) == 90.0
    assert status.availability([world["product"].id, world["other_product"].id], day) == 95.0
    assert status.availability([], day) is None
    # Over every product, the dashboard counts the products with a subscription in its scope.
    assert status.dashboard(manager, day)["availability_pct"] == 90.0  # nobody has the wiki yet
    wiki = world["other_product"].id
    assert status.dashboard(manager, day, product_id=wiki)["availability_pct"] == 100.0
    assert status.dashboard(users["consumer"], day, product_id=wiki)["availability_pct"] is None
    fulfil(users["consumer"], world["agents"][1], world["wiki"], "wiki")
    assert status.dashboard(manager, day)["availability_pct"] == 95.0
    # The consumer's wiki subscription began as the day ended: nothing of the day to measure.
    assert status.dashboard(users["consumer"], day, product_id=wiki)["availability_pct"] is None
    assert (
        status.dashboard(users["consumer"], day, product_id=world["product"].id)["availability_pct"]
        == 90.0
    )
    assert status.dashboard(users["other_consumer"], day)["availability_pct"] == 90.0
    assert (
        status.availability(
            [world["product"].id], status.Period(NOW + timedelta(days=1), NOW + timedelta(days=2))
        )
        is None
    )


def test_revenue_is_kept_apart_per_currency(world, users, agents, make_offer):
    dollars = make_offer(
        "US-SEATS",
        currency="USD",
        price="30.00",
        cost="10.00",
        product_id=world["other_product"].id,
    )
    fulfil(users["consumer"], agents[1], dollars, "usd")
    figures = status.revenue(
        sa.select(sa.literal_column("id")).select_from(sa.table("subscriptions"))
    )
    assert {
        item["currency"]: (str(item["mrr"]), str(item["margin"])) for item in figures["by_currency"]
    } == {"EUR": ("15.00", "9.00"), "USD": ("30.00", "20.00")}
    assert figures["currency"] == "USD" and figures["mrr"] == Decimal("30.00")


def test_revenue_is_decimal_money_per_billing_period(world, users, agents, make_offer):
    """A yearly price counts a twelfth of itself, a one-time price nothing; sums stay Decimal, so
    a twelfth of 3.30 is 0.275 and rounds to 0.28 (through float it was 0.27499… and 0.27)."""
    product_id = world["other_product"].id
    for code, currency, period, price, cost in (
        ("CHF-YEARLY", "CHF", "yearly", "1000.10", "100.00"),
        ("CHF-MONTHLY", "CHF", "monthly", "0.10", "0.00"),
        ("CHF-ONCE", "CHF", "one_time", "500.00", "50.00"),
        ("SEK-YEARLY", "SEK", "yearly", "3.30", "0.00"),
    ):
        offer = make_offer(
            code,
            currency=currency,
            billing_period=period,
            price=price,
            cost=cost,
            product_id=product_id,
        )
        fulfil(users["consumer"], agents[1], offer, code.lower())
    figures = status.revenue(
        sa.select(sa.literal_column("id")).select_from(sa.table("subscriptions"))
    )
    by_currency = {
        item["currency"]: (item["mrr"], item["margin"]) for item in figures["by_currency"]
    }
    # 1000.10 / 12 + 0.10 = 83.4416…; its cost 100.00 / 12 = 8.3333…
    assert by_currency["CHF"] == (Decimal("83.44"), Decimal("75.11"))
    assert by_currency["SEK"] == (Decimal("0.28"), Decimal("0.28"))
    assert all(
        isinstance(value, Decimal) for figures_ in by_currency.values() for value in figures_
    )
    assert (figures["currency"], figures["mrr"]) == ("CHF", Decimal("83.44"))


# --- who sees what ---------------------------------------------------------------------------------


def test_scope_rules_of_the_dashboard(world, users, make_user):
    feeder = world["feeder"]
    status.record_usage(
        feeder, usage_rows(world["finance"].id, "gb_transferred", 3, start=NOW - timedelta(days=5))
    )
    status.record_usage(
        feeder,
        usage_rows(
            world["engineering"].id, "gb_transferred", 2, start=NOW - timedelta(days=5), per_day=100
        ),
    )
    period = status.Period(NOW - timedelta(days=10), NOW)
    assert status.dashboard(users["consumer"], period)["usage"] == {"gb_transferred": 30.0}
    # A consumer's filters narrow its own figures; they never widen them.
    assert status.dashboard(users["consumer"], period, offer_code="VPN-ACCESS")["usage"] == {
        "gb_transferred": 30.0
    }
    assert (
        status.dashboard(users["consumer"], period, product_id=world["other_product"].id)["usage"]
        == {}
    )
    assert status.dashboard(users["product_manager"], period)["usage"] == {"gb_transferred": 230.0}
    assert status.dashboard(users["support_agent"], period)["revenue"] is None
    assert status.dashboard(users["catalog_manager"], period)["revenue"]["mrr"] == Decimal("15.00")
    assert (
        status.dashboard(make_user("consumer", groups=("Sales",)), period)["subscriptions"][
            "active_now"
        ]
        == 0
    )
    with pytest.raises(NotAllowed):
        status.dashboard(users["admin"], period)
    with pytest.raises(ValidationFailed) as caught:
        status.dashboard(users["product_manager"], period, product_id="abc")
    assert "product" in caught.value.fields
    with pytest.raises(ValidationFailed):
        status.dashboard(users["product_manager"], period, offer_code="X" * 500)
    with pytest.raises(NotFound):
        status.dashboard(users["product_manager"], period, product_id=987654)


def test_offer_table_for_managers(world, users):
    period = status.Period(NOW - timedelta(days=30), NOW)
    rows = {row["code"]: row for row in status.offer_table(users["catalog_manager"], period)}
    assert rows["VPN-ACCESS"] == {
        "code": "VPN-ACCESS",
        "name": "VPN access",
        "orders": 2,
        "active": 2,
    }
    assert rows["TEAM-WIKI"]["orders"] == 0 and rows["TEAM-WIKI"]["active"] == 0
    only_wiki = status.offer_table(
        users["product_manager"], period, product_id=world["other_product"].id
    )
    assert [row["code"] for row in only_wiki] == ["TEAM-WIKI"]
    with pytest.raises(NotAllowed):
        status.offer_table(users["consumer"], period)


def test_offer_table_is_busiest_first_and_pages(world, users):
    period = status.Period(NOW - timedelta(days=30), NOW)
    manager = users["product_manager"]
    assert [row["code"] for row in status.offer_table(manager, period)] == [
        "VPN-ACCESS",  # 2 active subscriptions
        "TEAM-WIKI",  # none
    ]
    first = status.offer_table_page(manager, period, page=1, per_page=1)
    assert ([row["code"] for row in first.items], first.total, first.pages, first.has_next) == (
        ["VPN-ACCESS"],
        2,
        2,
        True,
    )
    past_the_end = status.offer_table_page(manager, period, page=99, per_page=1)
    assert (past_the_end.page, [row["code"] for row in past_the_end.items]) == (2, ["TEAM-WIKI"])
    with pytest.raises(ValidationFailed):
        status.offer_table(manager, period, product_id="abc")
    with pytest.raises(NotFound):
        status.offer_table_page(manager, period, product_id=987654)


def test_offer_choices_wait_for_a_product_when_there_are_too_many(world, users, monkeypatch):
    manager = users["product_manager"]
    every = status.filter_choices(manager)
    assert (every["offers"], every["offers_narrowed"]) == (
        [("TEAM-WIKI", "Team wiki"), ("VPN-ACCESS", "VPN access")],
        False,
    )
    monkeypatch.setattr(dashboards, "OFFER_CHOICE_LIMIT", 1)
    assert status.filter_choices(manager)["offers"] == []
    assert status.filter_choices(manager)["offers_narrowed"]
    chosen = status.filter_choices(manager, offer_code="vpn-access ")
    assert chosen["offers"] == [("VPN-ACCESS", "VPN access")]  # the chosen offer stays shown
    of_product = status.filter_choices(manager, product_id=world["product"].id)
    assert (of_product["offers"], of_product["offers_narrowed"]) == (
        [("VPN-ACCESS", "VPN access")],
        False,
    )


def test_dashboard_tables_keep_no_data_as_none(world, users):
    data = status.dashboard(users["product_manager"], status.Period(NOW - timedelta(days=3), NOW))
    tables = presenters.dashboard_tables(data)
    summary = {row[0]: row[1] for row in tables["summary"]["rows"]}
    assert summary["Fulfillment within target"] is None  # nothing fulfilled in these 3 days
    assert summary["Satisfaction (1–5)"] is None
    assert summary["Monthly recurring revenue (EUR)"] == Decimal("15.00")
    assert set(tables) == {"summary", "months", "usage", "velocity", "distribution"}


# --- date ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("yesterday", None, "from"),
        (None, "2026-02-30", "to"),
        ("2026-11-10", "2026-11-01", "to"),
        ("2020-01-01", "2026-01-01", "from"),
        ("0001-01-01", None, "from"),
        (None, "9999-12-31", "to"),
        ("x" * 500, None, "from"),
        (["2026-11-01"], None, "from"),
        (20261101, None, "from"),
    ],
)
def test_bad_date_ranges_are_field_errors(start, end, field):
    clock.freeze(NOW)
    with pytest.raises(ValidationFailed) as caught:
        status.parse_period(start, end)
    assert field in caught.value.fields


def test_date_ranges_include_the_last_day_and_default_to_30_days():
    clock.freeze(NOW)
    period = status.parse_period("2026-11-01", "2026-11-01")
    assert (period.start, period.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 2, tzinfo=UTC),
    )
    default = status.parse_period()
    assert (default.start, default.end) == (NOW - timedelta(days=30), NOW)
    only_end = status.parse_period(None, "2026-10-31")
    assert only_end.start == datetime(2026, 10, 2, tzinfo=UTC)
    assert status.parse_period("2026-11-01T10:00:00+02:00", None).start == datetime(
        2026, 11, 1, 8, tzinfo=UTC
    )


# --- the usage feed ---------------------------------------------------------------------------------


def test_usage_is_idempotent_on_subscription_metric_and_period(world):
    feeder, sub = world["feeder"], world["finance"]
    rows = usage_rows(sub.id, "gb_transferred", 3, start=NOW - timedelta(days=3))
    assert status.record_usage(feeder, rows) == {"stored": 3, "rejected": 0, "errors": {}}
    again = [dict(row, quantity=4) for row in rows]
    assert status.record_usage(feeder, again)["stored"] == 3
    # The same period twice in one batch: the later row wins.
    assert (
        status.record_usage(feeder, [dict(rows[0], quantity=1), dict(rows[0], quantity=7)])[
            "stored"
        ]
        == 2
    )
    records = db.session.scalars(sa.select(UsageRecord).order_by(UsageRecord.period_start)).all()
    assert [float(record.quantity) for record in records] == [7.0, 4.0, 4.0]


def test_each_bad_row_is_reported_by_index_and_the_rest_kept(world, users):
    feeder, sub = world["feeder"], world["finance"]
    good = usage_rows(sub.id, "api_calls", 1, start=NOW - timedelta(days=1))[0]
    rows = [
        good,
        dict(good, subscription_id=[sub.id]),
        dict(good, subscription_id=str(sub.id) + "x"),
        dict(good, subscription_id=True),
        dict(good, metric=["api_calls"]),
        dict(good, metric=None),
        dict(good, quantity=True),
        dict(good, quantity="lots"),
        dict(good, quantity=10**15),
        dict(good, quantity=float("nan")),
        dict(good, period_start=None),
        dict(good, period_end="9999-12-31T00:00:00"),
        "not an object",
        None,
        {},
    ]
    result = status.record_usage(feeder, rows)
    assert result["stored"] == 1 and result["rejected"] == len(rows) - 1
    assert sorted(int(index) for index in result["errors"]) == list(range(1, len(rows)))
    assert any("quantity" in message for message in result["errors"]["8"])
    assert result["errors"]["14"][0].startswith("subscription_id")


def test_atomic_batches_store_nothing_when_a_row_is_bad(world):
    feeder, sub = world["feeder"], world["finance"]
    rows = usage_rows(sub.id, "gb_transferred", 5, start=NOW - timedelta(days=5))
    rows[3]["quantity"] = -2
    with pytest.raises(ValidationFailed) as caught:
        status.record_usage(feeder, rows, atomic=True)
    assert list(caught.value.fields) == ["3"]
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 0
    with pytest.raises(ValidationFailed):
        status.record_usage(feeder, rows[:1], atomic="yes")


@pytest.mark.parametrize("rows", [[], {"subscription_id": 1}, "rows", None])
def test_a_batch_must_be_a_non_empty_list(world, rows):
    with pytest.raises(ValidationFailed):
        status.record_usage(world["feeder"], rows)


def test_a_batch_of_more_than_1000_rows_is_refused(world):
    rows = usage_rows(world["finance"].id, "gb_transferred", 1001, start=NOW - timedelta(days=1001))
    with pytest.raises(ValidationFailed):
        status.record_usage(world["feeder"], rows)
    assert status.record_usage(world["feeder"], rows[:1000])["stored"] == 1000


def test_usage_for_a_subscription_the_caller_may_not_feed_is_refused_per_row(world, users):
    own = usage_rows(world["finance"].id, "gb_transferred", 1, start=NOW - timedelta(days=1))[0]
    foreign = usage_rows(
        world["engineering"].id, "gb_transferred", 1, start=NOW - timedelta(days=1)
    )[0]
    result = status.record_usage(users["consumer"], [own, foreign])
    assert result["stored"] == 1 and list(result["errors"]) == ["1"]
    assert "not one you may feed" in result["errors"]["1"][0]
    assert status.record_usage(users["catalog_manager"], [own])["rejected"] == 1


# --- the status page --------------------------------------------------------------------------------


def test_status_page_predicts_the_quota_crossing_and_announces_maintenance(world, users):
    sub = world["finance"]
    # 5 GB a day from Nov 1 to Nov 20: 100 GB of a 100 GB quota is used up on the 20th.
    status.record_usage(
        world["feeder"],
        usage_rows(
            sub.id, "gb_transferred", 20, start=datetime(2026, 11, 1, tzinfo=UTC), per_day=5
        ),
    )
    status.post_notice(
        users["product_manager"],
        product_id=world["product"].id,
        kind="maintenance",
        title="Gateway patch",
        message="",
        starts_at=NOW + timedelta(days=3),
        ends_at=NOW + timedelta(days=3, hours=1),
    )
    page = status.subscription_status(users["consumer"], sub.id)
    kinds = {warning["kind"]: warning for warning in page["warnings"]}
    assert kinds["quota"]["date"] == "2026-11-20" and kinds["quota"]["reached"] is True
    assert kinds["maintenance"]["date"].startswith("2026-11-23")
    assert [notice.title for notice in page["notices"]] == ["Gateway patch"]

    def quota_warning(per_day: float) -> dict | None:
        status.record_usage(
            world["feeder"],
            [
                dict(row, quantity=per_day)
                for row in usage_rows(
                    sub.id, "gb_transferred", 20, start=datetime(2026, 11, 1, tzinfo=UTC)
                )
            ],
        )
        warnings = status.subscription_status(users["consumer"], sub.id)["warnings"]
        return next((w for w in warnings if w["kind"] == "quota"), None)

    # 4 GB a day instead: 80 GB by the 20th, the trend reaches 100 GB on the 25th.
    quota = quota_warning(4)
    assert (
        quota["date"] == "2026-11-25"
        and quota["reached"] is False
        and "Data transferred will reach" in quota["message"]
    )
    # 2.5 GB a day: 100 GB only on 10 December, after the monthly quota has started again.
    assert quota_warning(2.5) is None


def test_status_page_kpis_say_no_data_rather_than_zero(world, users):
    page = status.subscription_status(
        users["other_consumer"],
        world["engineering"].id,
        status.Period(NOW - timedelta(days=3), NOW),
    )
    kpis = page["kpis"]
    assert kpis["support"]["response_within_target_pct"] is None
    assert kpis["support"]["resolution_within_target_pct"] is None
    assert kpis["fulfillment"]["within_target_pct"] == 100.0  # fulfilled on the day it was ordered
    assert kpis["availability_target_pct"] == 99.5 and kpis["availability_pct"] == 100.0
    before = status.subscription_status(
        users["other_consumer"],
        world["engineering"].id,
        status.Period(NOW - timedelta(days=90), NOW - timedelta(days=60)),
    )
    assert before["kpis"]["availability_pct"] is None  # the subscription did not run then


def test_open_requests_leave_out_resolved_ones_and_others_get_404(world, users):
    sub = world["finance"]
    first = support.open_request(
        users["consumer"],
        sub.id,
        request_type="question",
        priority="low",
        subject="First",
        description="?",
    )
    support.open_request(
        users["consumer"],
        sub.id,
        request_type="issue",
        priority="high",
        subject="Second",
        description="!",
    )
    support.transition_request(world["agents"][1], first.id, "resolved", reason="Answered")
    page = status.subscription_status(users["consumer"], sub.id)
    assert [request.subject for request in page["open_requests"]] == ["Second"]
    with pytest.raises(NotFound):
        status.subscription_status(users["other_consumer"], sub.id)
    with pytest.raises(NotFound):
        status.subscription_status(users["admin"], sub.id)
    assert status.subscription_status(users["product_manager"], sub.id)["subscription"].id == sub.id


# --- seeds ---------------------------------------------------------------------------------------


def test_status_seeds_load_once_and_show_a_quota_warning(world, users, make_user, tmp_path):
    import yaml

    from app.config import ROOT
    from app.demo.status import load_status_seeds
    from app.subscriptions.models import Subscription

    seeds = yaml.safe_load((ROOT / "seeds" / "status.yaml").read_text(encoding="utf-8"))
    assert {metric["key"] for metric in seeds["metrics"]} >= {
        "gb_transferred",
        "storage_gb",
        "cpu_hours",
        "api_calls",
        "active_users",
    }
    assert [item["kind"] for item in seeds["notices"]["items"]] == [
        "outage",
        "degradation",
        "maintenance",
    ]
    seller = make_user("consumer", groups=("Sales",), email="seller@example.test")
    seeds["demo_subscriptions"] = {
        "agent": world["agents"][1].email,
        "ordered_days_ago": 40,
        "orders": [
            {
                "consumer": seller.email,
                "offer": "VPN-ACCESS",
                "options": {"gb_transferred_quota": 60, "not_an_option": 1},
            },
            {"consumer": seller.email, "offer": "NO-SUCH-OFFER"},
        ],
    }
    seeds["usage"]["consumers"] = [seller.email]
    seeds["usage"]["profiles"]["VPN-ACCESS"] = {"gb_transferred": [2, 0.05]}
    for item in seeds["notices"]["items"]:
        item["product"] = "Remote Access"
    seeds["notices"]["author"] = users["product_manager"].email
    (tmp_path / "status.yaml").write_text(yaml.safe_dump(seeds), encoding="utf-8")

    first = load_status_seeds(tmp_path)
    assert first[0] == "usage metrics: 3 created"  # the fixture made two of the five
    assert first[1].startswith("demo subscriptions: 1 created; skipped NO-SUCH-OFFER")
    assert (
        first[2] == "demo usage: 39 rows for 1 subscriptions"
    )  # Oct 12 (the day after it started) to Nov 19
    assert first[3] == "service notices: 3 created"
    second = load_status_seeds(tmp_path)
    assert second == [
        "usage metrics: 0 created",
        "demo subscriptions: 0 created",
        "demo usage: 0 rows for 0 subscriptions",
        "service notices: 0 created",
    ]

    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.owner_id == seller.id)
    )
    assert subscription.status == "active" and subscription.options["gb_transferred_quota"] == 60
    assert subscription.active_since == datetime(
        2026, 10, 11, 12, 0, tzinfo=UTC
    )  # ordered 09:00, done 3 h later
    november = status.parse_period("2026-11-01", "2026-11-19")
    seeded = dashboards.dashboard(seller, november)["usage"]  # the rollups count the seeded days
    assert seeded == dashboards.dashboard(seller, november, from_facts=True)["usage"]
    assert seeded["gb_transferred"] > 0
    page = status.subscription_status(seller, subscription.id)
    warnings = {warning["kind"]: warning for warning in page["warnings"]}
    assert warnings["quota"]["date"].startswith(
        "2026-11"
    )  # 2.x GB a day for 20 days of November crosses 60 GB
    assert warnings["maintenance"]["message"].endswith("Gateway software upgrade.")
    notices = {
        notice.title: notice
        for notice in status.list_notices(users["product_manager"], current_only=False)
    }
    outage = notices["VPN gateway unreachable"]
    assert outage.resolved_at is not None and (outage.ends_at - outage.starts_at) == timedelta(
        minutes=72
    )
    assert outage.starts_at == datetime(2026, 10, 12, 9, 20, tzinfo=UTC)
    assert status.availability([world["product"].id], status.month_period(2026, 10)) == round(
        100 * (1 - 72 / (31 * 24 * 60)), 3
    )
    assert [update.message for update in notices["Slow VPN log-ins"].updates] == [
        seeds["notices"]["items"][1]["updates"][0]
    ]
    assert "Planned maintenance: Remote Access" in inbox_subjects(seller)
