"""What a subscription may change to (issue 15, item 5): its offer's replacement, the upgrades
and downgrades the catalog manager marked, and offers of the same product, chosen in SQL; any
other offer is refused by the service; the change form shows the price difference per billing
period and what the new contract changes."""

from decimal import Decimal

import pytest

from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.catalog.exchange import export as catalog_export
from app.errors import ValidationFailed
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.models import Order
from app.subscriptions.services import changes, selection
from tests.conftest import token_for
from tests.subscriptions.test_routes import activate, add_visible_offers, hidden_key, html

LEVELS = {
    "availability_pct": 99.9,
    "fulfillment_target_hours": 24,
    "support_hours": "24x7",
    "response_hours": {"critical": 1, "high": 4, "medium": 8, "low": 24},
    "resolution_hours": {"critical": 4, "high": 8, "medium": 24, "low": 72},
}


@pytest.fixture
def vpn_family(make_offer, order_vpn, agent):
    """An active VPN subscription (7.50 EUR a month), VPN plus marked as its upgrade, VPN lite
    as its downgrade, a one-time setup of the same product, and two offers it is no change of."""
    gateway = catalog.save_product(SYSTEM, name="Remote Access Gateway").id
    order, _ = order_vpn(
        product_id=gateway, upgrade_codes=["VPN-PLUS"], downgrade_codes=["VPN-LITE"]
    )
    subscription = activate(order, agent)
    offers = {
        "plus": make_offer(
            "VPN-PLUS",
            name="VPN plus",
            price="12.00",
            service_levels=LEVELS,
            terms="Personal use only. Yearly notice.",
        ),
        "lite": make_offer("VPN-LITE", name="VPN lite", price="4.00"),
        "setup": make_offer(
            "VPN-SETUP",
            name="VPN site setup",
            price="900.00",
            billing_period="one_time",
            product_id=gateway,
        ),
        "pentest": make_offer(
            "PEN-TEST", name="Penetration test", price="6500.00", billing_period="one_time"
        ),
        "monitor": make_offer("MONITOR-27", name="Monitor 27 inch", price="15.00"),
    }
    return subscription, offers


def test_only_related_offers_are_change_targets(vpn_family, users):
    subscription, offers = vpn_family
    targets, more = selection.change_targets(users["consumer"], subscription)
    assert [offer.name for offer in targets] == ["VPN lite", "VPN plus", "VPN site setup"]
    assert more is False
    assert selection.relations(subscription, targets) == {
        offers["lite"].id: "downgrade",
        offers["plus"].id: "upgrade",
        offers["setup"].id: "same_product",
    }


def test_a_change_to_an_unrelated_offer_is_refused(vpn_family, users):
    subscription, offers = vpn_family
    with pytest.raises(ValidationFailed) as refused:
        subs.modify(
            users["consumer"],
            subscription.id,
            target_offer_id=offers["pentest"].id,
            accept_terms=True,
            idempotency_key="pentest",
        )
    message = (
        "Penetration test is not a change of VPN access: choose its replacement, an upgrade or "
        "downgrade, or another offer of the same product."
    )
    assert refused.value.fields == {"target_offer_id": [message]}
    order, created = subs.modify(
        users["consumer"],
        subscription.id,
        target_offer_id=offers["plus"].id,
        options={},
        accept_terms=True,
        idempotency_key="plus",
    )
    assert created and order.target_offer_id == offers["plus"].id


def test_the_price_difference_per_billing_period(vpn_family):
    subscription, offers = vpn_family
    contract = subs.current_contract(subscription)
    assert changes.price_difference(subscription, contract, offers["plus"]) == [
        {
            "period": "monthly",
            "now": Decimal("7.50"),
            "after": Decimal("12.00"),
            "difference": Decimal("4.50"),
        }
    ]
    assert changes.price_difference(subscription, contract, offers["setup"]) == [
        {
            "period": "monthly",
            "now": Decimal("7.50"),
            "after": Decimal("0.00"),
            "difference": Decimal("-7.50"),
        },
        {
            "period": "one_time",
            "now": Decimal("0.00"),
            "after": Decimal("900.00"),
            "difference": Decimal("900.00"),
        },
    ]


def test_what_the_new_contract_changes(vpn_family):
    subscription, offers = vpn_family
    contract = subs.current_contract(subscription)
    changed = changes.contract_changes(subscription, contract, offers["plus"])
    assert changed["terms"] == {
        "now": "Personal use only. Monthly notice.",
        "after": "Personal use only. Yearly notice.",
    }
    assert changed["levels"] == [
        {"label": "Availability (%)", "now": 99.5, "after": 99.9},
        {"label": "Support hours", "now": "business", "after": "24x7"},
    ]
    same = changes.contract_changes(subscription, contract, offers["lite"])
    assert same["terms"] is None and same["levels"] == []


def test_the_change_form_lists_the_related_offers_and_the_difference(client_as, vpn_family):
    subscription, offers = vpn_family
    consumer = client_as("consumer")
    path = f"/subscriptions/{subscription.id}/modify"
    page = html(consumer.get(path))
    listed = page.split('<select id="target"')[1].split("</select>")[0]
    assert f'<option value="{offers["plus"].id}">VPN plus (VPN-PLUS) — upgrade</option>' in listed
    assert f'<option value="{offers["lite"].id}">VPN lite (VPN-LITE) — downgrade</option>' in listed
    assert "Penetration test" not in listed and "Monitor" not in listed
    chosen = html(consumer.get(f"{path}?target={offers['plus'].id}"))
    table = chosen.split('data-testid="price-difference"')[1].split("</table>")[0]
    assert '<td class="num">7.50 EUR</td><td class="num">12.00 EUR</td>' in table
    assert "+4.50 EUR" in table
    assert "Availability (%)</th><td>99.5</td><td>99.9</td>" in chosen
    refused = html(consumer.get(f"{path}?target={offers['pentest'].id}"))
    assert "Penetration test is not a change of VPN access" in refused
    assert "Move to Penetration test" not in refused
    posted = consumer.post(
        path,
        data={
            "idempotency_key": hidden_key(chosen),
            "accept_terms": "y",
            "target_offer_id": str(offers["pentest"].id),
        },
    )
    assert posted.status_code == 302
    assert db.session.query(Order).filter_by(order_type="modify").count() == 0


def test_unrelated_offers_past_the_bound_do_not_crowd_out_an_upgrade(
    client_as, order_vpn, agent, make_offer
):
    order, _ = order_vpn(upgrade_codes=["ZETA-VPN"])
    subscription = activate(order, agent)
    zeta = make_offer("ZETA-VPN", name="Zeta VPN")
    add_visible_offers(selection.CHANGE_TARGET_LIMIT + 10, kind="new_instance", name="Alpha")
    page = html(client_as("consumer").get(f"/subscriptions/{subscription.id}/modify"))
    listed = page.split('<select id="target"')[1].split("</select>")[0]
    assert f'<option value="{zeta.id}">Zeta VPN (ZETA-VPN) — upgrade</option>' in listed
    assert "Alpha" not in listed and 'name="find"' not in page


# --- where the catalog manager marks upgrades and downgrades -------------------------------------


def test_upgrades_are_set_through_the_api_and_checked(api, make_offer, users):
    offer = make_offer("VPN-ACCESS", publish=False)
    client = api(token_for(users["catalog_manager"]))
    path = f"/api/v1/offers/{offer.id}"
    etag = client.get(path).headers["ETag"]
    refused = client.patch(
        path,
        json={"upgrade_codes": ["vpn-access", "bad code"], "downgrade_codes": []},
        headers={"If-Match": etag},
    )
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "upgrade_codes": ["“BAD CODE” is not an offer code.", "An offer is not a change of itself."]
    }
    saved = client.patch(
        path,
        json={"upgrade_codes": ["vpn-plus"], "downgrade_codes": ["VPN-LITE"]},
        headers={"If-Match": etag},
    )
    assert saved.status_code == 200
    assert (saved.json["upgrade_codes"], saved.json["downgrade_codes"]) == (
        ["VPN-PLUS"],
        ["VPN-LITE"],
    )


def test_the_catalog_file_carries_upgrades_and_downgrades(make_offer, users):
    make_offer("VPN-ACCESS", upgrade_codes=["VPN-PLUS"], downgrade_codes="VPN-LITE, VPN-MINI")
    document = catalog_export.export_catalog(users["catalog_manager"])
    (item,) = [item for item in document["offers"] if item["code"] == "VPN-ACCESS"]
    assert (item["upgrades"], item["downgrades"]) == (["VPN-PLUS"], ["VPN-LITE", "VPN-MINI"])
