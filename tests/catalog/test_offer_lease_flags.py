"""The offer's lease flags, `lease_end_chosen` and `lease_extension_needs_approval`: refused
without a lease, saved from the offer editor, carried by the catalog file and the offers API."""

import re

import pytest

from app.catalog.exchange.export import export_offers
from app.errors import ValidationFailed
from tests.catalog.test_routes import offer_form, offers_with_code
from tests.conftest import token_for

FLAGS = ("lease_end_chosen", "lease_extension_needs_approval")


def test_the_flags_need_a_lease(make_offer):
    with pytest.raises(ValidationFailed) as failure:
        make_offer("LEASED", lease_end_chosen=True, lease_extension_needs_approval=True)
    assert failure.value.fields == {
        "lease_end_chosen": ["Set the lease's days first."],
        "lease_extension_needs_approval": ["Set the lease's days first."],
    }


def test_the_editor_saves_and_shows_the_flags(client_as, catalog_setup):
    http = client_as("catalog_manager")
    data = offer_form(
        "SANDBOX",
        lease_days="14",
        lease_max_days="60",
        lease_warn_days="3",
        lease_end_chosen="y",
        lease_extension_needs_approval="y",
    )
    assert http.post("/catalog/manage/offers/new", data=data).status_code == 302
    (offer,) = offers_with_code("SANDBOX")
    assert (offer.lease_end_chosen, offer.lease_extension_needs_approval) == (True, True)
    page = http.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    for name in FLAGS:
        box = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', page).group(0)
        assert 'type="checkbox"' in box and "checked" in box, box
    assert "The orderer chooses the end date" in page
    assert "An extension needs approval" in page


def test_file_and_api_carry_the_flags(make_offer, users, api):
    offer = make_offer("SANDBOX", lease_days=14, lease_max_days=60, **dict.fromkeys(FLAGS, True))
    exported = export_offers(["SANDBOX"])["SANDBOX"]
    assert {name: exported[name] for name in FLAGS} == dict.fromkeys(FLAGS, True)
    body = api(token_for(users["catalog_manager"])).get(f"/api/v1/offers/{offer.id}").json
    assert {name: body[name] for name in FLAGS} == dict.fromkeys(FLAGS, True)
