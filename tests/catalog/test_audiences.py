"""The audience rule (issue 15, item 3): pilot groups are part of the audience (any group when
the audience is everyone); a named audience must hold a group beyond its pilots, since widening
publishes to the rest; nothing is added to the audience that was not asked for. One rule for the
editor, the API and the catalog file."""

from __future__ import annotations

import pytest

from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.catalog.exchange import export_catalog, import_catalog
from app.errors import ValidationFailed
from app.extensions import db
from tests.conftest import token_for

OUTSIDE = (
    "Pilot groups are part of the audience: Sales is not in it. Add Sales to the audience "
    "groups, or choose pilots among them."
)
ONLY_PILOTS = (
    "Every audience group is a pilot group, so the canary would have no one to widen to. To "
    "show the offer to Finance only, save it without canary; to run a canary, add the groups "
    "that get it after the pilots."
)


@pytest.fixture
def ids(catalog_setup):
    accounts.save_group(SYSTEM, name="Sales")
    return {
        name: accounts.find_group_by_name(name).id for name in ("Finance", "Engineering", "Sales")
    }


def audience(code: str) -> tuple[list[str], list[str], bool]:
    groups, pilots = catalog.audience_of(code)
    return (
        [g.name for g in groups],
        [g.name for g in pilots],
        bool(catalog.settings_for(code).canary),
    )


def test_a_pilot_outside_the_audience_is_refused_and_never_added(make_offer, ids, users):
    make_offer("BETA", group_ids=[ids["Finance"]])
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_audience(
            users["catalog_manager"],
            "BETA",
            group_ids=[ids["Finance"], ids["Engineering"]],
            pilot_group_ids=[ids["Sales"]],
            canary=True,
        )
    assert failure.value.fields == {"pilot_group_ids": [OUTSIDE]}
    db.session.rollback()
    assert audience("BETA") == (["Finance"], [], False)


def test_an_audience_that_is_only_its_pilots_is_refused_with_what_to_do(make_offer, ids, users):
    make_offer("BETA")
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_audience(
            users["catalog_manager"],
            "BETA",
            group_ids=[ids["Finance"]],
            pilot_group_ids=[ids["Finance"]],
            canary=True,
        )
    assert failure.value.fields == {"canary": [ONLY_PILOTS]}


def test_pilots_inside_the_audience_then_widening_to_the_rest(make_offer, ids, users):
    make_offer("BETA")
    manager = users["catalog_manager"]
    catalog.set_audience(
        manager,
        "BETA",
        group_ids=[ids["Finance"], ids["Engineering"]],
        pilot_group_ids=[ids["Finance"]],
        canary=True,
    )
    assert audience("BETA") == (["Engineering", "Finance"], ["Finance"], True)
    catalog.widen_audience(manager, "BETA")
    assert audience("BETA") == (["Engineering", "Finance"], [], False)
    catalog.set_audience(manager, "BETA", group_ids=[], pilot_group_ids=[ids["Sales"]], canary=True)
    assert audience("BETA") == ([], ["Sales"], True)  # any pilots when the audience is everyone


def test_editor_explains_the_rule_and_answers_with_a_field_message(make_offer, ids, client_as):
    offer = make_offer("BETA")
    http = client_as("catalog_manager")
    page = http.get(f"/catalog/manage/offers/{offer.id}").get_data(as_text=True)
    assert (
        "Only with canary. Pilot groups must be among the audience groups (any group when the "
        "audience is everyone); widening shows the offer to the rest of the audience." in page
    )
    refused = http.post(
        f"/catalog/manage/offers/{offer.id}/audience",
        data={
            "aud-group_ids": [ids["Finance"]],
            "aud-pilot_group_ids": [ids["Finance"]],
            "aud-canary": "y",
        },
    )
    assert refused.status_code == 422
    assert ONLY_PILOTS in refused.get_data(as_text=True)
    assert "must reach beyond" not in refused.get_data(as_text=True)
    db.session.expire_all()
    assert audience("BETA") == ([], [], False)


def test_api_refuses_a_pilot_outside_the_audience(make_offer, ids, users, api):
    offer = make_offer("BETA")
    response = api(token_for(users["catalog_manager"])).put(
        f"/api/v1/offers/{offer.id}/audience",
        json={
            "group_ids": [ids["Finance"], ids["Engineering"]],
            "pilot_group_ids": [ids["Sales"]],
            "canary": True,
        },
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json["errors"] == {"pilot_group_ids": [OUTSIDE]}
    assert audience("BETA") == ([], [], False)


def test_catalog_file_refuses_a_pilot_outside_the_audience(make_offer, ids):
    make_offer("BETA")
    document = export_catalog(SYSTEM)
    document["offers"][0].update(
        audience=["Engineering", "Finance"], pilot_groups=["Sales"], canary=True
    )
    with pytest.raises(ValidationFailed) as failure:
        import_catalog(SYSTEM, document)
    assert failure.value.fields == {"offers[0].pilot_groups": [OUTSIDE]}
    assert audience("BETA") == ([], [], False)
    document["offers"][0]["pilot_groups"] = ["Finance"]
    import_catalog(SYSTEM, document)
    assert audience("BETA") == (["Engineering", "Finance"], ["Finance"], True)
    assert import_catalog(SYSTEM, export_catalog(SYSTEM))["summary"]["unchanged"] == 1
