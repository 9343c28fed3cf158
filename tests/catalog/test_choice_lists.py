"""Choice lists (issue 13, item 2): kept by catalog managers in pages and the API; an order
form's choice field takes one, shown whole up to 50 entries and searched beyond; a value not in
the list is refused; a form naming a list that does not exist is refused at save."""

import re

import pytest

from app.catalog.services import choice_lists
from app.errors import ValidationFailed
from app.subscriptions import services as subs
from tests.catalog.conftest import complete_offer_data
from tests.conftest import token_for
from tests.vm_options import VM_OPTIONS

COST_CENTRE = {
    "key": "cost_centre",
    "label": "Cost centre",
    "type": "choice",
    "choice_list": "cost-centres",
    "required": True,
}


def _centres(manager, count: int):
    entries = [{"value": f"CC-{n:04d}", "label": f"Department {n}"} for n in range(1, count + 1)]
    return choice_lists.save_choice_list(
        manager, {"name": "cost-centres", "label": "Cost centres", "entries": entries}
    )


def test_an_order_takes_an_entry_of_the_list_and_refuses_another(users, make_offer):
    _centres(users["catalog_manager"], 3)
    offer = make_offer("SEATS-CC", options=[COST_CENTRE])
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"cost_centre": "CC-0002"},
        accept_terms=True,
        idempotency_key="a",
    )
    assert order.options == {"cost_centre": "CC-0002"}
    with pytest.raises(ValidationFailed) as refused:
        subs.subscribe(
            users["consumer"],
            offer.id,
            options={"cost_centre": "CC-9999"},
            accept_terms=True,
            idempotency_key="b",
        )
    assert refused.value.fields == {"options.cost_centre": ["Choose one of the list's entries."]}


def test_a_form_naming_a_list_that_does_not_exist_is_refused_at_save(catalog_setup):
    from app.catalog import services as catalog

    with pytest.raises(ValidationFailed) as refused:
        catalog.create_offer(
            catalog_setup["catalog_manager"], complete_offer_data("SEATS-X", options=[COST_CENTRE])
        )
    assert refused.value.fields == {
        "options.0.choice_list": ["No choice list is called “cost-centres”."]
    }


def test_a_short_list_is_a_menu_and_a_long_one_is_searched(users, make_offer, client_as):
    manager = users["catalog_manager"]
    _centres(manager, 50)
    offer = make_offer("SEATS-CC", options=[COST_CENTRE])
    consumer = client_as("consumer")
    page = consumer.get(f"/subscriptions/new?offer={offer.id}", follow_redirects=True).get_data(
        as_text=True
    )
    assert re.search(r'<select[^>]*name="option_cost_centre"', page)
    assert page.count('<option value="CC-') == 50

    _centres_more = choice_lists.save_choice_list(
        manager,
        {"label": "Cost centres", "entries": [{"value": f"CC-{n:04d}"} for n in range(1, 2001)]},
        name="cost-centres",
    )
    assert len(_centres_more.entries) == 2000
    page = consumer.get(f"/subscriptions/new?offer={offer.id}", follow_redirects=True).get_data(
        as_text=True
    )
    assert re.search(
        r'<input[^>]*list="option_cost_centre-list"[^>]*name="option_cost_centre"', page
    )
    assert 'data-search-url="/catalog/choice-lists/cost-centres/search"' in page
    assert "CC-0001" not in page  # thousands of entries never load into the page
    found = consumer.get("/catalog/choice-lists/cost-centres/search?q=CC-19").get_json()
    assert found["more"] is True and len(found["entries"]) == 20
    assert found["entries"][0] == {"value": "CC-1900", "label": "CC-1900"}
    assert consumer.get("/catalog/choice-lists/cost-centres/search?q=CC-1999").get_json() == {
        "entries": [{"value": "CC-1999", "label": "CC-1999"}],
        "more": False,
    }


def test_searching_a_list_that_is_gone_answers_a_problem_document(client_as):
    """The order form's script asks for JSON: a list deleted since the page loaded is a 404
    problem it can read, not the HTML error page."""
    consumer = client_as("consumer")
    response = consumer.get(
        "/catalog/choice-lists/gone/search?q=CC", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404
    page = consumer.get("/catalog/choice-lists/gone/search?q=CC", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_api_creates_reads_changes_and_deletes_a_list(users, api):
    manager = api(token_for(users["catalog_manager"]))
    consumer = api(token_for(users["consumer"]))
    body = {
        "name": "locations",
        "label": "Locations",
        "entries": [{"value": "BER"}, {"value": "MUC", "label": "Munich"}],
    }
    assert consumer.post("/api/v1/choice-lists", json=body).status_code == 403
    created = manager.post("/api/v1/choice-lists", json=body)
    assert created.status_code == 201
    assert created.get_json()["entries"] == [
        {"value": "BER", "label": ""},
        {"value": "MUC", "label": "Munich"},
    ]
    assert consumer.get("/api/v1/choice-lists").get_json()["items"][0]["entry_count"] == 2
    changed = manager.patch("/api/v1/choice-lists/locations", json={"label": "Sites"})
    assert changed.get_json()["label"] == "Sites" and changed.get_json()["entry_count"] == 2
    bad = manager.post(
        "/api/v1/choice-lists",
        json={**body, "name": "Locations!", "entries": [{"value": "A"}, {"value": "A"}]},
    )
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"
    assert set(bad.get_json()["errors"]) == {"name", "entries"}
    assert manager.delete("/api/v1/choice-lists/locations").status_code == 204
    assert consumer.get("/api/v1/choice-lists/locations").status_code == 404


def test_managers_keep_lists_in_pages(client_as):
    manager = client_as("catalog_manager")
    saved = manager.post(
        "/catalog/manage/choice-lists/new",
        data={"name": "sites", "label": "Sites", "entries": "BER | Berlin\nMUC"},
    )
    assert saved.status_code == 302
    listing = manager.get("/catalog/manage/choice-lists").get_data(as_text=True)
    assert "Sites" in listing and "<code>sites</code>" in listing
    edit = manager.get("/catalog/manage/choice-lists/sites").get_data(as_text=True)
    assert "BER | Berlin\nMUC" in edit
    refused = manager.post("/catalog/manage/choice-lists/new", data={"name": "sites", "label": ""})
    assert refused.status_code == 422
    assert "A choice list called “sites” exists." in refused.get_data(as_text=True)
    assert client_as("consumer").get("/catalog/manage/choice-lists").status_code == 403


def test_the_catalog_file_carries_choice_lists_and_the_order_form_rules(users, make_offer):
    from app.catalog import exchange

    manager = users["catalog_manager"]
    _centres(manager, 2)
    vm_options = [*VM_OPTIONS, COST_CENTRE]
    make_offer("VM-FILE", options=vm_options)
    document = exchange.export_catalog(manager)
    assert document["choice_lists"] == [
        {
            "name": "cost-centres",
            "label": "Cost centres",
            "entries": [
                {"value": "CC-0001", "label": "Department 1"},
                {"value": "CC-0002", "label": "Department 2"},
            ],
        }
    ]
    (offer,) = [item for item in document["offers"] if item["code"] == "VM-FILE"]
    by_key = {option["key"]: option for option in offer["options"]}
    assert by_key["gpu_model"]["visible_when"] == {"field": "gpu", "equals": True}
    assert by_key["data_centre"]["choice_map"] == {
        "eu-west": ["Dublin 1", "Dublin 2"],
        "eu-north": ["Stockholm 1"],
    }
    assert by_key["memory_gb"]["prices"] == {"16": {"monthly": "5.00"}, "32": {"monthly": "10.00"}}
    document["choice_lists"][0]["entries"].append("CC-0003")
    report = exchange.import_catalog(manager, document)
    assert report["choice_lists"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert choice_lists.choice_list_has("cost-centres", "CC-0003")
    again = exchange.import_catalog(manager, exchange.export_catalog(manager))
    assert again["choice_lists"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert again["summary"]["updated"] == 0
