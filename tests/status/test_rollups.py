"""The daily rollups: kept current as facts are written, rebuilt from the facts to the same rows,
and the dashboard and KPI figures read from them equal those computed from the facts alone."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.status import services as status
from app.status.models import (
    OfferRollup,
    OrderRollup,
    SubscriptionGroupRollup,
    SubscriptionRollup,
    SupportRollup,
    UsageGroupRollup,
    UsageMetric,
    UsageRollup,
)
from app.status.services import dashboards, rollups
from app.status.services.periods import Period, parse_period
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from app.support.models import SupportRequest
from tests.races import racing_at_first_write

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ROLLUPS = (
    UsageRollup,
    UsageGroupRollup,
    SubscriptionRollup,
    SubscriptionGroupRollup,
    SupportRollup,
    OrderRollup,
    OfferRollup,
)


KEYS = {
    "id",
    "subscription_id",
    "offer_id",
    "group_id",
    "metric",
    "currency",
    "day",
    "order_type",
    "flow_bucket",
}


def _rows(model) -> list[tuple]:
    table = model.__table__
    columns = [column for column in table.c if column.name != "id"]
    counted = sa.or_(*[column != 0 for column in columns if column.name not in KEYS])
    return sorted(
        tuple(str(value) for value in row)
        for row in db.session.execute(sa.select(*columns).where(counted)).all()
    )


def snapshot() -> dict:
    """Every rollup row that counts something (facts that moved away leave zeros behind), but
    its id, with numbers as text, once the facts are committed (the rollups are written then)."""
    db.session.commit()
    return {model.__tablename__: _rows(model) for model in ROLLUPS}


# --- building facts -------------------------------------------------------------------------------


WALKS = {
    "requested": [],
    "active": ["fulfilling", "active"],
    "modifying": ["fulfilling", "active", "modifying"],
    "terminating": ["fulfilling", "active", "terminating"],
    "terminated": ["fulfilling", "active", "terminating", "terminated"],
}


def walk(obj, statuses: list[str]) -> None:
    """Move a fact through its state machine one flush at a time, as its services would."""
    for next_status in statuses:
        obj.status = next_status
        db.session.flush()


def subscription(offer, group_id, owner, *, created, active_since=None, ended=None, status=None):
    """A top-level subscription with its contract, written through the ORM flush by flush (as the
    services write them), so the rollups follow it."""
    status = status or ("terminated" if ended else "active" if active_since else "requested")
    sub = Subscription(
        offer_id=offer.id,
        offer_code=offer.code,
        group_id=group_id,
        owner_id=owner.id,
        status="requested",
        options={},
        created_at=created,
        version=1,
    )
    db.session.add(sub)
    db.session.flush()
    contract = ServiceContract(
        subscription_id=sub.id,
        version=1,
        status="active",
        offer_id=offer.id,
        offer_code=offer.code,
        offer_revision=1,
        price=offer.price,
        options_monthly=Decimal("2.50"),
        currency="EUR",
        billing_period=offer.billing_period,
        snapshot={},
        agreed_at=created,
    )
    db.session.add(contract)
    db.session.flush()
    sub.active_since = active_since
    walk(sub, WALKS[status][:2])
    sub.terminated_at = ended
    walk(sub, WALKS[status][2:])
    if ended:
        contract.status = "ended"
        db.session.flush()
    return sub


def change_offer(sub, offer) -> None:
    """A change to another offer, as fulfillment completes one: the contract amended, then the
    subscription moved."""
    walk(sub, ["modifying"])
    previous = db.session.scalar(
        sa.select(ServiceContract).where(
            ServiceContract.subscription_id == sub.id, ServiceContract.status == "active"
        )
    )
    previous.status = "superseded"
    db.session.add(
        ServiceContract(
            subscription_id=sub.id,
            version=2,
            status="active",
            offer_id=offer.id,
            offer_code=offer.code,
            offer_revision=1,
            price=offer.price,
            options_monthly=previous.options_monthly,
            currency="EUR",
            billing_period=offer.billing_period,
            snapshot={},
            agreed_at=clock.now(),
        )
    )
    sub.offer_id, sub.offer_code = offer.id, offer.code
    walk(sub, ["active"])


def order(sub, requester, kind, *, created, completed=None, active_hours=None, target=None):
    """An order with one task, started and done flush by flush, then the order completed."""
    levels = {"fulfillment_target_hours": target} if target is not None else {}
    placed = Order(
        subscription_id=sub.id,
        order_type=kind,
        status="in_progress",
        options={},
        agreement={"service_levels": levels},
        idempotency_key=f"k-{sub.id}-{kind}-{created.isoformat()}",
        requested_by_id=requester.id,
        created_at=created,
    )
    db.session.add(placed)
    db.session.flush()
    task = FulfillmentTask(
        order_id=placed.id, subscription_id=sub.id, sequence=1, name="Provision", mode="manual"
    )
    db.session.add(task)
    db.session.flush()
    walk(task, ["queued"])
    if active_hours is not None:
        task.started_at = created + timedelta(minutes=10)
        walk(task, ["in_progress"])
        task.completed_at = task.started_at + timedelta(hours=active_hours)
        walk(task, ["done"])
    if completed is not None:
        placed.completed_at = completed
        walk(placed, ["completed"])
    return placed


def support_request(sub, requester, *, opened, responded=None, resolved=None, **extra):
    """A request opened, then answered, resolved, breached and rated flush by flush."""
    request = SupportRequest(
        subscription_id=sub.id,
        group_id=sub.group_id,
        requester_id=requester.id,
        request_type="issue",
        priority="medium",
        subject="Help",
        description="x",
        status="new",
        tier=1,
        created_at=opened,
        response_target_hours=8,
        resolution_target_hours=24,
        paused_seconds=0,
        version=1,
    )
    db.session.add(request)
    db.session.flush()
    request.first_response_at = responded
    walk(request, ["in_progress"])
    for name, value in extra.items():
        setattr(request, name, value)
        db.session.flush()
    if resolved:
        request.resolved_at = resolved
        walk(request, ["resolved"])
    return request


def usage(feeder, sub, metric: str, start: datetime, quantity, hours: int = 24) -> None:
    status.record_usage(
        feeder,
        [
            {
                "subscription_id": sub.id,
                "metric": metric,
                "quantity": quantity,
                "period_start": start.isoformat(),
                "period_end": (start + timedelta(hours=hours)).isoformat(),
            }
        ],
    )


@pytest.fixture
def metrics():
    db.session.add_all(
        [
            UsageMetric(key="gb_transferred", label="Data transferred", unit="GB"),
            UsageMetric(key="active_users", label="Active users", unit="", kind="gauge"),
        ]
    )
    db.session.flush()


@pytest.fixture
def feeder(make_user):
    return make_user("admin", email="feed@example.test")


def compare(viewer, period: Period, **filters) -> dict:
    """The dashboard from the rollups, after checking it equals the one from the facts."""
    db.session.commit()  # the rollups are written when the facts' transaction commits
    rolled = dashboards.dashboard(viewer, period, **filters)
    facts = dashboards.dashboard(viewer, period, from_facts=True, **filters)
    assert rolled == facts, (period, filters)
    if dashboards.sees_offer_figures(viewer) and not filters.get("offer_code"):
        product = filters.get("product_id")
        assert dashboards.offer_table(viewer, period, product_id=product) == (
            dashboards.offer_table(viewer, period, product_id=product, from_facts=True)
        ), (period, filters)
    return rolled


# --- a small world, worked by hand ------------------------------------------------------------


def at(day: str, time: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


@pytest.fixture
def small(users, make_offer, metrics, feeder):
    """Finance: one VPN since October. Engineering: a VPN from mid-October that ended at the
    midnight starting 5 November, and a team wiki since this morning (today, 20 November)."""
    clock.freeze(NOW)
    vpn = make_offer("VPN-ACCESS")
    wiki = make_offer("TEAM-WIKI", name="Team wiki", price="20.00", cost="5.00")
    finance = min(users["consumer"].group_ids)
    engineering = min(users["other_consumer"].group_ids)
    owner = users["consumer"]
    s1 = subscription(
        vpn,
        finance,
        owner,
        created=at("2026-10-01", "09:00"),
        active_since=at("2026-10-01", "10:00"),
    )
    s2 = subscription(
        vpn,
        engineering,
        owner,
        created=at("2026-10-15", "08:00"),
        active_since=at("2026-10-15", "09:00"),
        ended=at("2026-11-05"),
    )
    s3 = subscription(
        wiki,
        engineering,
        owner,
        created=at("2026-11-20", "08:00"),
        active_since=at("2026-11-20", "09:00"),
    )
    for day in range(1, 11):
        usage(feeder, s1, "gb_transferred", at(f"2026-11-{day:02}"), 10)
    usage(feeder, s1, "gb_transferred", at("2026-11-01"), 20)  # a repeat replaces the first
    usage(feeder, s1, "gb_transferred", at("2026-11-20"), 5)  # today
    usage(feeder, s1, "active_users", at("2026-11-02", "08:00"), 3, hours=1)
    usage(feeder, s1, "active_users", at("2026-11-02", "09:00"), 7, hours=1)
    usage(feeder, s3, "active_users", at("2026-11-20", "09:00"), 4, hours=1)
    support_request(
        s1,
        owner,
        opened=at("2026-11-03", "10:00"),
        responded=at("2026-11-03", "12:00"),
        resolved=at("2026-11-04", "10:00"),
        satisfaction=4,
    )
    support_request(
        s2,
        owner,
        opened=at("2026-11-04", "10:00"),
        responded=at("2026-11-04", "20:00"),
        response_breached_at=at("2026-11-04", "18:00"),
    )
    support_request(
        s3,
        owner,
        opened=at("2026-11-20", "10:00"),
        responded=at("2026-11-20", "11:00"),
        resolved=at("2026-11-20", "11:30"),
        satisfaction=2,
    )
    # 48 h against a 24 h target; 24 h with no target; 1 h against 4 h, today; one still open
    new = {"kind": "new"}
    order(
        s1,
        owner,
        created=at("2026-11-02", "10:00"),
        completed=at("2026-11-04", "10:00"),
        active_hours=3,
        target=24,
        **new,
    )
    order(
        s1,
        owner,
        "modify",
        created=at("2026-11-05", "09:00"),
        completed=at("2026-11-06", "09:00"),
        active_hours=2,
    )
    order(
        s3,
        owner,
        created=at("2026-11-20", "08:00"),
        completed=at("2026-11-20", "09:00"),
        active_hours=0.5,
        target=4,
        **new,
    )
    order(s3, owner, "modify", created=at("2026-11-20", "10:00"))
    return {"vpn": vpn, "wiki": wiki, "subs": (s1, s2, s3)}


def test_the_dashboard_from_rollups_gives_the_hand_worked_figures(small, users):
    november = parse_period("2026-11-01", "2026-11-20")  # whole days, and today from the facts
    data = compare(users["product_manager"], november)
    assert data["usage"] == {"gb_transferred": 115.0, "active_users": 7.0}
    assert data["support"] == {
        "requests": 3,
        "response_within_target_pct": 66.7,  # the second one's response breached its target
        "resolution_within_target_pct": 100.0,
        "average_response_hours": 4.33,  # (2 + 10 + 1) / 3
        "average_resolution_hours": 12.75,  # (24 + 1.5) / 2
        "satisfaction": 3.0,
        "rated": 2,
    }
    assert data["subscriptions"] == {
        "active_now": 2,
        "per_month": [{"month": "2026-11", "new": 1, "terminated": 1, "active": 2}],
    }
    # 7.50 + 20.00 and 2.50 of options each; costs 3.00 and 5.00
    assert data["revenue"]["mrr"] == Decimal("32.50")
    assert data["revenue"]["margin"] == Decimal("24.50")
    assert data["fulfillment"] == {
        "orders": 2,
        "average_lead_hours": 24.5,  # (48 + 1) / 2
        "within_target_pct": 50.0,
    }
    # done: orders of 48, 24 and 1 h; requests of 24 and 1.5 h
    assert data["flow"] == {
        "velocity_per_week": [
            {"week": "2026-11-02", "done": 3},
            {"week": "2026-11-16", "done": 2},
        ],
        "flow_time_median_hours": 24.0,
        "flow_time_p85_hours": 48.0,
        "load_now": 2,
        "load_by_type": {"modify": 1, "support": 1},
        "efficiency_pct": 31.5,  # (3 + 2 + 0.5 + 24 + 1.5) / (48 + 24 + 1 + 24 + 1.5)
        "distribution_pct": {"modify": 20.0, "new": 40.0, "support": 40.0},
        "done": 5,
    }
    finance = compare(users["consumer"], november)
    assert finance["usage"] == {"gb_transferred": 115.0, "active_users": 7.0}
    assert finance["support"]["requests"] == 1 and finance["subscriptions"]["active_now"] == 1
    assert finance["fulfillment"]["orders"] == 1 and finance["flow"]["done"] == 3
    assert dashboards.offer_table(users["product_manager"], november) == [
        {"code": "TEAM-WIKI", "name": "Team wiki", "orders": 1, "active": 1},
        {"code": "VPN-ACCESS", "name": "VPN access", "orders": 1, "active": 1},
    ]
    wiki = compare(users["product_manager"], november, offer_code="TEAM-WIKI")
    assert wiki["usage"] == {"active_users": 4.0} and wiki["support"]["requests"] == 1


def test_a_moment_at_midnight_ends_the_day_before(small, users):
    """The second VPN ended at 00:00 on 5 November: not active at the end of 4 November, and
    its termination falls after a range that ends with 4 November."""
    october_on = compare(users["product_manager"], parse_period("2026-10-01", "2026-11-04"))
    assert [
        (m["month"], m["new"], m["terminated"], m["active"])
        for m in october_on["subscriptions"]["per_month"]
    ] == [
        ("2026-10", 2, 0, 2),
        ("2026-11", 0, 0, 1),
    ]


def test_the_rollups_kept_current_equal_a_rebuild_and_a_rebuild_changes_nothing(small, users):
    s1, s2, s3 = small["subs"]
    request = db.session.scalar(
        sa.select(SupportRequest).where(SupportRequest.subscription_id == s2.id)
    )
    request.resolved_at, request.status = at("2026-11-06", "10:00"), "resolved"
    request.resolution_breached_at = at("2026-11-05", "10:00")
    change_offer(s1, small["wiki"])  # its usage, requests and money move with it
    s3.terminated_at = NOW - timedelta(hours=1)
    walk(s3, ["terminating", "terminated"])
    task = db.session.scalar(
        sa.select(FulfillmentTask).join(Order).where(Order.order_type == "modify").limit(1)
    )
    task.completed_at = task.completed_at + timedelta(hours=1)  # a correction: more active time
    kept = snapshot()
    assert kept["usage_rollups"] and kept["support_rollups"] and kept["order_rollups"]
    rollups.rebuild(db.session)
    rebuilt = snapshot()
    assert {
        name: (sorted(set(rows) - set(rebuilt[name])), sorted(set(rebuilt[name]) - set(rows)))
        for name, rows in kept.items()
        if rows != rebuilt[name]
    } == {}
    rollups.rebuild(db.session)
    assert snapshot() == kept
    compare(users["product_manager"], parse_period("2026-10-01", "2026-11-20"))
    compare(users["product_manager"], parse_period(None, None), offer_code="TEAM-WIKI")


# --- generated data against the facts ---------------------------------------------------------


def _moment(rng: random.Random, days_back: int) -> datetime:
    """A whole minute in the last `days_back` days before NOW; now and then a midnight."""
    moment = NOW - timedelta(minutes=rng.randrange(1, days_back * 24 * 60))
    if rng.random() < 0.1:
        moment = moment.replace(hour=0, minute=0)
    return moment.replace(second=0, microsecond=0)


def generate(rng, offers, groups, owner, feeder) -> list:
    """Subscriptions in every status, usage (counters and gauges, some periods fed twice) and
    support requests with responses, resolutions, breaches and ratings."""
    subs = []
    for _ in range(40):
        created = _moment(rng, 120)
        state = rng.choice(["active", "active", "terminated", "requested", "terminating"])
        active = created + timedelta(hours=rng.randint(1, 48)) if state != "requested" else None
        if active is not None and active > NOW:
            active, state = None, "requested"
        ended = None
        if state == "terminated":
            ended = min(active + timedelta(days=rng.randint(0, 60), hours=rng.randint(1, 9)), NOW)
        subs.append(
            subscription(
                rng.choice(offers),
                rng.choice(groups),
                owner,
                created=created,
                active_since=active,
                ended=ended,
                status=state,
            )
        )
    rows = []
    for _ in range(300):
        sub = rng.choice(subs)
        start = _moment(rng, 90).replace(minute=0)
        metric = rng.choice(["gb_transferred", "active_users"])
        rows.append(
            {
                "subscription_id": sub.id,
                "metric": metric,
                "quantity": rng.randint(0, 500) / 4,
                "period_start": start.isoformat(),
                "period_end": (start + timedelta(hours=rng.choice([1, 6]))).isoformat(),
            }
        )
    status.record_usage(feeder, rows[:150])
    status.record_usage(feeder, rows[150:] + [dict(row, quantity=1) for row in rows[:20]])
    for _ in range(30):
        sub = rng.choice(subs)
        opened = _moment(rng, 90)
        responded = opened + timedelta(minutes=rng.randint(5, 900)) if rng.random() < 0.8 else None
        resolved = (
            responded + timedelta(minutes=rng.randint(5, 3000))
            if responded and rng.random() < 0.7
            else None
        )
        extra = {}
        if rng.random() < 0.3:
            extra["response_breached_at"] = opened + timedelta(hours=8)
        if resolved and rng.random() < 0.3:
            extra["resolution_breached_at"] = opened + timedelta(hours=24)
        if resolved and rng.random() < 0.6:
            extra["satisfaction"] = rng.randint(1, 5)
        support_request(sub, owner, opened=opened, responded=responded, resolved=resolved, **extra)
    for sub in subs:
        target = rng.choice([None, 8, 24])
        order(
            sub,
            owner,
            "new",
            created=sub.created_at,
            completed=sub.active_since,
            active_hours=rng.choice([None, 0.5, 2]) if sub.active_since else None,
            target=target,
        )
    for _ in range(15):
        sub = rng.choice(subs)
        created = _moment(rng, 90)
        completed = created + timedelta(minutes=rng.randint(10, 4000))
        order(
            sub,
            owner,
            rng.choice(["modify", "terminate"]),
            created=created,
            completed=completed if completed < NOW and rng.random() < 0.8 else None,
            active_hours=rng.choice([None, 1, 3]),
        )
    return subs


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_figures_from_rollups_equal_those_from_the_facts(
    seed, users, make_offer, make_user, metrics, feeder
):
    clock.freeze(NOW)
    rng = random.Random(seed)
    first = status_product(users, "Remote Access")
    second = status_product(users, "Collaboration")
    offers = [
        make_offer("VPN-ACCESS", product_id=first.id),
        make_offer("VPN-PLUS", product_id=first.id, price="12.00", cost="4.00"),
        make_offer("TEAM-WIKI", product_id=second.id, price="20.00", cost="5.00"),
        make_offer(
            "ARCHIVE", product_id=second.id, price="99.00", cost="10.00", billing_period="yearly"
        ),
    ]
    consumer = users["consumer"]
    groups = [min(consumer.group_ids), min(users["other_consumer"].group_ids)]
    subs = generate(rng, offers, groups, consumer, feeder)
    for sub in rng.sample([s for s in subs if s.status == "active"], 2):
        change_offer(sub, rng.choice(offers))
    kept = snapshot()
    periods = [
        parse_period(None, None),  # the last 30 days: a partial first day, and today
        parse_period("2026-08-01", "2026-11-20"),
        parse_period("2026-09-03", "2026-10-17"),  # whole days in the past
        parse_period("2026-11-19T06:30:00+00:00", "2026-11-20T11:00:00+00:00"),
    ]
    viewers = [
        users["product_manager"],
        users["catalog_manager"],
        consumer,
        users["other_consumer"],
    ]
    for period in periods:
        for viewer in viewers:
            compare(viewer, period)
        compare(users["product_manager"], period, product_id=first.id)
        compare(users["product_manager"], period, offer_code="TEAM-WIKI")
        compare(consumer, period, offer_code="VPN-ACCESS")
    rollups.rebuild(db.session)
    assert snapshot() == kept


def status_product(users, name: str):
    from app.catalog import services as catalog

    return catalog.save_product(users["product_manager"], name=name)


# --- two writers, one rollup row ----------------------------------------------------------------


@pytest.mark.committed
def test_two_concurrent_writers_to_one_rollup_row_both_count(
    app, users, make_offer, metrics, feeder
):
    """Two support requests opened on one offer, group and day, and two usage periods of one
    subscription's day, each pair by two connections let go together at their first write."""
    clock.freeze(NOW)
    vpn = make_offer("VPN-ACCESS")
    owner = users["consumer"]
    sub = subscription(
        vpn,
        min(owner.group_ids),
        owner,
        created=at("2026-10-01", "09:00"),
        active_since=at("2026-10-01", "10:00"),
    )
    db.session.commit()
    sub_id, owner_id, feeder_id = sub.id, owner.id, feeder.id

    def open_request(hour: int):
        def work():
            clock.freeze(NOW)
            request = db.session.get(Subscription, sub_id)
            from app.accounts.models import User

            support_request(
                request, db.session.get(User, owner_id), opened=at("2026-11-19", f"{hour:02}:00")
            )
            return "committed"

        return work

    def feed(hour: int):
        def work():
            from app.accounts.models import User

            clock.freeze(NOW)
            usage(
                db.session.get(User, feeder_id),
                db.session.get(Subscription, sub_id),
                "gb_transferred",
                at("2026-11-19", f"{hour:02}:00"),
                10 + hour,
                hours=1,
            )
            return "committed"

        return work

    assert racing_at_first_write(app, {"a": open_request(9), "b": open_request(10)}) == {
        "a": "committed",
        "b": "committed",
    }
    assert racing_at_first_write(app, {"c": feed(9), "d": feed(10)}) == {
        "c": "committed",
        "d": "committed",
    }
    db.session.expire_all()
    day = date(2026, 11, 19)
    assert db.session.scalar(sa.select(SupportRollup.requests).where(SupportRollup.day == day)) == 2
    row = db.session.execute(
        sa.select(UsageRollup.records, UsageRollup.quantity, UsageRollup.peak).where(
            UsageRollup.day == day
        )
    ).one()
    assert (row.records, row.quantity, row.peak) == (2, Decimal("39"), Decimal("20"))
    group = db.session.execute(
        sa.select(UsageGroupRollup.records, UsageGroupRollup.quantity).where(
            UsageGroupRollup.day == day
        )
    ).one()
    assert (group.records, group.quantity) == (2, Decimal("39"))


@pytest.mark.committed
def test_two_orders_completed_at_once_on_one_rollup_row_both_count(app, users, make_offer):
    """Two orders of one offer and group, with the same flow time, completed by two
    connections let go together at their first write: the day's row counts both. Then two
    subscriptions of that offer, created at once: its one offer_rollups row counts both."""
    clock.freeze(NOW)
    vpn = make_offer("VPN-ACCESS")
    owner = users["consumer"]
    subs = [
        subscription(
            vpn,
            min(owner.group_ids),
            owner,
            created=at("2026-11-18", f"0{hour}:00"),
            active_since=at("2026-11-18", f"0{hour + 1}:00"),
        )
        for hour in (6, 8)
    ]
    placed = [
        order(sub, owner, "modify", created=at("2026-11-19", f"0{hour}:00"), target=8)
        for sub, hour in zip(subs, (6, 8), strict=True)
    ]
    db.session.commit()
    ids = [item.id for item in placed]

    def complete(order_id: int, hour: int):
        def work():
            clock.freeze(NOW)
            item = db.session.get(Order, order_id)
            item.completed_at, item.status = at("2026-11-19", f"{hour:02}:30"), "completed"
            db.session.flush()
            return "committed"

        return work

    assert racing_at_first_write(app, {"a": complete(ids[0], 9), "b": complete(ids[1], 11)}) == {
        "a": "committed",
        "b": "committed",
    }
    db.session.expire_all()
    row = db.session.execute(
        sa.select(
            OrderRollup.done,
            OrderRollup.lead_seconds,
            OrderRollup.with_target,
            OrderRollup.within_target,
            OrderRollup.flow_bucket,
        ).where(OrderRollup.day == date(2026, 11, 19))
    ).one()
    assert tuple(row) == (2, 2 * 3.5 * 3600, 2, 2, 350)  # 3 h 30 each, within 8 h

    def subscribe(hour: int):
        def work():
            from app.accounts.models import User

            clock.freeze(NOW)
            subscription(
                db.session.get(type(vpn), vpn_id),
                group_id,
                db.session.get(User, owner_id),
                created=at("2026-11-19", f"{hour:02}:00"),
                active_since=at("2026-11-19", f"{hour + 1:02}:00"),
            )
            return "committed"

        return work

    vpn_id, group_id, owner_id = vpn.id, min(owner.group_ids), owner.id
    assert racing_at_first_write(app, {"c": subscribe(12), "d": subscribe(14)}) == {
        "c": "committed",
        "d": "committed",
    }
    db.session.expire_all()
    per_offer = db.session.execute(
        sa.select(OfferRollup.currency, OfferRollup.running, OfferRollup.monthly_contracts)
        .where(OfferRollup.offer_id == vpn_id)
        .order_by(OfferRollup.currency)
    ).all()
    assert [tuple(row) for row in per_offer] == [("", 4, 0), ("EUR", 0, 4)]  # one offer's row


# --- written on commit ------------------------------------------------------------------------


def _created_on(day: date) -> int | None:
    return db.session.scalar(
        sa.select(sa.func.sum(SubscriptionRollup.created)).where(SubscriptionRollup.day == day)
    )


def test_a_savepoint_rolled_back_takes_its_rollup_changes_with_it(users, make_offer):
    """The rollups are written when the transaction commits: what a rolled-back savepoint
    flushed is not counted, what a released one flushed is, and nothing before the commit."""
    clock.freeze(NOW)
    vpn = make_offer("VPN-ACCESS")
    owner, group = users["consumer"], min(users["consumer"].group_ids)
    day = date(2026, 11, 19)
    subscription(vpn, group, owner, created=at("2026-11-19", "09:00"))
    savepoint = db.session.begin_nested()
    subscription(vpn, group, owner, created=at("2026-11-19", "10:00"))
    savepoint.rollback()
    with db.session.begin_nested():
        subscription(vpn, group, owner, created=at("2026-11-19", "11:00"))
    assert _created_on(day) is None  # flushed facts, no rollup rows yet
    db.session.commit()
    assert _created_on(day) == 2
    subscription(vpn, group, owner, created=at("2026-11-19", "12:00"))
    db.session.rollback()
    assert _created_on(day) == 2
