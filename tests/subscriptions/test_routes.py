"""The Consume pages: compare, agree and subscribe, subscription and contract pages, changes and
terminations, my subscriptions, and the fulfillment queue."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.knowledge import services as knowledge
from app.subscriptions import services as subs
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from app.subscriptions.services import comparison, selection
from tests.catalog.conftest import complete_offer_data
from tests.conftest import module_world

GOOD_OPTIONS = {"option_profile": "developer", "option_devices": "2", "option_note": "Laptop ✓"}


def html(response) -> str:
    return response.get_data(as_text=True)


def field_chunk(page: str, name: str) -> str:
    """The <div class="field"> block holding the input called `name`."""
    for chunk in page.split('<div class="field')[1:]:
        if f'name="{name}"' in chunk.split('<div class="field')[0]:
            return chunk
    raise AssertionError(f"no field {name}")


def hidden_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page)
    assert match, "the form carries an idempotency key"
    return match.group(1)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def add_visible_offers(
    how_many: int, *, kind: str, name: str, product_id: int | None = None
) -> None:
    """Published offers everyone sees, named `name` 0000, 0001, …, of the product given: rows,
    not the services, as only their number matters here."""
    db.session.execute(  # past the offer's state machine, which admits new offers as drafts
        sa.insert(ServiceOffer),
        [
            {
                "code": f"{kind[:6].replace('_', '').upper()}-{number:04d}",
                "name": f"{name} {number:04d}",
                "kind": kind,
                "status": "published",
                "price": Decimal("1.00"),
                "published_at": clock.now(),
                "product_id": product_id,
                "version": 1,
            }
            for number in range(how_many)
        ],
    )
    db.session.commit()


@module_world
def vpn(make_offer):
    return make_offer("VPN-ACCESS")


@pytest.fixture
def consumer(client_as):
    return client_as("consumer")


def order_form(consumer, offer_id: int, **data):
    page = html(consumer.get(f"/subscriptions/new?offer={offer_id}", follow_redirects=True))
    payload = {"idempotency_key": hidden_key(page), "accept_terms": "y", **GOOD_OPTIONS}
    payload.update(data)
    return payload


def place_order(consumer, offer_id: int, **data):
    return consumer.post(
        f"/subscriptions/new?offer={offer_id}", data=order_form(consumer, offer_id, **data)
    )


def product(name: str) -> int:
    """A digital product's id (made by the system, as its offers' product)."""
    return catalog.save_product(SYSTEM, name=name).id


def manual_task(order_id: int) -> FulfillmentTask:
    return db.session.scalars(
        sa.select(FulfillmentTask).where(
            FulfillmentTask.order_id == order_id, FulfillmentTask.mode == "manual"
        )
    ).first()


def activate(order, agent):
    subs.transition_task(agent, manual_task(order.id).id, "complete")
    return db.session.get(Subscription, order.subscription_id)


# --- compare ----------------------------------------------------------------------------------


def test_compare_shows_offers_side_by_side(consumer, make_offer):
    vpn = make_offer("VPN-ACCESS")
    laptop = make_offer(
        "LAPTOP",
        name="Laptop",
        price="45.00",
        billing_period="yearly",
        service_levels={**complete_offer_data()["service_levels"], "fulfillment_target_hours": 72},
    )
    response = consumer.get(f"/compare?ids={vpn.id},{laptop.id}")
    assert response.status_code == 200
    page = html(response)
    assert "VPN access" in page and "Laptop" in page
    assert "7.50 EUR" in page and "monthly" in page and "45.00 EUR" in page and "yearly" in page
    assert "99.5 %" in page  # service levels
    assert "Profile" in page and "standard, developer" in page  # options
    assert (
        "4.1 h</strong> of work in 2 steps" in page
        and "within 24 h" in page
        and "within 72 h" in page
    )
    assert f'href="/subscriptions/new?offer={vpn.id}"' in page


def test_compare_takes_repeated_ids_from_checkboxes(consumer, make_offer):
    vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")
    page = html(consumer.get(f"/compare?ids={vpn.id}&ids={laptop.id}"))
    table = page.split("<table")[1]
    assert "VPN access" in table and "Laptop" in table


def test_compare_add_form_adds_an_offer(consumer, make_offer):
    vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")
    page = html(consumer.get(f"/compare?ids={vpn.id}"))
    assert f'<option value="{laptop.id}">Laptop (LAPTOP)</option>' in page
    response = consumer.get(f"/compare?ids={vpn.id}&add={laptop.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/compare?ids={vpn.id},{laptop.id}"
    )
    for bad in ("²", "abc", "9" * 40):
        assert consumer.get(f"/compare?ids={vpn.id}&add={bad}").status_code == 302


def test_compare_add_list_leaves_out_the_chosen_offers_before_its_bound(consumer, make_offer):
    """The chosen offers sort first, yet the list of others to add is still full."""
    chosen = [make_offer("AAA-ONE", name="AAA one").id, make_offer("AAA-TWO", name="AAA two").id]
    add_visible_offers(comparison.CANDIDATE_LIMIT, kind="new_instance", name="Offer")
    page = html(consumer.get("/compare?ids=" + ",".join(map(str, chosen))))
    listed = page.split('<select id="add"')[1].split("</select>")[0]
    assert listed.count("<option ") == comparison.CANDIDATE_LIMIT
    assert "AAA one" not in listed and "AAA two" not in listed


def test_compare_more_than_four_keeps_four_with_a_message(consumer, make_offer):
    codes = ("A-ONE", "B-TWO", "C-THREE", "D-FOUR", "E-FIVE")
    ids = [make_offer(code, name=code.title()).id for code in codes]
    response = consumer.get("/compare?ids=" + ",".join(map(str, ids)))
    assert response.status_code == 200
    page = html(response)
    assert "You can compare up to 4 offers at a time; showing the first 4 of 5." in page
    table = page.split("<table")[1]
    assert "D-Four" in table and "E-Five" not in table
    assert "You are comparing 4 offers, the most at a time." in page
    assert '<select id="add"' not in page


def test_compare_adding_a_fifth_offer_says_four_is_the_most(consumer, make_offer):
    ids = [make_offer(f"OFFER-{n}", name=f"Offer {n}").id for n in range(5)]
    chosen = ",".join(map(str, ids[:4]))
    response = consumer.get(f"/compare?ids={chosen}&add={ids[4]}", follow_redirects=True)
    page = html(response)
    assert "You can compare up to 4 offers at a time; showing the first 4 of 5." in page
    assert "Offer 4" not in page.split("<table")[1]


def test_compare_table_has_fixed_columns_for_the_offers(consumer, make_offer):
    ids = [make_offer(f"OFFER-{n}", name=f"Offer {n}").id for n in range(3)]
    page = html(consumer.get("/compare?ids=" + ",".join(map(str, ids))))
    assert '<table class="compare-grid compare-3">' in page
    assert page.count('<col class="compare-offer-col">') == 3


def test_compare_page_links_back_to_the_catalog_with_its_offers(consumer, make_offer):
    vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")
    page = html(consumer.get(f"/compare?ids={vpn.id},{laptop.id}"))
    assert f'href="/catalog/?compare={vpn.id},{laptop.id}"' in page


def test_catalog_cards_add_and_remove_offers_of_a_comparison(consumer, make_offer):
    vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")
    page = html(consumer.get("/catalog/"))
    assert (
        f'href="/catalog/?compare={vpn.id}#offer-card-{vpn.id}">Add to comparison'
        '<span class="visually-hidden">: VPN access</span>' in page
    )
    page = html(consumer.get(f"/catalog/?compare={vpn.id}"))
    assert (
        f'href="/catalog/?compare={vpn.id},{laptop.id}#offer-card-{laptop.id}">Add to comparison'
        in page
    )
    assert f'href="/catalog/#offer-card-{vpn.id}">Remove from comparison' in page
    bar = page.split('data-testid="compare-bar"')[1].split("</section>")[0]
    assert "1 offer chosen to compare" in bar
    assert f'href="/compare?ids={vpn.id}"' in bar


def test_catalog_cards_say_when_the_comparison_is_full(consumer, make_offer):
    ids = [make_offer(f"OFFER-{n}", name=f"Offer {n}").id for n in range(5)]
    page = html(consumer.get("/catalog/?compare=" + ",".join(map(str, ids[:4]))))
    assert "4 offers chosen to compare" in page
    card = page.split(f'id="offer-card-{ids[4]}"')[1].split("</article>")[0]
    assert "Add to comparison" not in card
    assert "You can compare up to 4 offers. Remove one to add this one." in card


def test_catalog_ignores_bad_compare_ids(consumer, make_offer):
    make_offer("VPN-ACCESS")
    for bad in ("abc", "1,,x,💥", "99999999999999999999", ",".join(["1"] * 500)):
        assert consumer.get(f"/catalog/?compare={bad}").status_code == 200


@pytest.mark.parametrize(
    "ids", ["abc", "1,,x,💥", "²,١", "99999999999999999999", "-1", ",".join(["1"] * 500), ""]
)
def test_compare_bad_ids_never_fail(consumer, ids):
    response = consumer.get(f"/compare?ids={ids}")
    assert response.status_code == 200


def test_compare_leaves_out_invisible_offers(consumer, make_offer):
    engineering = accounts.find_group_by_name("Engineering")
    hidden = make_offer("SECRET", group_ids=[engineering.id])
    draft = make_offer("DRAFTY", publish=False)
    vpn = make_offer("VPN-ACCESS")
    page = html(consumer.get(f"/compare?ids={vpn.id},{hidden.id},{draft.id}"))
    assert f"Not available to you, so left out: offer {hidden.id}, {draft.id}." in page
    assert "SECRET" not in page and "DRAFTY" not in page


# --- agree and subscribe ------------------------------------------------------------------------


def test_order_form_generated_from_options(consumer, vpn):
    response = consumer.get(f"/subscriptions/new?offer={vpn.id}", follow_redirects=True)
    assert response.status_code == 200
    page = html(response)
    assert "Personal use only. Monthly notice." in page  # terms
    assert "99.5 %" in page and "7.50 EUR" in page  # service levels and price
    assert re.search(r'<select[^>]*name="option_profile"', page)
    assert '<option selected value="standard">' in page
    devices = re.search(r'<input[^>]*name="option_devices"[^>]*>', page).group(0)
    assert (
        'type="number"' in devices
        and 'min="1"' in devices
        and 'max="5"' in devices
        and 'value="1"' in devices
    )
    assert re.search(r'<input[^>]*name="option_split_tunnel"[^>]*type="checkbox"', page)
    assert re.search(r'<input[^>]*name="option_note"[^>]*type="text"', page)
    assert '<span class="req" aria-hidden="true">*</span>' in field_chunk(page, "option_devices")
    assert "req" not in field_chunk(page, "option_note")
    assert "I accept the terms and conditions" in page
    assert len(hidden_key(page)) == 32
    assert 'name="group_id"' not in page  # one group: nothing to choose
    assert 'data-testid="price-summary"' in page


def test_help_text_and_defaults_are_shown(consumer, make_offer):
    options = [
        {
            "key": "size",
            "label": "Mailbox size",
            "type": "number",
            "min": 1,
            "max": 50,
            "default": 5,
            "help": "In gigabytes.",
        }
    ]
    offer = make_offer("MAIL", name="Mailbox", options=options)
    page = html(consumer.get(f"/subscriptions/new?offer={offer.id}", follow_redirects=True))
    chunk = field_chunk(page, "option_size")
    assert "In gigabytes." in chunk and 'value="5"' in chunk


def test_order_creates_subscription_contract_and_order(consumer, vpn, users):
    response = place_order(consumer, vpn.id, option_split_tunnel="y")
    assert response.status_code == 302
    subscription = db.session.scalars(sa.select(Subscription)).one()
    assert response.headers["Location"].endswith(f"/subscriptions/{subscription.id}")
    assert subscription.options == {
        "profile": "developer",
        "devices": 2,
        "split_tunnel": True,
        "note": "Laptop ✓",
    }
    assert subscription.owner_id == users["consumer"].id
    page = html(consumer.get(response.headers["Location"]))
    assert "Ordered VPN access" in page
    assert (
        "<progress" in page
        and "1 of 2 steps done" in page
        and "Current step: <strong>Approve access</strong>" in page
    )


def test_order_without_accepting_terms_creates_nothing(consumer, vpn):
    data = order_form(consumer, vpn.id)
    del data["accept_terms"]
    response = consumer.post(f"/subscriptions/new?offer={vpn.id}", data=data)
    assert response.status_code == 422
    assert "You must accept the terms to order." in field_chunk(html(response), "accept_terms")
    assert count(Subscription) == 0 and count(Order) == 0 and count(ServiceContract) == 0


def test_invalid_options_give_field_errors_and_create_nothing(consumer, vpn):
    response = place_order(
        consumer, vpn.id, option_profile="root", option_devices="9", option_note="x" * 3000
    )
    assert response.status_code == 422
    page = html(response)
    assert "Choose one of: standard, developer." in field_chunk(page, "option_profile")
    assert "Must be at most 5." in field_chunk(page, "option_devices")
    assert "option_note" in page and "has-error" in field_chunk(page, "option_note")[:20]
    assert count(Subscription) == 0 and count(Order) == 0


@pytest.mark.parametrize(
    ("devices", "stored"), [("", 1), ("abc", None), ("1e999", None), ("-3", None), ("２", 2)]
)
def test_number_options_from_text(consumer, vpn, devices, stored):
    """Empty takes the default; Unicode digits are numbers; anything else is a field error."""
    response = place_order(consumer, vpn.id, option_devices=devices)
    if stored is None:
        assert response.status_code == 422
        assert "has-error" in field_chunk(html(response), "option_devices")[:20]
        assert count(Subscription) == 0
    else:
        assert response.status_code == 302
        assert db.session.scalars(sa.select(Subscription)).one().options["devices"] == stored


def test_double_submit_makes_one_order(consumer, vpn):
    data = order_form(consumer, vpn.id)
    first = consumer.post(f"/subscriptions/new?offer={vpn.id}", data=data)
    second = consumer.post(f"/subscriptions/new?offer={vpn.id}", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Order) == 1 and count(Subscription) == 1
    page = html(consumer.get(second.headers["Location"]))
    assert "You had already placed this order; here it is." in page


def test_a_reused_key_for_other_options_is_refused_with_a_fresh_key(consumer, vpn):
    data = order_form(consumer, vpn.id)
    consumer.post(f"/subscriptions/new?offer={vpn.id}", data=data)
    response = consumer.post(
        f"/subscriptions/new?offer={vpn.id}", data={**data, "option_devices": "3"}
    )
    assert response.status_code == 409
    page = html(response)
    assert "already used for a different request" in page
    assert hidden_key(page) != data["idempotency_key"]
    assert count(Order) == 1


def test_empty_idempotency_key_is_refused(consumer, vpn):
    response = place_order(consumer, vpn.id, idempotency_key="")
    assert response.status_code == 422 and "idempotency key" in html(response)
    assert count(Order) == 0
    assert len(hidden_key(html(response))) == 32  # the form can be sent again


def test_group_select_for_consumers_in_several_groups(app, make_offer, make_user):
    from tests.conftest import login

    offer = make_offer()
    sam = make_user("consumer", groups=("Sales", "Finance"))
    client = login(app.test_client(), sam)
    page = html(client.get(f"/subscriptions/new?offer={offer.id}", follow_redirects=True))
    assert re.search(r'<select[^>]*name="group_id"', page)
    sales = accounts.find_group_by_name("Sales")
    response = client.post(
        f"/subscriptions/new?offer={offer.id}",
        data={**order_form(client, offer.id), "group_id": str(sales.id)},
    )
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Subscription)).one().group_id == sales.id
    engineering = accounts.find_group_by_name("Engineering")
    response = client.post(
        f"/subscriptions/new?offer={offer.id}",
        data={**order_form(client, offer.id), "group_id": str(engineering.id)},
    )
    assert response.status_code == 422 and "Choose one of your groups." in field_chunk(
        html(response), "group_id"
    )


def test_retired_offer_shows_reason_and_replacement(consumer, make_offer, users):
    replacement = make_offer("VPN-NEXT", name="VPN next")
    offer = make_offer()
    catalog.transition_offer(
        users["catalog_manager"], offer.id, "retired", replacement_code="VPN-NEXT"
    )
    clock.freeze(clock.now() + timedelta(minutes=5))
    response = consumer.get(f"/subscriptions/new?offer={offer.id}", follow_redirects=True)
    assert response.status_code == 200
    page = html(response)
    assert "VPN access is retired and takes no new orders." in page
    assert (
        f'href="/subscriptions/new?offer={replacement.id}"' in page
        and "Order VPN next instead" in page
    )
    posted = consumer.post(
        f"/subscriptions/new?offer={offer.id}", data={"accept_terms": "y", "idempotency_key": "k"}
    )
    assert posted.status_code == 409 and count(Order) == 0


def test_invisible_and_missing_offers_are_404(consumer, make_offer):
    engineering = accounts.find_group_by_name("Engineering")
    hidden = make_offer("SECRET", group_ids=[engineering.id])
    for url in (
        f"/subscriptions/new?offer={hidden.id}",
        "/subscriptions/new?offer=99999",
        "/subscriptions/new",
        "/subscriptions/new?offer=abc",
    ):
        assert consumer.get(url).status_code == 404, url
    assert (
        consumer.post(
            f"/subscriptions/new?offer={hidden.id}", data={"accept_terms": "y"}
        ).status_code
        == 404
    )


def test_only_consumers_order(client_as, vpn):
    assert (
        client_as("support_agent")
        .get(f"/subscriptions/new?offer={vpn.id}", follow_redirects=True)
        .status_code
        == 403
    )
    assert (
        client_as("catalog_manager")
        .get(f"/subscriptions/new?offer={vpn.id}", follow_redirects=True)
        .status_code
        == 403
    )


def test_bundle_lists_members_in_sequence(consumer, make_offer, users):
    make_offer("LAPTOP", name="Laptop")
    make_offer("VPN-ACCESS")
    manager = users["catalog_manager"]
    bundle = catalog.create_offer(
        manager, complete_offer_data("STARTER-KIT", name="Starter kit", kind="bundle", options=[])
    )
    catalog.set_bundle_members(manager, bundle.id, ["LAPTOP", "VPN-ACCESS"])
    article = knowledge.save_article(manager, title="Starter kit", body="x")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, bundle.id, status)
    page = html(consumer.get(f"/subscriptions/new?offer={bundle.id}", follow_redirects=True))
    members = page.split('data-testid="bundle-members"')[1].split("</ol>")[0]
    assert members.index("Laptop") < members.index("VPN access")
    response = consumer.post(
        f"/subscriptions/new?offer={bundle.id}", data=order_form(consumer, bundle.id)
    )
    assert response.status_code == 302
    detail = html(consumer.get(response.headers["Location"]))
    assert "Bundle members" in detail and "Laptop" in detail


# --- subscription and contract pages ----------------------------------------------------------


def test_other_groups_subscription_and_contract_are_404(client_as, order_vpn):
    order, _ = order_vpn()
    contract = subs.current_contract(order.subscription)
    other = client_as("other_consumer")
    sid = order.subscription_id
    for url in (
        f"/subscriptions/{sid}",
        f"/contracts/{contract.id}",
        f"/subscriptions/{sid}/modify",
        f"/subscriptions/{sid}/terminate",
        "/subscriptions/99999",
        "/contracts/99999",
    ):
        assert other.get(url).status_code == 404, url
    assert (
        other.post(
            f"/subscriptions/{sid}/terminate", data={"end_now": "y", "idempotency_key": "x"}
        ).status_code
        == 404
    )
    assert other.post(f"/subscriptions/{sid}/cancel-termination").status_code == 404
    assert db.session.get(Subscription, sid).status == "fulfilling"


def test_group_colleague_and_agents_see_the_subscription(app, order_vpn, make_user, client_as):
    from tests.conftest import login

    order, _ = order_vpn()
    colleague = login(app.test_client(), make_user("consumer", groups=("Finance",)))
    assert colleague.get(f"/subscriptions/{order.subscription_id}").status_code == 200
    assert (
        client_as("support_agent").get(f"/subscriptions/{order.subscription_id}").status_code == 200
    )


def test_subscription_page_shows_failure_reason(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subs.transition_task(
        agent, manual_task(order.id).id, "fail", reason="Token hardware out of stock"
    )
    page = html(consumer.get(f"/subscriptions/{order.subscription_id}"))
    assert (
        'data-testid="failure-reason"' in page
        and "Approve access: Token hardware out of stock" in page
    )


def test_active_subscription_page_shows_contract_and_actions(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    page = html(consumer.get(f"/subscriptions/{subscription.id}"))
    contract = subs.current_contract(subscription)
    assert f'href="/contracts/{contract.id}"' in page and "contract version 1" in page
    assert f'href="/subscriptions/{subscription.id}/modify"' in page
    assert f'href="/subscriptions/{subscription.id}/terminate"' in page
    assert "2 of 2 steps done" in page and "Order history" in page


def test_contract_page_is_the_frozen_snapshot(consumer, order_vpn, agent, users):
    order, _ = order_vpn()
    activate(order, agent)
    manager = users["catalog_manager"]
    draft = catalog.create_revision(manager, catalog.live_revision("VPN-ACCESS").id)
    catalog.update_offer(
        manager, draft.id, {"terms": "New terms", "price": "99.00"}, expected_version=draft.version
    )
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, draft.id, status)
    contract = subs.current_contract(db.session.get(Subscription, order.subscription_id))
    page = html(consumer.get(f"/contracts/{contract.id}"))
    assert "Personal use only. Monthly notice." in page and "New terms" not in page
    assert "7.50 EUR" in page and "VPN-ACCESS, revision 1" in page
    assert users["consumer"].email in page and "Devices" in page and "developer" in page
    assert "data-print" in page and "js/subscriptions.js" in page


# --- modify and terminate ----------------------------------------------------------------------


def test_change_options_amends_contract_after_fulfillment(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    page = html(consumer.get(f"/subscriptions/{subscription.id}/modify"))
    assert 'value="2"' in field_chunk(page, "option_devices")  # current options prefilled
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify",
        data={
            "idempotency_key": hidden_key(page),
            "accept_terms": "y",
            "option_profile": "developer",
            "option_devices": "4",
        },
    )
    assert response.status_code == 302
    assert db.session.get(Subscription, subscription.id).status == "modifying"
    change = db.session.scalars(sa.select(Order).where(Order.order_type == "modify")).one()
    subs.transition_task(agent, change.tasks[0].id, "complete")
    detail = html(consumer.get(f"/subscriptions/{subscription.id}"))
    assert "contract version 2" in detail and "Version 1" in detail
    assert db.session.get(Subscription, subscription.id).options["devices"] == 4


def test_change_without_terms_or_without_change_is_refused(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    page = html(consumer.get(f"/subscriptions/{subscription.id}/modify"))
    base = {
        "idempotency_key": hidden_key(page),
        "option_profile": "developer",
        "option_devices": "2",
    }
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify", data={**base, "option_devices": "3"}
    )
    assert response.status_code == 422 and "You must accept the terms." in field_chunk(
        html(response), "accept_terms"
    )
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify", data={**base, "accept_terms": "y"}
    )
    assert response.status_code == 422 and "Nothing to change" in html(response)
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify",
        data={**base, "accept_terms": "y", "option_devices": "77"},
    )
    assert response.status_code == 422 and "Must be at most 5." in field_chunk(
        html(response), "option_devices"
    )
    assert (
        db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.order_type == "modify"))
        == 0
    )


def test_move_to_another_offer(consumer, order_vpn, agent, make_offer):
    order, _ = order_vpn(upgrade_codes=["VPN-PREMIUM"])
    subscription = activate(order, agent)
    premium = make_offer("VPN-PREMIUM", name="VPN premium", price="12.00", options=[])
    page = html(consumer.get(f"/subscriptions/{subscription.id}/modify?target={premium.id}"))
    assert "Move to VPN premium" in page and "12.00 EUR" in page
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify",
        data={
            "idempotency_key": hidden_key(page),
            "accept_terms": "y",
            "target_offer_id": str(premium.id),
        },
    )
    assert response.status_code == 302
    change = db.session.scalars(sa.select(Order).where(Order.order_type == "modify")).one()
    assert change.target_offer_id == premium.id
    subs.transition_task(agent, change.tasks[0].id, "complete")
    subscription = db.session.get(Subscription, subscription.id)
    assert (
        subscription.offer_code == "VPN-PREMIUM" and subs.current_contract(subscription).price == 12
    )


def test_retired_offer_prompts_to_move_to_replacement(
    consumer, order_vpn, agent, make_offer, users
):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    replacement = make_offer("VPN-NEXT", name="VPN next")
    catalog.transition_offer(
        users["catalog_manager"], subscription.offer_id, "retired", replacement_code="VPN-NEXT"
    )
    clock.freeze(clock.now() + timedelta(minutes=5))
    page = html(consumer.get(f"/subscriptions/{subscription.id}"))
    assert "VPN access is retired" in page
    assert f'href="/subscriptions/{subscription.id}/modify?target={replacement.id}"' in page
    mine = html(consumer.get("/subscriptions"))
    assert "Move to replacement" in mine
    form = html(
        consumer.get(f"/subscriptions/{subscription.id}/modify")
    )  # the replacement is preselected
    assert "Move to VPN next" in form
    response = consumer.post(
        f"/subscriptions/{subscription.id}/modify",
        data={
            "idempotency_key": hidden_key(form),
            "accept_terms": "y",
            "target_offer_id": str(replacement.id),
            "option_profile": "developer",
            "option_devices": "2",
        },
    )
    assert response.status_code == 302
    assert (
        db.session.scalars(sa.select(Order).where(Order.order_type == "modify"))
        .one()
        .target_offer_id
        == replacement.id
    )


def test_change_page_of_a_fulfilling_subscription_redirects(consumer, order_vpn):
    order, _ = order_vpn()
    response = consumer.get(f"/subscriptions/{order.subscription_id}/modify")
    assert response.status_code == 302
    assert "cannot be changed now" in html(consumer.get(response.headers["Location"]))


def test_change_targets_are_filtered_in_sql_before_any_bound(
    consumer, order_vpn, agent, make_offer, queries
):
    """More than 300 visible offers of the same product, the first 300 by name bundles (which
    are no change target): an allowed target sorting after them is still offered, in as many
    statements as before."""
    gateway = product("Remote Access Gateway")
    order, _ = order_vpn(product_id=gateway)
    subscription = activate(order, agent)
    zeta = make_offer("ZETA-VPN", name="Zeta VPN", product_id=gateway)
    path = f"/subscriptions/{subscription.id}/modify"
    consumer.get(path)
    with queries() as few:
        consumer.get(path)
    add_visible_offers(310, kind="bundle", name="Bundle", product_id=gateway)
    with queries() as many:
        page = html(consumer.get(path))
    assert f'<option value="{zeta.id}">Zeta VPN (ZETA-VPN) — same product</option>' in page
    assert "Bundle 0000" not in page
    assert len(many) == len(few), (len(few), len(many))


def test_change_targets_past_the_bound_are_found_by_name(consumer, order_vpn, agent, make_offer):
    gateway = product("Remote Access Gateway")
    order, _ = order_vpn(product_id=gateway)
    subscription = activate(order, agent)
    zeta = make_offer("ZETA-VPN", name="Zeta VPN", product_id=gateway)
    add_visible_offers(
        selection.CHANGE_TARGET_LIMIT, kind="new_instance", name="Alpha", product_id=gateway
    )
    path = f"/subscriptions/{subscription.id}/modify"
    page = html(consumer.get(path))
    listed = page.split('<select id="target"')[1].split("</select>")[0]
    assert listed.count("<option ") == selection.CHANGE_TARGET_LIMIT + 1  # and "Keep"
    assert "Zeta VPN (ZETA-VPN)" not in page and 'name="find"' in page
    found = html(consumer.get(f"{path}?find=zeta"))
    assert f'<option value="{zeta.id}">Zeta VPN (ZETA-VPN) — same product</option>' in found
    assert "Alpha 0000" not in found
    chosen = html(consumer.get(f"{path}?target={zeta.id}"))  # chosen, it stays in the list
    assert (
        f'<option value="{zeta.id}" selected>Zeta VPN (ZETA-VPN) — same product</option>' in chosen
    )
    assert consumer.get(f"{path}?find=%01").status_code == 200
    assert consumer.get(f"{path}?find=%00").status_code == 400  # NUL: refused at the door
    for literal in ("100%25", "_", "💥" * 200):  # % and _ match themselves only
        response = consumer.get(f"{path}?find={literal}")
        assert response.status_code == 200 and "holds" in html(response)


def test_terminate_now(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    page = html(consumer.get(f"/subscriptions/{subscription.id}/terminate"))
    data = {"idempotency_key": hidden_key(page), "end_now": "End now"}
    response = consumer.post(f"/subscriptions/{subscription.id}/terminate", data=data)
    assert response.status_code == 302
    assert db.session.get(Subscription, subscription.id).status == "terminating"
    again = consumer.post(
        f"/subscriptions/{subscription.id}/terminate", data=data
    )  # a double click
    assert again.status_code == 302 and count(Order) == 2
    end = db.session.scalars(sa.select(Order).where(Order.order_type == "terminate")).one()
    subs.transition_task(agent, end.tasks[0].id, "complete")
    detail = html(consumer.get(f"/subscriptions/{subscription.id}"))
    assert "terminated" in detail and "End subscription" not in detail


def test_terminate_at_a_date_and_cancel(consumer, order_vpn, agent):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    page = html(consumer.get(f"/subscriptions/{subscription.id}/terminate"))
    when = (clock.now() + timedelta(days=10)).date().isoformat()
    response = consumer.post(
        f"/subscriptions/{subscription.id}/terminate",
        data={"idempotency_key": hidden_key(page), "end_at": "y", "at": when},
    )
    assert response.status_code == 302
    detail = html(consumer.get(f"/subscriptions/{subscription.id}"))
    assert (
        f"The subscription will end on {when}." in detail and "Cancel the scheduled end" in detail
    )
    assert consumer.post(f"/subscriptions/{subscription.id}/cancel-termination").status_code == 302
    subscription = db.session.get(Subscription, subscription.id)
    assert (
        subscription.terminates_on is None and subscription.status == "active" and count(Order) == 1
    )


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("", "Choose the date the subscription should end."),
        ("2001-01-01", "The end date cannot be in the past."),
        ("not a date", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_terminate_at_a_bad_date_is_a_field_error(consumer, order_vpn, agent, at, message):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    response = consumer.post(
        f"/subscriptions/{subscription.id}/terminate",
        data={"idempotency_key": "k1", "end_at": "y", "at": at},
    )
    assert response.status_code == 422
    assert message in field_chunk(html(response), "at")
    assert db.session.get(Subscription, subscription.id).status == "active" and count(Order) == 1


def test_terminating_a_fulfilling_subscription_is_refused(consumer, order_vpn):
    order, _ = order_vpn()
    response = consumer.post(
        f"/subscriptions/{order.subscription_id}/terminate",
        data={"idempotency_key": "k1", "end_now": "y"},
    )
    assert response.status_code == 302
    assert "cannot be ended now" in html(consumer.get(response.headers["Location"]))


# --- my subscriptions --------------------------------------------------------------------------


def test_my_subscriptions_lists_my_groups_only(consumer, client_as, order_vpn, make_offer, users):
    order, _ = order_vpn()
    other_offer = make_offer("LAPTOP", name="Laptop")
    subs.subscribe(
        users["other_consumer"], other_offer.id, options={}, accept_terms=True, idempotency_key="o"
    )
    page = html(consumer.get("/subscriptions"))
    assert (
        page.count('data-testid="subscription-row"') == 1
        and "VPN access" in page
        and "Laptop" not in page
    )
    assert "1/2" in page and "Finance" in page
    other = html(client_as("other_consumer").get("/subscriptions"))
    assert "Laptop" in other and "VPN access" not in other


def test_my_subscriptions_filters_and_pagination(app, consumer, make_offer, users):
    app.config["ITEMS_PER_PAGE"] = 2
    try:
        vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="Laptop")
        for number in range(3):
            subs.subscribe(
                users["consumer"],
                vpn.id,
                options={},
                accept_terms=True,
                idempotency_key=f"v{number}",
            )
        subs.subscribe(
            users["consumer"], laptop.id, options={}, accept_terms=True, idempotency_key="l"
        )
        first = html(consumer.get("/subscriptions"))
        assert first.count('data-testid="subscription-row"') == 2 and "Page 1 of 2" in first
        assert (
            html(consumer.get("/subscriptions?page=2")).count('data-testid="subscription-row"') == 2
        )
        filtered = html(consumer.get("/subscriptions?offer=LAPTOP"))
        assert filtered.count('data-testid="subscription-row"') == 1
        assert html(consumer.get("/subscriptions?status=active")).count("subscription-row") == 0
        assert "No subscriptions match these filters." in html(
            consumer.get("/subscriptions?status=active")
        )
        for query in ("status=💥", "group=abc", "page=-4", "page=abc", "offer=" + "x" * 5000):
            assert consumer.get(f"/subscriptions?{query}").status_code == 200, query
    finally:
        app.config["ITEMS_PER_PAGE"] = 20


def test_my_subscriptions_csv_export_follows_filters(consumer, make_offer, users):
    vpn, laptop = make_offer("VPN-ACCESS"), make_offer("LAPTOP", name="=Laptop")
    subs.subscribe(users["consumer"], vpn.id, options={}, accept_terms=True, idempotency_key="v")
    subs.subscribe(users["consumer"], laptop.id, options={}, accept_terms=True, idempotency_key="l")
    response = consumer.get("/subscriptions/export.csv?offer=LAPTOP")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = html(response).strip().splitlines()
    assert lines[0].startswith("id,offer_code,offer,group,status")
    assert len(lines) == 2 and "'=Laptop" in lines[1] and "Finance" in lines[1]


def test_my_subscriptions_empty_state_links_to_catalog(consumer):
    page = html(consumer.get("/subscriptions"))
    assert "You have no subscriptions yet." in page and 'href="/catalog/"' in page


def test_nav_links_for_consumers_and_agents(consumer, client_as):
    assert 'href="/subscriptions"' in html(consumer.get("/"))
    assert 'href="/fulfillment"' in html(client_as("support_agent").get("/"))


# --- fulfillment queue -------------------------------------------------------------------------


@pytest.fixture
def agent_client(catalog_setup, agent, app):
    from tests.conftest import login

    return login(app.test_client(), agent)


def test_queue_shows_only_the_agents_groups(agent_client, order_vpn, make_offer, users):
    order, _ = order_vpn()
    laptop = make_offer(
        "LAPTOP",
        name="Laptop",
        fulfillment_plan=[
            {"name": "Image laptop", "mode": "manual", "group": "Engineering", "expected_hours": 2}
        ],
    )
    subs.subscribe(
        users["other_consumer"], laptop.id, options={}, accept_terms=True, idempotency_key="l"
    )
    page = html(agent_client.get("/fulfillment"))
    assert "Approve access" in page and "Image laptop" not in page
    assert (
        "VPN access" in page
        and "Finance" in page
        and f"subscription {order.subscription_id}" in page
    )
    engineering = accounts.find_group_by_name("Engineering")
    assert agent_client.get(f"/fulfillment?group={engineering.id}").status_code == 404
    assert agent_client.get("/fulfillment?status=💥&group=abc").status_code == 200


def test_queue_is_oldest_first(agent_client, make_offer, users):
    vpn = make_offer()
    start = clock.now()
    for number in range(3):
        clock.freeze(start + timedelta(minutes=number))
        subs.subscribe(
            users["consumer"],
            vpn.id,
            options={"note": f"order-{number}"},
            accept_terms=True,
            idempotency_key=f"k{number}",
        )
    clock.freeze(None)
    page = html(agent_client.get("/fulfillment"))
    ids = [int(i) for i in re.findall(r'data-task-id="(\d+)"', page)]
    queued = [
        task.id
        for task in db.session.scalars(
            sa.select(FulfillmentTask)
            .where(FulfillmentTask.mode == "manual")
            .order_by(FulfillmentTask.queued_at)
        )
    ]
    assert ids == queued


def test_queue_is_for_agents(consumer, client_as):
    assert consumer.get("/fulfillment").status_code == 403
    assert client_as("catalog_manager").get("/fulfillment").status_code == 403


def test_agent_starts_and_completes_a_task(agent_client, order_vpn):
    order, _ = order_vpn()
    task = manual_task(order.id)
    response = agent_client.post(
        f"/fulfillment/tasks/{task.id}", data={"to": "start", "next": "/fulfillment?status="}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/fulfillment?status="
    )
    assert db.session.get(FulfillmentTask, task.id).status == "in_progress"
    page = html(agent_client.get("/fulfillment"))
    assert "Release" in page and "Complete" in page
    agent_client.post(f"/fulfillment/tasks/{task.id}", data={"to": "complete"})
    assert db.session.get(Subscription, order.subscription_id).status == "active"
    assert "completed" in html(agent_client.get("/fulfillment"))


def test_refused_transition_is_flashed(agent_client, order_vpn):
    order, _ = order_vpn()
    task = manual_task(order.id)
    agent_client.post(f"/fulfillment/tasks/{task.id}", data={"to": "complete"})
    response = agent_client.post(f"/fulfillment/tasks/{task.id}", data={"to": "start"})
    assert response.status_code == 302
    assert "A done task cannot become in progress. Allowed: none." in html(
        agent_client.get("/fulfillment")
    )
    response = agent_client.post(
        f"/fulfillment/tasks/{task.id}", data={"to": "explode", "next": "https://evil.example/"}
    )
    assert response.headers["Location"].endswith("/fulfillment")


def test_fail_without_reason_is_a_field_error(agent_client, order_vpn):
    order, _ = order_vpn()
    task = manual_task(order.id)
    response = agent_client.post(
        f"/fulfillment/tasks/{task.id}/fail", data={f"task{task.id}-reason": "   "}
    )
    assert response.status_code == 422
    page = html(response)
    chunk = field_chunk(page, f"task{task.id}-reason")
    assert "Give a reason." in chunk and '<details class="fail" open>' in page
    assert db.session.get(FulfillmentTask, task.id).status == "queued"
    too_long = agent_client.post(
        f"/fulfillment/tasks/{task.id}/fail", data={f"task{task.id}-reason": "x" * 2001}
    )
    assert (
        too_long.status_code == 422 and db.session.get(FulfillmentTask, task.id).status == "queued"
    )


def test_fail_with_reason_then_retry(agent_client, consumer, order_vpn):
    order, _ = order_vpn()
    task = manual_task(order.id)
    response = agent_client.post(
        f"/fulfillment/tasks/{task.id}/fail", data={f"task{task.id}-reason": "No licence left ☹"}
    )
    assert response.status_code == 302
    assert db.session.get(Subscription, order.subscription_id).status == "failed"
    page = html(agent_client.get("/fulfillment"))
    assert "No licence left ☹" in page and "Retry" in page
    assert "No licence left ☹" in html(consumer.get(f"/subscriptions/{order.subscription_id}"))
    agent_client.post(f"/fulfillment/tasks/{task.id}", data={"to": "retry"})
    assert db.session.get(Subscription, order.subscription_id).status == "fulfilling"


def test_other_groups_task_is_404_for_an_agent(app, order_vpn, make_user):
    from tests.conftest import login

    order, _ = order_vpn()
    outsider = login(app.test_client(), make_user("support_agent", groups=("Engineering",)))
    task = manual_task(order.id)
    assert (
        outsider.post(f"/fulfillment/tasks/{task.id}", data={"to": "complete"}).status_code == 404
    )
    assert (
        outsider.post(
            f"/fulfillment/tasks/{task.id}/fail", data={f"task{task.id}-reason": "x"}
        ).status_code
        == 404
    )
    assert db.session.get(FulfillmentTask, task.id).status == "queued"


def test_queue_page_leaves_due_terminations_to_the_processing_job(
    agent_client, order_vpn, agent, users
):
    """A GET changes nothing: a due termination waits for `flask subscriptions process` (or the
    periodic job that runs process_due), and then its step is in the queue."""
    order, _ = order_vpn()
    subscription = activate(order, agent)
    when = clock.now() + timedelta(days=2)
    subs.terminate(users["consumer"], subscription.id, at=when.isoformat(), idempotency_key="t")
    clock.freeze(when + timedelta(minutes=1))
    page = html(agent_client.get("/fulfillment"))
    assert "scheduled termination" not in page and "Decommission" not in page
    assert db.session.get(Subscription, subscription.id).status == "active"
    assert subs.process_due(SYSTEM) == 1
    page = html(agent_client.get("/fulfillment"))
    assert "Decommission" in page
    assert db.session.get(Subscription, subscription.id).status == "terminating"


def test_cli_process_starts_due_terminations(app, order_vpn, agent, users):
    order, _ = order_vpn()
    subscription = activate(order, agent)
    when = clock.now() + timedelta(days=2)
    subs.terminate(users["consumer"], subscription.id, at=when.isoformat(), idempotency_key="t")
    result = app.test_cli_runner().invoke(args=["subscriptions", "process"])
    assert result.exit_code == 0 and "Started 0 scheduled terminations." in result.output
    clock.freeze(when + timedelta(minutes=1))
    result = app.test_cli_runner().invoke(args=["subscriptions", "process"])
    assert "Started 1 scheduled termination." in result.output
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status == "terminating"
