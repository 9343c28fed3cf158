"""A plan's automatic step names the webhook integration that does it: an unknown name, or no
`integration` key at all, is refused at save (service, API, editor and catalog YAML alike);
an explicit null keeps a step that is done at once."""

from __future__ import annotations

import pytest

from app.catalog import services as catalog
from app.errors import ValidationFailed
from tests.catalog.conftest import complete_offer_data
from tests.conftest import login, token_for


def steps(**step) -> list[dict]:
    return [{"name": "Provision VM", "mode": "automatic", "expected_hours": 1, **step}]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({}, "Name the integration that does this step, or choose none (done at once)."),
        ({"integration": "Nobody"}, "Unknown integration “Nobody”."),
        ({"integration": 7}, "Name an integration."),
    ],
)
def test_an_unknown_or_missing_integration_is_refused(
    catalog_setup, step_integration, step, message
):
    step_integration("http://127.0.0.1:9/steps")
    with pytest.raises(ValidationFailed) as refused:
        catalog.create_offer(
            catalog_setup["catalog_manager"],
            complete_offer_data("VM-X", fulfillment_plan=steps(**step)),
        )
    assert refused.value.fields == {"fulfillment_plan.0.integration": [message]}


def test_a_known_integration_and_an_explicit_null_are_kept(catalog_setup, step_integration):
    step_integration("http://127.0.0.1:9/steps")
    plan = [*steps(integration="Provisioner"), *steps(integration=None)]
    offer = catalog.create_offer(
        catalog_setup["catalog_manager"], complete_offer_data("VM-X", fulfillment_plan=plan)
    )
    assert [step["integration"] for step in offer.fulfillment_plan] == ["Provisioner", None]


def test_the_catalog_api_answers_the_field(api, catalog_setup, step_integration):
    client = api(token_for(catalog_setup["catalog_manager"]))
    response = client.post(
        "/api/v1/offers",
        json=complete_offer_data("VM-X", fulfillment_plan=steps(integration="Nobody")),
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"]["fulfillment_plan.0.integration"] == [
        "Unknown integration “Nobody”."
    ]


def test_the_editor_lists_the_integrations_and_keeps_the_choice(
    app, catalog_setup, step_integration, make_offer
):
    step_integration("http://127.0.0.1:9/steps")
    offer = make_offer("VM-X", publish=False, fulfillment_plan=steps(integration="Provisioner"))
    manager = login(app.test_client(), catalog_setup["catalog_manager"])
    page = manager.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    assert '<option selected value="Provisioner">Provisioner</option>' in page
    assert "none: done at once" in page


def test_the_editor_shows_a_field_message_for_an_unknown_integration(
    app, catalog_setup, step_integration
):
    from tests.catalog.test_routes import offer_form

    step_integration("http://127.0.0.1:9/steps")
    manager = login(app.test_client(), catalog_setup["catalog_manager"])
    refused = manager.post(
        "/catalog/manage/offers/new",
        data=offer_form("VM-X", **{"fulfillment_plan-0-integration": "Gone"}),
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="fulfillment_plan-0-integration-error-1"' in page
    assert "Unknown integration “Gone”." in page
