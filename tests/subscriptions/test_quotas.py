"""Quotas and budgets per group: counted at order time and on a change of offer, atomically;
refused with a clear message; what is left shown on the order form and the offer page; set by
admins and product managers (audited) on /quotas; read by the API; seeded."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import GroupQuota, Order, Subscription
from app.subscriptions.services import quota_admin, quotas
from tests.conftest import login, token_for
from tests.races import orders_racing_at_first_write

OPTIONS = {"profile": "developer", "devices": 2}
VPN_FULL = (
    "Finance has used its quota: 2 of 2 active subscription(s) of VPN access, none left. "
    "Ask a product manager to raise the quota, or end one first."
)


def _order(user, offer, key):
    return subs.subscribe(user, offer.id, options=OPTIONS, accept_terms=True, idempotency_key=key)


def _finance():
    return accounts.find_group_by_name("Finance")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def vpn(make_offer):
    return make_offer("VPN-ACCESS")  # 7.50 EUR monthly


# --- counts ----------------------------------------------------------------------------------


def test_an_offer_quota_refuses_the_order_past_it(users, vpn):
    quota_admin.set_quota(
        users["product_manager"], _finance().id, offer_code="vpn-access", max_active=2
    )
    _order(users["consumer"], vpn, "a")
    _order(users["consumer"], vpn, "b")
    with pytest.raises(InvalidTransition) as refused:
        _order(users["consumer"], vpn, "c")
    assert refused.value.message == VPN_FULL
    assert _count(Subscription) == 2


def test_an_ended_subscription_no_longer_counts(users, vpn):
    quota_admin.set_quota(SYSTEM, _finance().id, offer_code="VPN-ACCESS", max_active=1)
    first, _ = _order(users["consumer"], vpn, "a")
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.id == first.subscription_id)
        .values(status="terminated")
    )
    order, created = _order(users["consumer"], vpn, "b")
    assert created is True


def test_another_groups_subscriptions_do_not_count(users, vpn, make_user):
    quota_admin.set_quota(SYSTEM, _finance().id, offer_code="VPN-ACCESS", max_active=1)
    engineer = users["other_consumer"]
    _order(engineer, vpn, "e1")
    _order(engineer, vpn, "e2")
    _order(users["consumer"], vpn, "f1")  # Finance's first


def test_a_category_quota_counts_its_sub_categories(users, make_offer):
    manager = users["catalog_manager"]
    access = catalog.save_category(manager, name="Access")
    remote = catalog.save_category(manager, name="Remote", parent_id=access.id)
    vpn = make_offer("VPN-ACCESS", category_id=remote.id)
    sso = make_offer("SSO-ACCOUNT", category_id=access.id)
    quota_admin.set_quota(SYSTEM, _finance().id, category_id=access.id, max_active=2)
    _order(users["consumer"], vpn, "a")
    _order(users["consumer"], sso, "b")
    with pytest.raises(InvalidTransition) as refused:
        _order(users["consumer"], vpn, "c")
    assert refused.value.message.startswith(
        "Finance has used its quota: 2 of 2 active subscription(s) of Access, none left."
    )


def test_breaches_are_listed_without_refusing(users, vpn):
    quota_admin.set_quota(SYSTEM, _finance().id, offer_code="VPN-ACCESS", max_active=0)
    (breach,) = quotas.quota_breaches(_finance(), vpn)
    assert breach.kind == "offer"
    assert breach.message.startswith("Finance has used its quota: 0 of 0")
    assert [b.kind for b in quotas.reserve(_finance(), vpn, on_exceed="approve")] == ["offer"]
    assert _count(Subscription) == 0


# --- budgets ---------------------------------------------------------------------------------


def test_the_monthly_budget_sums_monthly_equivalent_prices(users, vpn, make_offer):
    yearly = make_offer("SSO-ACCOUNT", price="120.00", billing_period="yearly")  # 10.00 a month
    once = make_offer("LAPTOP-RAM", price="500.00", billing_period="one_time")  # not monthly
    quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="25.00", currency="EUR")
    _order(users["consumer"], vpn, "a")  # 7.50
    _order(users["consumer"], yearly, "b")  # 17.50
    _order(users["consumer"], once, "c")  # still 17.50
    assert quotas.budget_use(_finance().id) == (Decimal("17.50"), {"EUR"})
    (usage,) = quota_admin.usage_of(_finance())
    assert usage.text == "7.50 of 25.00 EUR left this month for Finance"
    _order(users["consumer"], vpn, "d")  # 25.00: exactly the budget
    with pytest.raises(InvalidTransition) as refused:
        _order(users["consumer"], vpn, "e")
    assert refused.value.message == (
        "This order (7.50 EUR a month) would take Finance past its monthly budget: "
        "25.00 of 25.00 EUR is used."
    )


def test_a_budget_refuses_an_offer_in_another_currency(users, make_offer):
    dollars = make_offer("VPN-US", currency="USD")
    quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="100.00", currency="EUR")
    with pytest.raises(InvalidTransition) as refused:
        _order(users["consumer"], dollars, "a")
    assert refused.value.message == (
        "VPN access is priced in USD, and the monthly budget of Finance is in EUR. A budget "
        "holds one currency: nothing converts between them."
    )


def test_a_budget_is_not_set_over_subscriptions_in_another_currency(users, vpn):
    _order(users["consumer"], vpn, "a")
    with pytest.raises(ValidationFailed) as refused:
        quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="100.00", currency="USD")
    assert refused.value.fields["currency"] == [
        "Finance holds subscriptions priced in EUR: a budget in USD cannot count them, and "
        "nothing converts between currencies."
    ]
    assert _count(GroupQuota) == 0


def test_a_change_to_another_offer_counts_against_the_budget(agent, users, vpn, make_offer):
    dearer = make_offer("VPN-PLUS", price="30.00")
    order, _ = _order(users["consumer"], vpn, "a")
    task = next(task for task in order.tasks if task.mode == "manual")
    subs.transition_task(agent, task.id, "complete")
    quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="20.00", currency="EUR")
    assert (
        quotas.quota_breaches(_finance(), dearer, replacing=order.subscription)[0].kind == "budget"
    )
    assert quotas.quota_breaches(_finance(), vpn, replacing=order.subscription) == []


AT_ONCE = [
    {"name": "Create account", "mode": "automatic", "integration": None, "expected_hours": 1}
]


def test_a_change_to_a_dearer_offer_past_the_budget_is_refused(users, make_offer):
    basic = make_offer("VPN-BASIC", fulfillment_plan=AT_ONCE, upgrade_codes=["VPN-PLUS"])
    target = make_offer("VPN-PLUS", fulfillment_plan=AT_ONCE, price="30.00")
    order, _ = _order(users["consumer"], basic, "basic")  # 7.50 a month
    quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="20.00", currency="EUR")
    with pytest.raises(InvalidTransition) as refused:
        subs.modify(
            users["consumer"],
            order.subscription_id,
            target_offer_id=target.id,
            accept_terms=True,
            idempotency_key="up",
        )
    assert refused.value.message == (
        "This order (30.00 EUR a month) would take Finance past its monthly budget: "
        "0.00 of 20.00 EUR is used."  # the subscription's own price no longer counts
    )


# --- setting quotas --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consumer", "catalog_manager", "support_agent"])
def test_only_admins_and_product_managers_set_quotas(users, vpn, role):
    with pytest.raises(NotAllowed):
        quota_admin.set_quota(users[role], _finance().id, offer_code="VPN-ACCESS", max_active=1)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"offer_code": "VPN-ACCESS", "max_active": "-1"},
            {"max_active": ["Enter a whole number from 0 to 1,000,000."]},
        ),
        (
            {"offer_code": "NOPE", "max_active": "1"},
            {"offer_code": ["No offer has the code NOPE."]},
        ),
        (
            {"monthly_budget": "abc", "currency": "EUR"},
            {"monthly_budget": ["Enter an amount such as 12.50."]},
        ),
        (
            {"monthly_budget": "10", "currency": "XYZ"},
            {"currency": ["Unknown currency “XYZ”."]},
        ),
    ],
)
def test_bad_quotas_are_refused_by_field(users, vpn, fields, errors):
    with pytest.raises(ValidationFailed) as refused:
        quota_admin.set_quota(users["admin"], _finance().id, **fields)
    for name, messages in errors.items():
        assert [m[: len(messages[0])] for m in refused.value.fields[name]] == messages


def test_setting_again_changes_the_quota_and_is_audited(users, vpn):
    first = quota_admin.set_quota(
        users["admin"], _finance().id, offer_code="VPN-ACCESS", max_active=1
    )
    second = quota_admin.set_quota(
        users["admin"], _finance().id, offer_code="VPN-ACCESS", max_active=4
    )
    assert first.id == second.id and second.max_active == 4
    quota_admin.delete_quota(users["admin"], second.id)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("quota_%")).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["quota_set", "quota_set", "quota_removed"]
    assert events[1].changes == {"max_active": {"before": 1, "after": 4}}


# --- pages and API ---------------------------------------------------------------------------


def test_the_order_form_and_the_offer_page_show_what_is_left(app, users, vpn):
    quota_admin.set_quota(SYSTEM, _finance().id, offer_code="VPN-ACCESS", max_active=5)
    quota_admin.set_quota(SYSTEM, _finance().id, monthly_budget="1000.00", currency="EUR")
    _order(users["consumer"], vpn, "a")
    _order(users["consumer"], vpn, "b")
    _order(users["consumer"], vpn, "c")
    unit_of_work.commit()
    client = login(app.test_client(), users["consumer"])
    form = client.get(f"/subscriptions/new?offer={vpn.id}&form={'a' * 32}").get_data(as_text=True)
    assert "<li>2 of 5 left for Finance</li>" in form
    assert "<li>977.50 of 1,000.00 EUR left this month for Finance</li>" in form
    page = client.get(f"/catalog/offers/{vpn.id}").get_data(as_text=True)
    assert "<li>2 of 5 left for Finance</li>" in page


def test_the_quotas_page_for_managers_and_product_managers(app, users, vpn, make_user):
    quota_admin.set_quota(SYSTEM, _finance().id, offer_code="VPN-ACCESS", max_active=5)
    mia = make_user("consumer", groups=("Finance",), name="Mia Manager")
    groups.set_managers(SYSTEM, _finance(), [mia])
    unit_of_work.commit()
    manager_page = login(app.test_client(), mia).get("/quotas").get_data(as_text=True)
    assert manager_page.count('data-testid="quota-group"') == 1
    assert "5 of 5 left for Finance" in manager_page
    assert "Set a quota" not in manager_page
    product = login(app.test_client(), users["product_manager"])
    page = product.get("/quotas").get_data(as_text=True)
    assert page.count('data-testid="quota-group"') == len(accounts.list_groups())
    assert "Set a quota" in page
    assert login(app.test_client(), users["consumer"]).get("/quotas").status_code == 403


def test_a_product_manager_sets_a_quota_on_the_page(app, users, vpn):
    client = login(app.test_client(), users["product_manager"])
    data = {
        "q-group_id": str(_finance().id),
        "q-kind": "budget",
        "q-monthly_budget": "500",
        "q-currency": "EUR",
    }
    response = client.post("/quotas", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    (quota,) = quotas.quotas_of(_finance())
    assert quota.monthly_budget == Decimal("500.00") and quota.currency == "EUR"
    bad = client.post(
        "/quotas", data={**data, "q-kind": "offer", "q-offer_code": "NOPE", "q-max_active": "x"}
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "No offer has the code NOPE." in text
    assert "Enter a whole number from 0 to 1,000,000." in text


def test_api_group_quotas(api, users, vpn):
    finance = _finance()
    quota_admin.set_quota(SYSTEM, finance.id, offer_code="VPN-ACCESS", max_active=5)
    quota_admin.set_quota(SYSTEM, finance.id, monthly_budget="1000.00", currency="EUR")
    _order(users["consumer"], vpn, "a")
    unit_of_work.commit()
    response = api(token_for(users["consumer"])).get(f"/api/v1/groups/{finance.id}/quotas")
    assert response.status_code == 200
    items = response.json["items"]
    assert [(i["kind"], i["text"]) for i in items] == [
        ("budget", "992.50 of 1,000.00 EUR left this month for Finance"),
        ("offer", "4 of 5 left for Finance"),
    ]
    assert items[1]["used"] == 1 and items[1]["limit"] == 5 and items[1]["left"] == 4
    assert items[0]["used"] == "7.50" and items[0]["currency"] == "EUR"
    outsider = api(token_for(users["other_consumer"])).get(f"/api/v1/groups/{finance.id}/quotas")
    assert outsider.status_code == 404
    assert (
        api(token_for(users["product_manager"]))
        .get(f"/api/v1/groups/{finance.id}/quotas")
        .status_code
        == 200
    )


def test_openapi_documents_quotas(client):
    document = client.get("/api/v1/openapi.json").json
    assert (
        "/api/v1/groups/{group_id}/quotas" in document["paths"]
        or "/groups/{group_id}/quotas" in document["paths"]
    )


# --- twenty orders, twenty connections, one unit left ------------------------------------------


@pytest.mark.committed
def test_twenty_concurrent_orders_for_the_last_unit(app, users, vpn):
    """Twenty orders, each on its own connection, have all read the offer and their options
    and none has written when a barrier lets them go at their first write: exactly one takes
    the last unit, nineteen are refused with the quota's message."""
    finance = _finance()
    quota_admin.set_quota(SYSTEM, finance.id, offer_code="VPN-ACCESS", max_active=2)
    _order(users["consumer"], vpn, "held")
    unit_of_work.commit()
    offer_id, user_id = vpn.id, users["consumer"].id
    keys = [f"race-{n}" for n in range(20)]
    outcomes = orders_racing_at_first_write(app, user_id, offer_id, keys, OPTIONS)
    full = VPN_FULL
    assert sorted(outcomes.values()) == sorted(["ordered"] + [full] * 19)
    db.session.expire_all()
    assert _count(Subscription) == 2
    assert _count(Order) == 2


@pytest.mark.committed
def test_the_seeds_set_quotas_and_a_budget(app):
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "quotas: 4 created" in result.output
    kinds = {
        (quota.group.name, quota.kind, quota.offer_code)
        for quota in db.session.scalars(sa.select(GroupQuota))
    }
    assert kinds == {
        ("Engineering", "offer", "LAPTOP-PRO"),
        ("Sales", "offer", "PHONE-STD"),
        ("Finance", "category", None),
        ("Engineering", "budget", None),
    }
    again = app.test_cli_runner().invoke(args=["seed"])
    assert "quotas: 0 created" in again.output
    with pytest.raises(NotFound):
        quota_admin.group_for_quotas(SYSTEM, 99999)
