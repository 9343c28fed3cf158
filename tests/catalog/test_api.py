"""The catalog API: who may call what (role × status matrix), optimistic locking with ETag and
If-Match, the bad input of issue 4 refused field by field with nothing saved, per-role views,
lists with a fixed number of queries, and the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.models import BundleMember, Category, PriceChange, ServiceOffer
from app.extensions import db
from tests.catalog.conftest import complete_offer_data
from tests.conftest import count_queries, module_world, token_for

API = "/api/v1"


def offer_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(ServiceOffer.id)))


def group_id(name: str) -> int:
    return accounts.find_group_by_name(name).id


@module_world
def world(make_offer, users, make_user):
    """A published Finance-only offer, a published offer for everyone, a draft, a bundle
    draft, a category, a digital product with a release, and a token per role."""
    finance_only = make_offer("VPN-ACCESS", group_ids=[group_id("Finance")])
    everyone = make_offer("SSO-ACCOUNT", name="Single sign-on account")
    draft = make_offer("DRAFT-OFFER", publish=False, name="A draft offer")
    bundle = make_offer(
        "STARTER-KIT", publish=False, name="Starter kit", kind="bundle", fulfillment_plan=[]
    )
    manager = users["catalog_manager"]
    category = catalog.save_category(manager, name="Access")
    product = catalog.save_product(users["product_manager"], name="Remote Access Gateway")
    release = catalog.create_release(users["product_manager"], product.id, version="4.2")
    tokens = {
        "manager": token_for(manager),
        "consumer": token_for(users["consumer"]),
        "outsider": token_for(users["other_consumer"]),
        "product_manager": token_for(users["product_manager"]),
        "none": None,
    }
    return {
        "finance_only": finance_only.id,
        "everyone": everyone.id,
        "draft": draft.id,
        "draft_version": draft.version,
        "bundle": bundle.id,
        "category": category.id,
        "product": product.id,
        "release": release.id,
        "tokens": tokens,
    }


SMALL_CATALOG = """\
offers:
  - code: NEW-ONE
    name: A new offer
    price: "5.00"
"""

# name: (method, path, body, headers, {role: expected status})
CASES = {
    "list offers": ("get", "/offers", None, {}, {"manager": 200, "consumer": 200, "outsider": 200}),
    "get offer in audience": (
        "get",
        "/offers/{finance_only}",
        None,
        {},
        {"manager": 200, "consumer": 200, "outsider": 404},
    ),
    "get draft": (
        "get",
        "/offers/{draft}",
        None,
        {},
        {"manager": 200, "consumer": 404, "outsider": 404},
    ),
    "create offer": (
        "post",
        "/offers",
        complete_offer_data("NEW-OFFER"),
        {},
        {"manager": 201, "consumer": 403, "outsider": 403, "product_manager": 403},
    ),
    "patch offer": (
        "patch",
        "/offers/{draft}",
        {"name": "Renamed"},
        {"If-Match": '"{draft_version}"'},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "transition": (
        "post",
        "/offers/{draft}/transitions",
        {"to": "planned"},
        {},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "readiness": (
        "get",
        "/offers/{draft}/readiness",
        None,
        {},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "new revision": (
        "post",
        "/offers/{everyone}/revisions",
        None,
        {},
        {"manager": 201, "consumer": 403, "outsider": 403},
    ),
    "price change": (
        "post",
        "/offers/{everyone}/price-changes",
        {"price": "9.00", "effective_from": "2031-01-01"},
        {},
        {"manager": 201, "consumer": 403, "outsider": 403},
    ),
    "price history": (
        "get",
        "/offers/{everyone}/price-changes",
        None,
        {},
        {"manager": 200, "consumer": 403},
    ),
    "audience": (
        "put",
        "/offers/{everyone}/audience",
        {"group_ids": []},
        {},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "bundle members": (
        "put",
        "/offers/{bundle}/members",
        {"members": ["VPN-ACCESS", "SSO-ACCOUNT"]},
        {},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "export": (
        "get",
        "/catalog/export",
        None,
        {},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "import dry run": (
        "post",
        "/catalog/import?dry_run=true",
        SMALL_CATALOG,
        {"Content-Type": "application/yaml"},
        {"manager": 200, "consumer": 403, "outsider": 403},
    ),
    "list categories": ("get", "/categories", None, {}, {"manager": 200, "consumer": 200}),
    "create category": (
        "post",
        "/categories",
        {"name": "Devices"},
        {},
        {"manager": 201, "consumer": 403, "outsider": 403},
    ),
    "rename category": (
        "patch",
        "/categories/{category}",
        {"name": "Access and accounts"},
        {},
        {"manager": 200, "consumer": 403},
    ),
    "list products": (
        "get",
        "/products",
        None,
        {},
        {"manager": 200, "product_manager": 200, "consumer": 403},
    ),
    "create product": (
        "post",
        "/products",
        {"name": "Identity Platform"},
        {},
        {"product_manager": 201, "manager": 403, "consumer": 403},
    ),
    "create release": (
        "post",
        "/products/{product}/releases",
        {"version": "5.0"},
        {},
        {"product_manager": 201, "manager": 403, "consumer": 403},
    ),
    "move release": (
        "post",
        "/releases/{release}/transitions",
        {"to": "accepted"},
        {},
        {"product_manager": 200, "manager": 403, "consumer": 403},
    ),
}
MATRIX = [
    pytest.param(name, role, status, id=f"{name}-{role}")
    for name, (_m, _p, _b, _h, expected) in CASES.items()
    for role, status in [*expected.items(), ("none", 401)]
]


def call(api, world, name: str, role: str):
    method, path, body, headers, _ = CASES[name]
    path = API + path.format(**world)
    headers = {key: value.format(**world) for key, value in headers.items()}
    client = api(world["tokens"][role])
    if isinstance(body, str):
        return getattr(client, method)(path, data=body, headers=headers)
    if body is None and method in ("post", "put", "patch"):
        return getattr(client, method)(path, headers=headers)
    return getattr(client, method)(path, json=body, headers=headers)


@pytest.mark.parametrize("name, role, expected", MATRIX)
def test_role_matrix(api, world, name, role, expected):
    before = offer_count()
    response = call(api, world, name, role)
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if expected >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == expected
        assert offer_count() == before  # nothing was created by a refused call


# --- per-role views ------------------------------------------------------------------------

INTERNAL = {
    "cost",
    "current_cost",
    "margin",
    "margin_pct",
    "fulfillment_plan",
    "support_plan",
    "audience",
    "pilot_groups",
    "canary",
    "version",
    "created_by_id",
    "created_at",
    "updated_at",
    "allowed_transitions",
}


def test_consumer_view_hides_cost_margin_plans_and_audit_data(api, world):
    response = api(world["tokens"]["consumer"]).get(f"{API}/offers/{world['finance_only']}")
    assert response.status_code == 200
    body = response.json
    assert not INTERNAL & set(body)
    assert body["price"] == "7.50" and body["status"] == "published" and body["orderable"]
    assert body["support_channels"] == ["portal", "email"]
    assert [o["key"] for o in body["options"]] == ["profile", "devices", "split_tunnel", "note"]


def test_manager_view_has_everything_money_as_strings_and_utc_times(api, world):
    response = api(world["tokens"]["manager"]).get(f"{API}/offers/{world['finance_only']}")
    body = response.json
    assert set(body) >= INTERNAL
    assert (body["cost"], body["price"], body["margin"], body["margin_pct"]) == (
        "3.00",
        "7.50",
        "4.50",
        "60.0",
    )
    assert body["audience"] == ["Finance"] and body["canary"] is False
    assert body["created_at"].endswith("Z") and "T" in body["created_at"]
    assert body["allowed_transitions"] == ["retired"]
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_consumer_sees_the_price_in_force(api, world, users):
    catalog.add_price_change(
        users["catalog_manager"],
        "SSO-ACCOUNT",
        price="8.25",
        effective_from=clock.now() - timedelta(days=1),
        confirm_backdated=True,
    )
    catalog.add_price_change(
        users["catalog_manager"],
        "SSO-ACCOUNT",
        price="9.99",
        effective_from=clock.now() + timedelta(days=30),
    )
    body = api(world["tokens"]["consumer"]).get(f"{API}/offers/{world['everyone']}").json
    assert body["price"] == "8.25"
    manager = api(world["tokens"]["manager"]).get(f"{API}/offers/{world['everyone']}").json
    assert (manager["price"], manager["current_price"]) == ("7.50", "8.25")


def test_outsider_gets_404_problem_for_an_offer_outside_its_audience(api, world):
    response = api(world["tokens"]["outsider"]).get(f"{API}/offers/{world['finance_only']}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "No such offer."


def test_canary_offer_is_seen_by_pilots_only(api, world, users):
    catalog.set_audience(
        users["catalog_manager"],
        "SSO-ACCOUNT",
        group_ids=[group_id("Finance"), group_id("Engineering")],
        pilot_group_ids=[group_id("Engineering")],
        canary=True,
    )
    path = f"{API}/offers/{world['everyone']}"
    assert api(world["tokens"]["outsider"]).get(path).status_code == 200  # Engineering: pilot
    assert api(world["tokens"]["consumer"]).get(path).status_code == 404


def test_widening_a_canary_for_everyone_over_the_api(api, world, make_user):
    """Canary to the pilots, then out of canary with no groups: everyone sees it at once."""
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['everyone']}"
    canary = manager.put(
        f"{path}/audience",
        json={"group_ids": [], "pilot_group_ids": [group_id("Finance")], "canary": True},
    )
    assert canary.status_code == 200
    assert canary.json["groups"] == [] and canary.json["canary"] is True
    assert [g["name"] for g in canary.json["pilot_groups"]] == ["Finance"]
    nobody = token_for(make_user("consumer"))
    assert api(world["tokens"]["consumer"]).get(path).status_code == 200  # Finance: pilot
    assert api(world["tokens"]["outsider"]).get(path).status_code == 404
    assert api(nobody).get(path).status_code == 404

    # The editor's form sends the pilots along; out of canary they are not kept.
    widened = manager.put(
        f"{path}/audience",
        json={"group_ids": [], "pilot_group_ids": [group_id("Finance")], "canary": False},
    )
    assert widened.status_code == 200
    assert widened.json["groups"] == [] and widened.json["pilot_groups"] == []
    for token in (world["tokens"]["consumer"], world["tokens"]["outsider"], nobody):
        assert api(token).get(path).status_code == 200
        assert "SSO-ACCOUNT" in codes(api(token).get(f"{API}/offers"))


def test_widening_a_canary_to_named_groups_over_the_api(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['everyone']}"
    manager.put(
        f"{path}/audience",
        json={  # the pilots are among the audience groups (issue 15, item 3)
            "group_ids": [group_id("Engineering"), group_id("Finance")],
            "pilot_group_ids": [group_id("Finance")],
            "canary": True,
        },
    )
    assert api(world["tokens"]["outsider"]).get(path).status_code == 404
    widened = manager.put(
        f"{path}/audience",
        json={"group_ids": [group_id("Engineering"), group_id("Finance")], "canary": False},
    )
    assert [g["name"] for g in widened.json["groups"]] == ["Engineering", "Finance"]
    assert api(world["tokens"]["outsider"]).get(path).status_code == 200
    assert api(world["tokens"]["consumer"]).get(path).status_code == 200


# --- lists ---------------------------------------------------------------------------------


def codes(response) -> list[str]:
    return sorted(item["code"] for item in response.json["items"])


def test_lists_show_each_user_what_it_may_see(api, world, make_offer):
    make_offer("LATER", name="Later offer", valid_from=clock.now() + timedelta(days=10))
    assert codes(api(world["tokens"]["consumer"]).get(f"{API}/offers")) == [
        "SSO-ACCOUNT",
        "VPN-ACCESS",
    ]
    outsider = api(world["tokens"]["outsider"]).get(f"{API}/offers")
    assert codes(outsider) == ["SSO-ACCOUNT"] and outsider.json["total"] == 1
    assert "cost" not in outsider.json["items"][0]
    manager = api(world["tokens"]["manager"])
    assert codes(manager.get(f"{API}/offers")) == ["SSO-ACCOUNT", "VPN-ACCESS"]
    assert codes(manager.get(f"{API}/offers?status=draft")) == ["DRAFT-OFFER", "STARTER-KIT"]
    assert codes(manager.get(f"{API}/offers?status=scheduled")) == ["LATER"]
    assert len(manager.get(f"{API}/offers?status=all").json["items"]) == 5
    assert "cost" in manager.get(f"{API}/offers").json["items"][0]


@pytest.mark.parametrize(
    "query, field",
    [("status=banana", "status"), ("page=0", "page"), ("per_page=500", "per_page")],
)
def test_bad_list_arguments_are_422(api, world, query, field):
    response = api(world["tokens"]["manager"]).get(f"{API}/offers?{query}")
    assert response.status_code == 422 and field in response.json["errors"]


def test_consumer_cannot_list_drafts(api, world):
    response = api(world["tokens"]["consumer"]).get(f"{API}/offers?status=draft")
    assert response.status_code == 403


def test_list_is_paginated_with_a_total(api, world, make_offer):
    for number in range(3):
        make_offer(f"EXTRA-{number}", name=f"Extra {number}")
    first = api(world["tokens"]["consumer"]).get(f"{API}/offers?per_page=2").json
    second = api(world["tokens"]["consumer"]).get(f"{API}/offers?per_page=2&page=3").json
    assert (first["total"], first["pages"], first["per_page"], len(first["items"])) == (5, 3, 2, 2)
    assert len(second["items"]) == 1 and second["page"] == 3


@pytest.mark.parametrize("role", ["consumer", "manager"])
def test_list_query_count_does_not_grow_with_offers(api, world, make_offer, users, role):
    client = api(world["tokens"][role])
    client.get(f"{API}/offers")  # warm up

    def measure() -> int:
        with count_queries() as queries:
            response = client.get(f"{API}/offers?per_page=50")
        assert response.status_code == 200
        return len(queries)

    few = measure()
    for number in range(6):
        offer = make_offer(f"MORE-{number}", name=f"More {number}", group_ids=[group_id("Finance")])
        catalog.add_price_change(
            users["catalog_manager"],
            offer.code,
            price="1.00",
            effective_from=clock.now() - timedelta(days=1),
            confirm_backdated=True,
        )
    make_offer("KIT-A", publish=False, kind="bundle", fulfillment_plan=[])
    many = measure()
    assert many == few


# --- optimistic locking --------------------------------------------------------------------


def test_patch_without_if_match_is_428_and_saves_nothing(api, world):
    manager = api(world["tokens"]["manager"])
    response = manager.patch(f"{API}/offers/{world['draft']}", json={"name": "Renamed"})
    assert response.status_code == 428
    assert response.mimetype == "application/problem+json"
    assert "If-Match" in response.json["errors"]
    assert catalog.get_offer(world["draft"]).name == "A draft offer"


def test_two_managers_second_save_is_409_with_who_and_what_changed(api, world, make_user):
    first = api(world["tokens"]["manager"])
    second = api(token_for(make_user("catalog_manager", name="Mia Manager")))
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    path = f"{API}/offers/{world['draft']}"
    etag = first.get(path).headers["ETag"]
    assert second.get(path).headers["ETag"] == etag
    saved = second.patch(path, json={"price": "8.00"}, headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.json["price"] == "8.00"
    assert saved.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"' != etag
    stale = first.patch(path, json={"name": "Mine"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    assert stale.mimetype == "application/problem+json"
    assert stale.json["detail"] == (
        "This offer was changed since you opened it by Mia Manager at 2026-03-02 09:00 UTC: "
        "price. Nothing of yours was saved."
    )
    assert "version" in stale.json["errors"]
    offer = catalog.get_offer(world["draft"])
    assert (offer.name, str(offer.price)) == ("A draft offer", "8.00")  # nothing of it lost
    fresh = first.patch(path, json={"name": "Mine"}, headers={"If-Match": saved.headers["ETag"]})
    assert fresh.status_code == 200
    assert (fresh.json["name"], fresh.json["price"]) == ("Mine", "8.00")
    assert fresh.headers["ETag"] == f'"{fresh.json["version"]}"'


def test_weak_etag_and_star_are_accepted_garbage_is_409(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['draft']}"
    version = world["draft_version"]
    weak = manager.patch(path, json={"summary": "Weak"}, headers={"If-Match": f'W/"{version}"'})
    assert weak.status_code == 200
    star = manager.patch(path, json={"summary": "Star"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    garbage = manager.patch(path, json={"summary": "X"}, headers={"If-Match": '"abc"'})
    assert garbage.status_code == 409
    assert catalog.get_offer(world["draft"]).summary == "Star"


def test_transition_with_stale_if_match_is_409(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['draft']}"
    etag = manager.get(path).headers["ETag"]
    manager.patch(path, json={"name": "Changed"}, headers={"If-Match": etag})
    response = manager.post(
        f"{path}/transitions", json={"to": "planned"}, headers={"If-Match": etag}
    )
    assert response.status_code == 409
    assert "changed since you opened it by" in response.json["detail"]
    assert catalog.get_offer(world["draft"]).status == "draft"


def test_patching_a_published_offer_asks_for_a_revision(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['everyone']}"
    etag = manager.get(path).headers["ETag"]
    response = manager.patch(path, json={"name": "New name"}, headers={"If-Match": etag})
    assert response.status_code == 409
    assert "new revision" in response.json["detail"]
    revision = manager.post(f"{path}/revisions")
    assert revision.status_code == 201 and revision.json["revision"] == 2
    assert revision.headers["Location"].endswith(f"/offers/{revision.json['id']}")
    assert revision.json["status"] == "draft"


# --- lifecycle over the API ----------------------------------------------------------------


def test_full_lifecycle_and_retirement_with_replacement(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['draft']}"
    for status in ("planned", "ready", "published"):
        response = manager.post(f"{path}/transitions", json={"to": status})
        assert response.status_code == 200 and response.json["status"] == status
    readiness = manager.get(f"{path}/readiness").json
    assert readiness["ready"] is True and readiness["allowed_transitions"] == ["retired"]
    retired = manager.post(
        f"{path}/transitions",
        json={"to": "retired", "end_date": None, "replacement_code": "sso-account"},
    )
    assert retired.status_code == 200
    assert retired.json["replacement_code"] == "SSO-ACCOUNT"


def test_refused_transition_names_what_is_missing(api, world, users):
    manager = api(world["tokens"]["manager"])
    created = manager.post(
        f"{API}/offers", json={"code": "BARE", "name": "Bare offer", "price": "1.00"}
    )
    path = f"{API}/offers/{created.json['id']}"
    assert manager.get(f"{path}/readiness").json["ready"] is False
    too_far = manager.post(f"{path}/transitions", json={"to": "published"})
    assert too_far.status_code == 409 and "Allowed next: planned" in too_far.json["detail"]
    manager.post(f"{path}/transitions", json={"to": "planned"})
    refused = manager.post(f"{path}/transitions", json={"to": "ready"})
    assert refused.status_code == 409
    assert "terms" in refused.json["detail"] and "knowledge article" in refused.json["detail"]
    assert {"terms", "knowledge", "fulfillment_plan"} <= set(refused.json["errors"])
    assert catalog.get_offer(created.json["id"]).status == "planned"


def test_bundle_members_audience_and_price_change(api, world):
    manager = api(world["tokens"]["manager"])
    members = manager.put(
        f"{API}/offers/{world['bundle']}/members", json={"members": ["SSO-ACCOUNT", "vpn-access"]}
    )
    assert members.status_code == 200
    assert [m["code"] for m in members.json["members"]] == ["SSO-ACCOUNT", "VPN-ACCESS"]
    audience = manager.put(
        f"{API}/offers/{world['everyone']}/audience",
        json={"group_ids": [group_id("Engineering")], "pilot_group_ids": [], "canary": False},
    )
    assert audience.status_code == 200
    assert [g["name"] for g in audience.json["groups"]] == ["Engineering"]
    assert (
        api(world["tokens"]["consumer"]).get(f"{API}/offers/{world['everyone']}").status_code == 404
    )
    change = manager.post(
        f"{API}/offers/{world['everyone']}/price-changes",
        json={"price": 8, "cost": "3.10", "effective_from": "2031-01-01", "reason": "Annual"},
    )
    assert change.status_code == 201
    assert (
        change.json["price"] == "8.00" and change.json["effective_from"] == "2031-01-01T00:00:00Z"
    )
    history = manager.get(f"{API}/offers/{world['everyone']}/price-changes").json["items"]
    assert [item["price"] for item in history] == ["8.00"]


def test_categories_products_and_releases(api, world):
    manager = api(world["tokens"]["manager"])
    parent = manager.post(f"{API}/categories", json={"name": "Devices", "description": "Hardware"})
    assert parent.status_code == 201 and parent.json["slug"] == "devices"
    child = manager.post(
        f"{API}/categories", json={"name": "Laptops", "parent_id": parent.json["id"]}
    )
    assert child.json["depth"] == 1
    moved = manager.patch(f"{API}/categories/{child.json['id']}", json={"parent_id": None})
    assert moved.status_code == 200 and moved.json["parent_id"] is None
    assert moved.json["name"] == "Laptops"
    tree = api(world["tokens"]["consumer"]).get(f"{API}/categories").json["items"]
    assert [c["name"] for c in tree] == ["Access", "Devices", "Laptops"]
    owner = api(world["tokens"]["product_manager"])
    release = owner.post(f"{API}/products/{world['product']}/releases", json={"version": 5.1})
    assert release.status_code == 201 and release.json["version"] == "5.1"
    for step in ("accepted", "deployed"):
        moved = owner.post(f"{API}/releases/{release.json['id']}/transitions", json={"to": step})
    assert moved.json["status"] == "deployed" and moved.json["deployed_at"].endswith("Z")
    refused = owner.post(f"{API}/releases/{release.json['id']}/transitions", json={"to": "planned"})
    assert refused.status_code == 409
    products = owner.get(f"{API}/products").json["items"]
    assert [r["version"] for r in products[0]["releases"]] == ["4.2", "5.1"]


# --- bad input (issue 4, "Rules and bad input") ----------------------------------------------


BAD_OFFERS = [
    ({"valid_from": "2030-01-02", "valid_to": "2030-01-01"}, "valid_to"),
    ({"price": "-1.00"}, "price"),
    ({"cost": "-0.01"}, "cost"),
    ({"currency": "XYZ"}, "currency"),
    (
        {"options": [{"key": "size", "label": "Size", "type": "choice", "choices": []}]},
        "options.0.choices",
    ),
    (
        {"options": [{"key": "n", "label": "N", "type": "number", "min": 10, "max": 1}]},
        "options.0.min",
    ),
    ({"price": "1.234"}, "price"),
    ({"price": "NaN"}, "price"),
    ({"name": ""}, "name"),
    ({"name": "x" * 10_000}, "name"),
    ({"code": "not a code!"}, "code"),
    ({"code": "VPN-ACCESS"}, "code"),  # taken
    ({"category_id": 999_999}, "category_id"),
    ({"service_levels": {"availability_pct": 120}}, "service_levels.availability_pct"),
    (
        {"fulfillment_plan": [{"name": "Do it", "mode": "manual", "expected_hours": 1}]},
        "fulfillment_plan.0.group",
    ),
    (
        {"support_plan": {"tier1_group": "Nobody", "channels": ["portal"]}},
        "support_plan.tier1_group",
    ),
    # wrong JSON types: 422, never 500
    ({"price": True}, "price"),
    ({"price": {"amount": 1}}, "price"),
    ({"name": 5}, "name"),
    ({"options": "none"}, "options"),
    ({"options": [1, 2]}, "options.0"),
    ({"service_levels": [1]}, "service_levels"),
    ({"service_levels": {"response_hours": [1]}}, "service_levels.response_hours"),
    ({"category_id": "abc"}, "category_id"),
    ({"valid_from": "next tuesday"}, "valid_from"),
    ({"valid_from": 20300101}, "valid_from"),
    (
        {"fulfillment_plan": [{"name": ["x"], "mode": 3, "expected_hours": "soon"}]},
        "fulfillment_plan.0.name",
    ),
    ({"unexpected": 1}, "unexpected"),
]


@pytest.mark.parametrize("overrides, field", BAD_OFFERS)
def test_bad_offer_is_422_with_field_errors_and_nothing_saved(api, world, overrides, field):
    before = offer_count()
    body = {**complete_offer_data("NEW-OFFER"), **overrides}
    response = api(world["tokens"]["manager"]).post(f"{API}/offers", json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"], response.json["errors"]
    assert offer_count() == before


def test_bad_patch_is_422_and_nothing_saved(api, world):
    manager = api(world["tokens"]["manager"])
    path = f"{API}/offers/{world['draft']}"
    etag = manager.get(path).headers["ETag"]
    response = manager.patch(
        path,
        json={"price": "-5", "valid_from": "2030-01-02", "valid_to": "2030-01-01"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 422
    assert {"price", "valid_to"} <= set(response.json["errors"])
    renamed = manager.patch(path, json={"code": "OTHER"}, headers={"If-Match": etag})
    assert renamed.status_code == 422 and "code" in renamed.json["errors"]
    offer = catalog.get_offer(world["draft"])
    assert (str(offer.price), offer.valid_to, f'"{offer.version}"') == ("7.50", None, etag)


@pytest.mark.parametrize(
    "data, content_type",
    [("[1, 2]", "application/json"), ("{not json", "application/json"), ("", "application/json")],
)
def test_body_that_is_not_a_json_object_is_422(api, world, data, content_type):
    response = api(world["tokens"]["manager"]).post(
        f"{API}/offers", data=data, headers={"Content-Type": content_type}
    )
    assert response.status_code == 422 and "body" in response.json["errors"]


def test_unicode_offer_is_fine(api, world):
    body = complete_offer_data("UNICODE-1", name="Büro-Laptop 💻 für Ärzte", summary="日本語")
    response = api(world["tokens"]["manager"]).post(f"{API}/offers", json=body)
    assert response.status_code == 201 and response.json["name"] == "Büro-Laptop 💻 für Ärzte"


@pytest.mark.parametrize(
    "members, message",
    [
        (["STARTER-KIT"], "cannot contain itself"),
        (["DRAFT-OFFER"], "not a published offer"),
        (["NOPE"], "not a published offer"),
        (["VPN-ACCESS", "VPN-ACCESS"], "once"),
    ],
)
def test_bad_bundle_members_are_422_and_nothing_saved(api, world, members, message):
    response = api(world["tokens"]["manager"]).put(
        f"{API}/offers/{world['bundle']}/members", json={"members": members}
    )
    assert response.status_code == 422
    assert any(message in text for text in response.json["errors"]["members"])
    count = db.session.scalar(sa.select(sa.func.count(BundleMember.id)))
    assert count == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"members": "VPN-ACCESS"}, "members"),
        ({"members": [1]}, "members.0"),
        ({}, "members"),
    ],
)
def test_bad_member_types_are_422(api, world, body, field):
    response = api(world["tokens"]["manager"]).put(
        f"{API}/offers/{world['bundle']}/members", json=body
    )
    assert response.status_code == 422 and field in response.json["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"price": "-1", "effective_from": "2031-01-01"}, "price"),
        ({"price": "1.00"}, "effective_from"),
        ({"price": "1.00", "effective_from": "soon"}, "effective_from"),
    ],
)
def test_bad_price_change_is_422_and_nothing_saved(api, world, body, field):
    response = api(world["tokens"]["manager"]).post(
        f"{API}/offers/{world['everyone']}/price-changes", json=body
    )
    assert response.status_code == 422 and field in response.json["errors"]
    assert db.session.scalar(sa.select(sa.func.count(PriceChange.id))) == 0


@pytest.mark.parametrize(
    "body",
    [{"to": "banana"}, {"to": "superseded "}, {"to": "Published"}, {"to": 5}, {"to": None}, {}],
)
def test_bad_transition_target_is_422_on_to(api, world, body):
    path = f"{API}/offers/{world['draft']}"
    response = api(world["tokens"]["manager"]).post(f"{path}/transitions", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == ["to"]
    if isinstance(body.get("to"), str):
        assert "draft, planned, ready, published, retired" in response.json["errors"]["to"][0]
    offer = catalog.get_offer(world["draft"])
    assert (offer.status, offer.version) == ("draft", world["draft_version"])


@pytest.mark.parametrize("body", ['"planned"', "[1, 2]", "not json", ""])
def test_a_transition_body_that_is_not_an_object_is_422(api, world, body):
    response = api(world["tokens"]["manager"]).post(
        f"{API}/offers/{world['draft']}/transitions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == ["body"]


def test_a_known_status_out_of_turn_is_still_409(api, world):
    response = api(world["tokens"]["manager"]).post(
        f"{API}/offers/{world['draft']}/transitions", json={"to": "published"}
    )
    assert response.status_code == 409
    assert response.json["errors"]["to"] == ["Allowed next: planned."]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"group_ids": [999_999]}, "group_ids"),
        ({"group_ids": [], "canary": True}, "pilot_group_ids"),
        ({"group_ids": "Finance"}, "group_ids"),
    ],
)
def test_bad_audience_is_422(api, world, body, field):
    response = api(world["tokens"]["manager"]).put(
        f"{API}/offers/{world['everyone']}/audience", json=body
    )
    assert response.status_code == 422 and field in response.json["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"to": "retired", "end_date": "2001-01-01"}, "end_date"),
        ({"to": "retired", "replacement_code": "SSO-ACCOUNT-X"}, "replacement_code"),
        ({"to": "retired", "replacement_code": "VPN-ACCESS"}, "replacement_code"),
        ({"to": 5}, "to"),
        ({}, "to"),
    ],
)
def test_bad_retirement_is_refused_and_nothing_saved(api, world, body, field):
    response = api(world["tokens"]["manager"]).post(
        f"{API}/offers/{world['finance_only']}/transitions", json=body
    )
    assert response.status_code == 422 and field in response.json["errors"]
    assert catalog.get_offer(world["finance_only"]).status == "published"


def test_bad_category_is_422(api, world):
    manager = api(world["tokens"]["manager"])
    duplicate = manager.post(f"{API}/categories", json={"name": "Access"})
    assert duplicate.status_code == 422 and "name" in duplicate.json["errors"]
    under_itself = manager.patch(
        f"{API}/categories/{world['category']}", json={"parent_id": world["category"]}
    )
    assert under_itself.status_code == 422 and "parent_id" in under_itself.json["errors"]
    assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 1


def test_unknown_ids_are_404_problems(api, world):
    manager = api(world["tokens"]["manager"])
    assert manager.get(f"{API}/offers/999999").status_code == 404
    assert manager.get(f"{API}/offers/999999/readiness").status_code == 404
    response = manager.post(f"{API}/offers/999999/transitions", json={"to": "planned"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


# --- catalog as code over the API ----------------------------------------------------------


def test_export_yaml_and_json(api, world):
    manager = api(world["tokens"]["manager"])
    as_yaml = manager.get(f"{API}/catalog/export")
    assert as_yaml.status_code == 200 and as_yaml.mimetype == "application/yaml"
    assert "code: VPN-ACCESS" in as_yaml.get_data(as_text=True)
    as_json = manager.get(f"{API}/catalog/export?format=json").json
    assert [o["code"] for o in as_json["offers"]] == [
        "DRAFT-OFFER",
        "SSO-ACCOUNT",
        "STARTER-KIT",
        "VPN-ACCESS",
    ]
    assert manager.get(f"{API}/catalog/export?format=xml").status_code == 422


def test_import_dry_run_reports_the_difference_and_saves_nothing(api, world):
    manager = api(world["tokens"]["manager"])
    document = manager.get(f"{API}/catalog/export?format=json").json
    vpn = next(o for o in document["offers"] if o["code"] == "VPN-ACCESS")
    vpn["summary"] = "Changed by the file"
    document["offers"].append({"code": "BRAND-NEW", "name": "Brand new", "price": "1.00"})
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = manager.post(f"{API}/catalog/import?dry_run=true", json=document)
    assert response.status_code == 200, response.json
    report = {line["code"]: line for line in response.json["offers"]}
    assert report["VPN-ACCESS"]["action"] == "update"
    assert report["VPN-ACCESS"]["changes"]["summary"]["after"] == "Changed by the file"
    assert report["BRAND-NEW"]["action"] == "create"
    assert report["SSO-ACCOUNT"]["action"] == "unchanged"
    assert response.json["dry_run"] is True and response.json["summary"]["created"] == 1
    assert "would update VPN-ACCESS: summary" in response.json["lines"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events
    assert offer_count() == 4
    assert catalog.live_revision("VPN-ACCESS").summary != "Changed by the file"
    saved = manager.post(f"{API}/catalog/import", json=document)
    assert saved.status_code == 200 and saved.json["dry_run"] is False
    live = catalog.live_revision("VPN-ACCESS")
    assert (live.summary, live.revision) == ("Changed by the file", 2)
    assert catalog.draft_revision("BRAND-NEW").name == "Brand new"


def test_import_bad_yaml_reports_the_line(api, world):
    text = "offers:\n  - code: A-1\n    name: [unclosed\n  - code: B-2\n"
    response = api(world["tokens"]["manager"]).post(
        f"{API}/catalog/import", data=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 422
    assert "line 4" in response.json["detail"]


def test_import_bad_item_reports_its_path_and_line_and_saves_nothing(api, world):
    text = SMALL_CATALOG + '  - code: SECOND\n    name: Second\n    price: "-3.00"\n'
    response = api(world["tokens"]["manager"]).post(
        f"{API}/catalog/import", data=text, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json["errors"]["offers[1].price"] == ["line 7: The amount cannot be negative."]
    assert offer_count() == 4 and catalog.draft_revision("NEW-ONE") is None


def test_import_wrong_types_are_422_never_500(api, world):
    manager = api(world["tokens"]["manager"])
    for document, field in [
        ({"offers": "all of them"}, "offers"),
        ({"offers": [{"code": 5, "name": "x"}]}, "offers[0].code"),
        ({"offers": [{"code": "X-1"}]}, "offers[0].name"),
        ({"offers": [{"code": "X-1", "name": "x", "status": "gone"}]}, "offers[0].status"),
        ({"offers": [{"code": "X-1", "name": "x", "prise": "1"}]}, "offers[0].prise"),
        ({"version": 2}, "version"),
    ]:
        response = manager.post(f"{API}/catalog/import", json=document)
        assert response.status_code == 422, document
        assert field in response.json["errors"], response.json["errors"]
    for body in ("- just\n- a list\n", "42"):
        response = manager.post(
            f"{API}/catalog/import", data=body, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 422 and "file" in response.json["errors"]
    empty = manager.post(f"{API}/catalog/import", data="", headers={"Content-Type": "text/yaml"})
    assert empty.status_code == 422
    flag = manager.post(f"{API}/catalog/import?dry_run=maybe", json={})
    assert flag.status_code == 422 and "dry_run" in flag.json["errors"]


# --- the OpenAPI document ------------------------------------------------------------------


def test_openapi_document_validates_and_lists_the_catalog_paths(client):
    from openapi_spec_validator import validate

    document = client.get(f"{API}/openapi.json").json
    validate(document)
    paths = document["paths"]
    expected = {
        "/offers": {"get", "post"},
        "/offers/{offer_id}": {"get", "patch"},
        "/offers/{offer_id}/transitions": {"post"},
        "/offers/{offer_id}/readiness": {"get"},
        "/offers/{offer_id}/revisions": {"post"},
        "/offers/{offer_id}/price-changes": {"get", "post"},
        "/offers/{offer_id}/audience": {"put"},
        "/offers/{offer_id}/members": {"put"},
        "/catalog/export": {"get"},
        "/catalog/import": {"post"},
        "/categories": {"get", "post"},
        "/categories/{category_id}": {"patch"},
        "/products": {"get", "post"},
        "/products/{product_id}/releases": {"post"},
        "/releases/{release_id}/transitions": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    create = paths["/offers"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OfferWrite"
    )
    assert "422" in create["responses"] and "201" in create["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["ManagerOffer"]["properties"]["price"]["type"] == "string"
    assert "cost" not in schemas["OfferWrite"]["required"]
