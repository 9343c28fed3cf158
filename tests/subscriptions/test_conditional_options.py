"""Conditional and dependent order-form fields, decided on the server: a hidden field's value
is dropped, a required-when field that is missing is refused on its field, a dependent choice
takes its parent's choices; and what cannot work is refused when the offer is saved."""

import pytest

from app.catalog import services as catalog
from app.errors import ValidationFailed
from app.subscriptions import services as subs
from tests.catalog.conftest import complete_offer_data
from tests.vm_options import VM_OPTIONS


@pytest.fixture
def vm(make_offer):
    return make_offer("VM-TEST", options=VM_OPTIONS)


def _order(users, vm, options, key="k1"):
    return subs.subscribe(
        users["consumer"], vm.id, options=options, accept_terms=True, idempotency_key=key
    )


def test_a_hidden_fields_value_is_dropped_before_saving(users, vm):
    order, _ = _order(
        users,
        vm,
        {"region": "eu-west", "data_centre": "Dublin 2", "gpu": False, "gpu_model": "A100"},
    )
    assert order.options == {
        "region": "eu-west",
        "data_centre": "Dublin 2",
        "memory_gb": "8",
        "gpu": False,
    }


def test_a_required_when_field_that_is_missing_is_refused_on_its_field(users, vm):
    with pytest.raises(ValidationFailed) as refused:
        _order(users, vm, {"region": "eu-west", "data_centre": "Dublin 1", "gpu": "on"})
    assert refused.value.fields == {"options.gpu_model": ["GPU model is required."]}
    order, _ = _order(
        users, vm, {"region": "eu-west", "data_centre": "Dublin 1", "gpu": "on", "gpu_model": "T4"}
    )
    assert order.options["gpu_model"] == "T4" and order.options["gpu"] is True


def test_a_dependent_choice_outside_its_parents_choices_is_refused(users, vm):
    with pytest.raises(ValidationFailed) as refused:
        _order(users, vm, {"region": "eu-north", "data_centre": "Dublin 1"})
    assert refused.value.fields == {"options.data_centre": ["Choose one of: Stockholm 1."]}


def test_a_dependent_choice_without_its_parent_is_refused(users, vm):
    with pytest.raises(ValidationFailed) as refused:
        _order(users, vm, {"data_centre": "Dublin 1"})
    assert refused.value.fields == {
        "options.region": ["Region is required."],
        "options.data_centre": ["Choose region first."],
    }


def _refused(catalog_setup, options) -> dict:
    with pytest.raises(ValidationFailed) as refused:
        catalog.create_offer(
            catalog_setup["catalog_manager"], complete_offer_data("VM-BAD", options=options)
        )
    return refused.value.fields


def test_a_condition_naming_a_field_that_does_not_exist_is_refused_on_the_field(catalog_setup):
    options = [
        dict(VM_OPTIONS[3]),
        {**VM_OPTIONS[4], "visible_when": {"field": "gpus", "equals": True}},
    ]
    assert _refused(catalog_setup, options) == {
        "options.1.visible_when": ["No field of this form is called gpus."]
    }


def test_a_cycle_of_conditions_is_refused(catalog_setup):
    options = [
        {"key": "a", "label": "A", "type": "text", "visible_when": {"field": "b", "is_set": True}},
        {
            "key": "b",
            "label": "B",
            "type": "text",
            "required_when": {"any": [{"field": "a", "equals": "x"}]},
        },
    ]
    assert _refused(catalog_setup, options) == {
        "options.0.visible_when": ["These rules go round in a circle: a → b → a."],
        "options.1.required_when": ["These rules go round in a circle: b → a → b."],
    }


def test_a_dependent_choice_whose_parent_is_not_a_choice_field_is_refused(catalog_setup):
    options = [
        {"key": "region", "label": "Region", "type": "text"},
        {**VM_OPTIONS[1]},
    ]
    assert _refused(catalog_setup, options) == {
        "options.1.depends_on": [
            "“region” is not a choice field; a dependent choice follows a choice."
        ]
    }


def test_conditions_written_as_json_text_are_read_and_bad_json_is_explained(catalog_setup):
    options = [
        dict(VM_OPTIONS[3]),
        {
            **VM_OPTIONS[4],
            "visible_when": '{"field": "gpu", "equals": true}',
            "required_when": "{oops",
        },
    ]
    assert _refused(catalog_setup, options) == {
        "options.1.required_when": ["This is not valid JSON."]
    }


def test_the_api_carries_the_rules_and_refuses_a_cycle_on_its_field(users, api, catalog_setup):
    from tests.conftest import token_for

    manager = api(token_for(users["catalog_manager"]))
    created = manager.post("/api/v1/offers", json=complete_offer_data("VM-API", options=VM_OPTIONS))
    assert created.status_code == 201, created.get_json()
    by_key = {option["key"]: option for option in created.get_json()["options"]}
    assert by_key["gpu_model"]["required_when"] == {"field": "gpu", "equals": True}
    assert by_key["data_centre"]["depends_on"] == "region"
    looped = [
        {"key": "a", "label": "A", "type": "text", "visible_when": {"field": "a", "is_set": True}},
    ]
    refused = manager.post("/api/v1/offers", json=complete_offer_data("VM-LOOP", options=looped))
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.get_json()["errors"] == {
        "options.0.visible_when": ["These rules go round in a circle: a → a."]
    }


def test_the_editor_shows_rule_errors_on_their_field_and_previews_the_form(client_as, vm):
    manager = client_as("catalog_manager")
    page = manager.get(f"/catalog/manage/offers/{vm.id}").get_data(as_text=True)
    assert 'id="form-preview"' in page and 'data-option="gpu_model"' in page
    assert "The order form as a consumer sees it" in page
    assert "{&#34;field&#34;: &#34;gpu&#34;, &#34;equals&#34;: true}" in page


def test_the_order_page_prices_the_form_as_it_stands_without_javascript(client_as, vm):
    consumer = client_as("consumer")
    address = consumer.get(f"/subscriptions/new?offer={vm.id}").headers["Location"]
    first = consumer.get(address).get_data(as_text=True)
    assert 'data-testid="total-monthly">7.50 EUR<' in first
    posted = consumer.post(
        address,
        data={"option_region": "eu-west", "option_memory_gb": "32", "option_gpu": "y"},
    )  # terms not accepted, GPU model missing: shown again, priced as chosen
    assert posted.status_code == 422
    page = posted.get_data(as_text=True)
    assert 'data-testid="total-monthly">57.50 EUR<' in page
    assert 'data-testid="total-one-time">25.00 EUR<' in page
