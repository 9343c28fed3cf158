"""One price in force everywhere (issue 15, item 6): the editor and its margin, the API's
margin, a new revision, the dashboards' margin; price changes in the offer's history; a
back-dated price change only with an explicit confirmation, and then told to no one as news;
a bundle's sum of its members' prices per billing period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.catalog import services as catalog
from app.catalog.models import PriceChange
from app.catalog.services import workspace
from app.errors import ValidationFailed
from app.extensions import db
from app.notifications.models import Notification
from tests.conftest import token_for

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
BACKDATED = (
    "This date is in the past: subscribers would be shown a price that applied before anyone "
    "was told. Choose today or a later date, or confirm the back-dated change below."
)


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(NOW)
    yield
    clock.freeze(None)


@pytest.fixture
def raised(make_offer, users):
    """VPN-ACCESS published at 7.50 (cost 3.00); from yesterday 9.00 (cost 4.00)."""
    offer = make_offer("VPN-ACCESS")
    db.session.add(
        PriceChange(
            offer_code="VPN-ACCESS",
            price=Decimal("9.00"),
            cost=Decimal("4.00"),
            effective_from=NOW - timedelta(hours=2),
            reason="Annual fee recalculation",
        )
    )
    db.session.commit()
    return offer


def notifications() -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)))


def test_the_editor_of_a_published_revision_shows_the_price_in_force(raised, client_as):
    page = client_as("catalog_manager").get(f"/catalog/manage/offers/{raised.id}")
    html = page.get_data(as_text=True)
    price_input = html[html.index('id="price"') - 200 :][:400]
    assert 'value="9.00"' in price_input
    margin = html[html.index('data-testid="margin"') :][:120]
    assert "5.00 EUR" in margin and "55.6 %" in margin  # (9.00 − 4.00) / 9.00


def test_the_api_margin_is_the_margin_in_force(raised, users, api):
    body = api(token_for(users["catalog_manager"])).get(f"/api/v1/offers/{raised.id}").json
    assert (body["current_price"], body["current_cost"]) == ("9.00", "4.00")
    assert (body["margin"], body["margin_pct"]) == ("5.00", "55.6")


def test_a_new_revision_starts_from_the_price_in_force(raised, users):
    manager = users["catalog_manager"]
    draft = catalog.create_revision(manager, raised.id)
    assert (draft.price, draft.cost) == (Decimal("9.00"), Decimal("4.00"))
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, draft.id, status)
    assert catalog.current_price(draft) == (Decimal("9.00"), Decimal("4.00"))
    assert [c.reason for c in catalog.price_history("VPN-ACCESS")] == ["Annual fee recalculation"]


def test_a_revision_with_another_price_makes_it_the_price_from_publication(raised, users):
    manager = users["catalog_manager"]
    draft = catalog.create_revision(manager, raised.id)
    catalog.update_offer(manager, draft.id, {"price": "9.50"}, expected_version=None)
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, draft.id, status)
    assert catalog.current_price(draft) == (Decimal("9.50"), Decimal("4.00"))
    assert [(c.price, c.reason) for c in catalog.price_history("VPN-ACCESS")] == [
        (Decimal("9.50"), "Revision 2"),
        (Decimal("9.00"), "Annual fee recalculation"),
    ]


def test_price_changes_appear_in_the_offer_history(make_offer, users, client_as):
    offer = make_offer("VPN-ACCESS")
    catalog.add_price_change(
        users["catalog_manager"],
        "VPN-ACCESS",
        price="8.00",
        effective_from="2030-04-01",
        reason="Annual fee recalculation",
    )
    db.session.commit()
    history = workspace.offer_history(offer)
    assert [(e.object_type, e.action) for e in history][:1] == [("price_change", "created")]
    page = client_as("catalog_manager").get(f"/catalog/manage/offers/{offer.id}")
    section = page.get_data(as_text=True).split('id="history"')[1]
    row = section[section.index("<tbody>") :].split("</tr>")[0]
    assert "price change" in row and "Annual fee recalculation" in row and "8.00" in row


def test_a_back_dated_price_change_needs_a_confirmation_and_tells_no_one(make_offer, users):
    make_offer("VPN-ACCESS")
    manager = users["catalog_manager"]
    told = notifications()
    month_ago = (NOW - timedelta(days=30)).date().isoformat()
    with pytest.raises(ValidationFailed) as failure:
        catalog.add_price_change(manager, "VPN-ACCESS", price="8.00", effective_from=month_ago)
    assert failure.value.fields == {"effective_from": [BACKDATED]}
    change = catalog.add_price_change(
        manager, "VPN-ACCESS", price="8.00", effective_from=month_ago, confirm_backdated=True
    )
    assert change.effective_from == datetime(2030, 1, 30, tzinfo=UTC)
    assert notifications() == told  # a correction of the record, not news
    today = NOW.date().isoformat()  # today is not back-dated: it is told
    catalog.add_price_change(manager, "VPN-ACCESS", price="8.50", effective_from=today)
    assert notifications() == told + 2


def test_the_price_form_refuses_a_back_dated_change_next_to_the_field(make_offer, client_as):
    offer = make_offer("VPN-ACCESS")
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/prices"
    refused = http.post(url, data={"pc-price": "8.00", "pc-effective_from": "2030-01-30"})
    assert refused.status_code == 422
    assert BACKDATED in refused.get_data(as_text=True)
    saved = http.post(
        url,
        data={"pc-price": "8.00", "pc-effective_from": "2030-01-30", "pc-confirm_backdated": "y"},
    )
    assert saved.status_code == 302
    assert [str(c.price) for c in catalog.price_history("VPN-ACCESS")] == ["8.00"]


def test_the_api_refuses_a_back_dated_change_unless_confirmed(make_offer, users, api):
    offer = make_offer("VPN-ACCESS")
    client = api(token_for(users["catalog_manager"]))
    path = f"/api/v1/offers/{offer.id}/price-changes"
    body = {"price": "8.00", "effective_from": "2030-01-30"}
    refused = client.post(path, json=body)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"effective_from": [BACKDATED]}
    assert client.post(path, json={**body, "confirm_backdated": True}).status_code == 201


def test_a_bundles_member_prices_are_summed_per_billing_period(make_offer, users):
    make_offer("VPN-ACCESS", price="7.50")
    make_offer("MAILBOX", price="15.00")
    make_offer("PENTEST", price="6500.00", billing_period="one_time")
    kit = make_offer("KIT", publish=False, kind="bundle", price="100.00", options=[])
    catalog.set_bundle_members(
        users["catalog_manager"], kit.id, ["VPN-ACCESS", "MAILBOX", "PENTEST"]
    )
    assert catalog.bundle_member_total(kit) == {
        "monthly": Decimal("22.50"),
        "one_time": Decimal("6500.00"),
    }
