"""The offer editor takes an order-form field's rules as JSON: saved when they can work, else
shown again with the message on the field; its preview shows unsaved fields as the consumer
will see them."""

import sqlalchemy as sa

from app.catalog.models import ServiceOffer
from app.extensions import db
from tests.catalog.test_routes import field_block, html, offer_form


def test_a_rule_naming_a_missing_field_is_shown_on_its_field(client_as, catalog_setup):
    manager = client_as("catalog_manager")
    refused = manager.post(
        "/catalog/manage/offers/new",
        data=offer_form(
            "VPN-RULES", **{"options-3-visible_when": '{"field": "tunnel", "equals": true}'}
        ),
    )
    assert refused.status_code == 422
    block = field_block(html(refused), "options-3-visible_when")
    assert "No field of this form is called tunnel." in block


def test_rules_are_saved_and_the_preview_shows_unsaved_fields(client_as, catalog_setup):
    manager = client_as("catalog_manager")
    rules = {
        "options-3-visible_when": '{"field": "split_tunnel", "equals": true}',
        "options-0-prices": '{"developer": {"monthly": "2.50"}}',
    }
    saved = manager.post("/catalog/manage/offers/new", data=offer_form("VPN-RULES", **rules))
    assert saved.status_code == 302
    offer = db.session.scalars(
        sa.select(ServiceOffer).where(ServiceOffer.code == "VPN-RULES")
    ).one()
    assert offer.options[3]["visible_when"] == {"field": "split_tunnel", "equals": True}
    assert offer.options[0]["prices"] == {"developer": {"monthly": "2.50"}}
    preview = manager.post(
        "/catalog/manage/offers/new",
        data=offer_form("VPN-RULES2", op="preview_form", **{"options-3-label": "Why split"}),
    )
    page = html(preview)
    start = page.index('id="form-preview"')
    assert 'data-option="note"' in page[start:] and "Why split" in page[start:]
