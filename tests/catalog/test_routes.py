"""The Release-stream pages and the consumer catalog, through the test client."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.models import Category, DigitalProduct, PriceChange, ProductRelease, ServiceOffer
from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle
from app.knowledge.services import links as knowledge_links
from tests.catalog.conftest import complete_offer_data
from tests.conftest import module_world

PRIORITY_HOURS = {"critical": (1, 4), "high": (4, 8), "medium": (8, 24), "low": (24, 72)}


def offer_form(code: str | None = None, version: int | None = None, **overrides) -> dict:
    """What the editor posts for a complete offer; an override of None leaves a field out."""
    data = {
        "name": "VPN access",
        "summary": "Remote access to the corporate network.",
        "description": "Connect securely.\n\n* Multi-factor login",
        "kind": "new_instance",
        "category_id": "",
        "release_id": "",
        "valid_from": "",
        "valid_to": "",
        "planned_release_date": "",
        "cost": "3.00",
        "price": "7.50",
        "currency": "EUR",
        "billing_period": "monthly",
        "terms": "Personal use only. Monthly notice.",
        "service_levels-availability_pct": "99.5",
        "service_levels-fulfillment_target_hours": "24",
        "service_levels-support_hours": "business",
        "options-0-key": "profile",
        "options-0-label": "Profile",
        "options-0-type": "choice",
        "options-0-choices": "standard, developer",
        "options-0-default": "standard",
        "options-0-required": "y",
        "options-1-key": "devices",
        "options-1-label": "Devices",
        "options-1-type": "number",
        "options-1-min": "1",
        "options-1-max": "5",
        "options-1-default": "1",
        "options-2-key": "split_tunnel",
        "options-2-label": "Split tunnelling",
        "options-2-type": "boolean",
        "options-2-default": "no",
        "options-3-key": "note",
        "options-3-label": "Note",
        "options-3-type": "text",
        "options-3-max_length": "200",
        "fulfillment_plan-0-name": "Create account",
        "fulfillment_plan-0-mode": "automatic",
        "fulfillment_plan-0-group": "",
        "fulfillment_plan-0-expected_hours": "0.5",
        "fulfillment_plan-1-name": "Approve access",
        "fulfillment_plan-1-mode": "manual",
        "fulfillment_plan-1-group": "Support Desk",
        "fulfillment_plan-1-expected_hours": "4",
        "support_plan-tier1_group": "Support Desk",
        "support_plan-escalation_path": "Network team\nVendor",
        "support_plan-channels": ["portal", "email"],
        "op": "save",
    }
    for priority, (response, resolution) in PRIORITY_HOURS.items():
        data[f"service_levels-response_hours-{priority}"] = str(response)
        data[f"service_levels-resolution_hours-{priority}"] = str(resolution)
    if code is not None:
        data["code"] = code
    if version is not None:
        data["version"] = str(version)
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def html(response) -> str:
    return response.get_data(as_text=True)


def offers_with_code(code: str) -> list[ServiceOffer]:
    return list(db.session.scalars(sa.select(ServiceOffer).where(ServiceOffer.code == code)))


def fieldset(page: str, legend: str) -> str:
    """The HTML of the fieldset whose legend starts with `legend`."""
    start = page.index(f"<legend>{legend}")
    return page[start : page.index("</fieldset>", start)]


def field_block(page: str, field_id: str) -> str:
    """The .field wrapper around the input with this id (where its errors are shown)."""
    position = page.index(f'id="{field_id}"')
    start = page.rfind('<div class="field', 0, position)
    end = page.find('<div class="field', position)
    return page[start : end if end != -1 else None]


@pytest.fixture
def manager(catalog_setup):
    return catalog_setup["catalog_manager"]


# --- who may open what ---------------------------------------------------------------------

MANAGE_PAGES = [
    "/catalog/manage/",
    "/catalog/manage/export.csv",
    "/catalog/manage/offers/new",
    "/catalog/manage/offers/{id}",
    "/catalog/manage/offers/{id}/diff",
    "/catalog/manage/categories",
]


@pytest.mark.parametrize("path", MANAGE_PAGES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("catalog_manager", 200),
        ("consumer", 403),
        ("support_agent", 403),
        ("product_manager", 403),
        ("admin", 403),
        (None, 302),
    ],
)
def test_manager_pages_by_role(client, client_as, make_offer, path, role, status):
    offer = make_offer()
    http = client_as(role) if role else client
    response = http.get(path.format(id=offer.id))
    assert response.status_code == status
    if role is None:
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("role", "status"),
    [("product_manager", 200), ("catalog_manager", 200), ("consumer", 403), (None, 302)],
)
def test_products_page_by_role(client, client_as, role, status):
    http = client_as(role) if role else client
    assert http.get("/catalog/products").status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/manage/offers/new",
        "/catalog/manage/offers/{id}",
        "/catalog/manage/offers/{id}/transition",
        "/catalog/manage/offers/{id}/retire",
        "/catalog/manage/offers/{id}/revisions",
        "/catalog/manage/offers/{id}/prices",
        "/catalog/manage/offers/{id}/articles",
        "/catalog/manage/offers/{id}/articles/new",
        "/catalog/manage/offers/{id}/audience",
        "/catalog/manage/offers/{id}/featured",
        "/catalog/manage/offers/{id}/members",
        "/catalog/manage/categories",
    ],
)
def test_consumer_cannot_post_to_manager_pages(client_as, make_offer, path):
    offer = make_offer()
    before = offer.version
    response = client_as("consumer").post(
        path.format(id=offer.id), data=offer_form("HACK-1", to="retired", featured="1")
    )
    assert response.status_code == 403
    assert offers_with_code("HACK-1") == []
    assert db.session.get(ServiceOffer, offer.id).version == before


def test_unknown_offer_gives_404_in_the_editor(client_as):
    assert client_as("catalog_manager").get("/catalog/manage/offers/999999").status_code == 404


def test_navigation_endpoints_exist(client_as):
    page = html(client_as("consumer").get("/"))
    assert 'href="/catalog/"' in page
    page = html(client_as("catalog_manager").get("/"))
    assert 'href="/catalog/manage/"' in page and 'href="/catalog/products"' in page


# --- the consumer catalog ------------------------------------------------------------------


def test_catalog_shows_only_what_the_consumer_may_see(client_as, make_offer, users):
    finance = accounts.find_group_by_name("Finance")
    make_offer("FOR-ALL", name="For everyone")
    make_offer("FOR-FINANCE", name="Finance only", group_ids=[finance.id])
    make_offer("DRAFT-ONLY", name="Still a draft", publish=False)
    make_offer(
        "LATER",
        name="Not yet",
        valid_from=(clock.now() + timedelta(days=10)).date().isoformat(),
    )
    ended = make_offer("ENDED", name="Already over")
    catalog.transition_offer(users["catalog_manager"], ended.id, "retired")

    page = html(client_as("consumer").get("/catalog/"))
    assert "For everyone" in page and "Finance only" in page
    assert "Still a draft" not in page and "Not yet" not in page and "Already over" not in page

    other = html(client_as("other_consumer").get("/catalog/"))
    assert "For everyone" in other and "Finance only" not in other


def test_offer_page_404_for_outsiders_and_hidden_offers(client_as, make_offer):
    finance = accounts.find_group_by_name("Finance")
    restricted = make_offer("FOR-FINANCE", group_ids=[finance.id])
    draft = make_offer("DRAFT-ONLY", publish=False)
    scheduled = make_offer(
        "LATER", valid_from=(clock.now() + timedelta(days=10)).date().isoformat()
    )
    member, outsider = client_as("consumer"), client_as("other_consumer")
    assert member.get(f"/catalog/offers/{restricted.id}").status_code == 200
    assert outsider.get(f"/catalog/offers/{restricted.id}").status_code == 404
    assert member.get(f"/catalog/offers/{draft.id}").status_code == 404
    assert member.get(f"/catalog/offers/{scheduled.id}").status_code == 404
    assert member.get("/catalog/offers/999999").status_code == 404
    # Catalog managers preview any revision, with a note that consumers do not see it.
    preview = client_as("catalog_manager").get(f"/catalog/offers/{draft.id}")
    assert preview.status_code == 200 and "consumers do not see it" in html(preview)


def test_offer_page_shows_everything_a_consumer_needs(client_as, make_offer, manager):
    offer = make_offer(
        description="**Fast** access.\n\n<script>alert('x')</script>",
        terms="You must *not* share it.",
    )
    catalog.add_price_change(
        manager,
        offer.code,
        price="6.00",
        effective_from=clock.now() - timedelta(days=1),
        confirm_backdated=True,
    )
    catalog.add_price_change(
        manager, offer.code, price="8.00", effective_from=clock.now() + timedelta(days=30)
    )
    page = html(client_as("consumer").get(f"/catalog/offers/{offer.id}"))
    assert "<strong>Fast</strong>" in page and "<script>alert" not in page
    assert "<em>not</em>" in page
    assert "6.00 EUR" in page  # the price in force now, from the history
    assert "8.00 EUR" in page  # and the next one, announced
    assert "Monthly" in page
    assert "99.5 %" in page and "Business hours" in page
    assert "Profile" in page and "one of standard, developer" in page
    assert "a number from 1 up to 5" in page and "Split tunnelling" in page
    assert "How to use VPN-ACCESS" in page


def test_category_page_lists_its_visible_offers_and_subcategories(client_as, make_offer, manager):
    network = catalog.save_category(manager, name="Network")
    vpn = catalog.save_category(manager, name="Remote access", parent_id=network.id)
    make_offer("VPN-ACCESS", name="VPN access", category_id=vpn.id)
    make_offer("WIFI", name="Guest Wi-Fi", category_id=network.id)
    make_offer("LAPTOP", name="Laptop")
    consumer = client_as("consumer")
    page = html(consumer.get("/catalog/categories/network"))
    assert "VPN access" in page and "Guest Wi-Fi" in page and "Laptop" not in page
    assert "Remote access" in page
    sub = html(consumer.get("/catalog/categories/remote-access"))
    assert "VPN access" in sub and "Guest Wi-Fi" not in sub
    assert consumer.get("/catalog/categories/nothing-here").status_code == 404


def test_retired_offer_points_to_its_replacement(client_as, make_offer, manager):
    old = make_offer("OLD-VPN", name="Old VPN")
    new = make_offer("NEW-VPN", name="New VPN")
    http = client_as("catalog_manager")
    response = http.post(
        f"/catalog/manage/offers/{old.id}/retire",
        data={
            "ret-version": str(old.version),
            "ret-end_date": (clock.now() + timedelta(days=5)).date().isoformat(),
            "ret-replacement_code": "NEW-VPN",
        },
    )
    assert response.status_code == 302
    page = html(client_as("consumer").get(f"/catalog/offers/{old.id}"))
    assert "This offer is being retired" in page
    assert f'href="/catalog/offers/{new.id}"' in page and "New VPN" in page


def test_old_link_to_a_superseded_revision_leads_to_the_live_one(client_as, make_offer, manager):
    first = make_offer()
    second = catalog.create_revision(manager, first.id)
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, second.id, status)
    response = client_as("consumer").get(f"/catalog/offers/{first.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/catalog/offers/{second.id}")


def test_home_shows_featured_and_new_offers_to_consumers(client_as, make_offer, manager):
    make_offer("VPN-ACCESS", name="VPN access")
    make_offer("LAPTOP", name="Laptop")
    catalog.set_featured(manager, "LAPTOP", True)
    page = html(client_as("consumer").get("/"))
    featured = page[page.index("Featured offers") : page.index("New in the catalog")]
    assert "Laptop" in featured and "VPN access" not in featured
    assert "VPN access" in page[page.index("New in the catalog") :]
    summary = html(client_as("catalog_manager").get("/"))
    assert "Catalog at a glance" in summary


# --- creating and editing an offer ---------------------------------------------------------


def test_create_offer_from_the_form_saves_every_part(client_as, catalog_setup):
    response = client_as("catalog_manager").post(
        "/catalog/manage/offers/new", data=offer_form("VPN-ACCESS")
    )
    assert response.status_code == 302
    (offer,) = offers_with_code("VPN-ACCESS")
    assert response.headers["Location"].endswith(f"/catalog/manage/offers/{offer.id}")
    assert offer.status == "draft" and offer.price == Decimal("7.50")
    assert offer.service_levels["response_hours"] == {
        "critical": 1,
        "high": 4,
        "medium": 8,
        "low": 24,
    }
    assert [o["type"] for o in offer.options] == ["choice", "number", "boolean", "text"]
    assert offer.options[0]["choices"] == ["standard", "developer"] and offer.options[0]["required"]
    assert offer.options[1]["min"] == 1 and offer.options[1]["max"] == 5
    assert offer.options[2]["default"] is False
    assert [s["mode"] for s in offer.fulfillment_plan] == ["automatic", "manual"]
    assert offer.fulfillment_plan[1]["group"] == "Support Desk"
    assert offer.support_plan == {
        "tier1_group": "Support Desk",
        "escalation_path": ["Network team", "Vendor"],
        "channels": ["portal", "email"],
    }


def test_double_submit_of_create_makes_one_offer(client_as, catalog_setup):
    http = client_as("catalog_manager")
    first = http.post("/catalog/manage/offers/new", data=offer_form("VPN-ACCESS"))
    second = http.post("/catalog/manage/offers/new", data=offer_form("VPN-ACCESS"))
    assert first.status_code == 302 and second.status_code == 422
    assert "The code VPN-ACCESS is already used." in field_block(html(second), "code")
    assert len(offers_with_code("VPN-ACCESS")) == 1


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"price": "-5"}, "price", "The amount cannot be negative."),
        ({"cost": "-1"}, "cost", "The amount cannot be negative."),
        ({"price": "abc"}, "price", "Enter an amount such as 12.50."),
        (
            {"valid_from": "2030-06-01", "valid_to": "2030-05-01"},
            "valid_to",
            "The end of validity must come after its start.",
        ),
        ({"currency": "XYZ"}, "currency", "Unknown currency"),
        ({"options-0-choices": ""}, "options-0-choices", "needs at least one choice"),
        (
            {"options-1-min": "9", "options-1-max": "2"},
            "options-1-min",
            "The minimum is above the maximum.",
        ),
        (
            {"service_levels-availability_pct": "120"},
            "service_levels-availability_pct",
            "Must be at most 100.",
        ),
        (
            {"service_levels-resolution_hours-high": "1"},
            "service_levels-resolution_hours-high",
            "Resolution cannot come before the first response.",
        ),
        (
            {"fulfillment_plan-1-group": ""},
            "fulfillment_plan-1-group",
            "A manual step needs the group",
        ),
        ({"category_id": "abc"}, "category_id", "Choose from the list."),
        ({"name": "x" * 5000}, "name", "Keep this to 160 characters."),
        ({"code": "bad code!"}, "code", "Use 2–40 capital letters"),
    ],
)
def test_create_refuses_bad_fields_next_to_the_field(
    client_as, catalog_setup, overrides, field_id, message
):
    data = offer_form("VPN-ACCESS") | overrides
    response = client_as("catalog_manager").post("/catalog/manage/offers/new", data=data)
    assert response.status_code == 422
    assert message in field_block(html(response), field_id)
    assert db.session.scalar(sa.select(sa.func.count(ServiceOffer.id))) == 0


def test_field_errors_land_in_their_order_form_row(client_as, catalog_setup):
    response = client_as("catalog_manager").post(
        "/catalog/manage/offers/new",
        data=offer_form("VPN-ACCESS", **{"options-2-key": "Bad Key", "options-0-choices": ""}),
    )
    page = html(response)
    assert "needs at least one choice" in fieldset(page, "Field 1")
    assert "Use lower-case letters" in fieldset(page, "Field 3")
    assert "Use lower-case letters" not in fieldset(page, "Field 1")
    # The tabs mark the section with errors.
    assert re.search(r'data-tab="options">Order form <span class="tab-mark"', page)


def test_update_refuses_bad_fields_and_saves_nothing(client_as, make_offer):
    offer = make_offer(publish=False)
    before = (offer.version, offer.price, offer.valid_to)
    response = client_as("catalog_manager").post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(
            version=offer.version,
            name="Renamed",
            price="-1",
            valid_from="2030-06-01",
            valid_to="2030-01-01",
        ),
    )
    assert response.status_code == 422
    page = html(response)
    assert "The amount cannot be negative." in field_block(page, "price")
    assert "must come after its start" in field_block(page, "valid_to")
    assert 'value="Renamed"' in page  # what the user typed is kept
    saved = db.session.get(ServiceOffer, offer.id)
    assert (saved.version, saved.price, saved.valid_to) == before and saved.name == "VPN access"


def test_unicode_and_wide_values_are_saved(client_as, make_offer):
    offer = make_offer(publish=False)
    opened = offer.version
    response = client_as("catalog_manager").post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=opened, name="Accès VPN — 東京 🚀", price="1234567.89"),
    )
    assert response.status_code == 302
    saved = db.session.get(ServiceOffer, offer.id)
    assert saved.name == "Accès VPN — 東京 🚀" and saved.price == Decimal("1234567.89")
    assert saved.version == opened + 1


def test_unchanged_date_keeps_the_stored_moment(client_as, make_offer):
    offer = make_offer(publish=False, valid_from="2030-01-01T09:30:00+00:00")
    http = client_as("catalog_manager")
    http.post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=offer.version, valid_from="2030-01-01", name="Same day"),
    )
    saved = db.session.get(ServiceOffer, offer.id)
    assert saved.name == "Same day" and saved.valid_from.hour == 9


def test_stale_version_is_refused_and_the_first_save_stays(client_as, make_offer, make_user):
    offer = make_offer(publish=False)
    opened = offer.version
    first = client_as("catalog_manager")
    other_manager = make_user("catalog_manager", name="Other Manager")
    from tests.conftest import login

    second = login(first.application.test_client(), other_manager)
    saved = second.post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=opened, name="Their name", price="9.00"),
    )
    assert saved.status_code == 302
    stale = first.post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=opened, name="My name", summary="My summary"),
    )
    assert stale.status_code == 409
    page = html(stale)
    message = page.split("This offer was changed since you opened it by Other Manager at ")[1]
    changed = message.split(" UTC: ")[1].split(". Nothing of yours was saved.")[0].split(", ")
    assert "name" in changed and "price" in changed and "summary" not in changed
    assert 'value="My name"' in page and 'value="My summary"' in page  # nothing lost
    kept = db.session.get(ServiceOffer, offer.id)
    assert kept.name == "Their name" and kept.price == Decimal("9.00")
    assert kept.version == opened + 1


def test_garbage_version_is_treated_as_stale(client_as, make_offer):
    offer = make_offer(publish=False)
    response = client_as("catalog_manager").post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(version=None, name="X") | {"version": "abc"},
    )
    assert response.status_code == 409
    assert db.session.get(ServiceOffer, offer.id).name == "VPN access"


def test_list_buttons_rearrange_without_saving(client_as, make_offer):
    offer = make_offer(publish=False)
    opened = offer.version
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}"
    added = html(http.post(url, data=offer_form(version=offer.version, op="add:options")))
    assert 'name="options-4-key"' in added and "<legend>Field 5" in added
    moved = html(http.post(url, data=offer_form(version=offer.version, op="up:options:1")))
    assert moved.index('value="devices"') < moved.index('value="profile"')
    removed = html(http.post(url, data=offer_form(version=offer.version, op="remove:options:0")))
    assert 'value="profile"' not in removed and 'name="options-3-key"' not in removed
    steps = html(http.post(url, data=offer_form(version=offer.version, op="down:steps:0")))
    assert steps.index('value="Approve access"') < steps.index('value="Create account"')
    # Nothing of this reached the database.
    saved = db.session.get(ServiceOffer, offer.id)
    assert saved.version == opened and len(saved.options) == 4
    assert (
        http.post(url, data=offer_form(version=offer.version, op="up:options:99")).status_code
        == 200
    )


def test_saving_after_rearranging_stores_the_new_order(client_as, make_offer):
    offer = make_offer(publish=False)
    data = offer_form(version=offer.version)
    # Rows as the browser posts them after "Remove" on field 1 and a reorder.
    for key in [k for k in data if k.startswith("options-0-")]:
        del data[key]
    response = client_as("catalog_manager").post(f"/catalog/manage/offers/{offer.id}", data=data)
    assert response.status_code == 302
    assert [o["key"] for o in db.session.get(ServiceOffer, offer.id).options] == [
        "devices",
        "split_tunnel",
        "note",
    ]


def test_preview_renders_sanitised_markdown_without_saving(client_as, make_offer):
    offer = make_offer(publish=False)
    opened = offer.version
    response = client_as("catalog_manager").post(
        f"/catalog/manage/offers/{offer.id}",
        data=offer_form(
            version=opened,
            op="preview",
            description="# Title\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        ),
    )
    page = html(response)
    preview = page[page.index('data-testid="preview"') :]
    preview = preview[: preview.index("</div>")]
    assert "<strong>bold</strong>" in preview
    assert "<script>" not in preview and "javascript:" not in preview
    assert db.session.get(ServiceOffer, offer.id).version == opened


def test_editor_shows_status_checklist_and_history(client_as, make_offer):
    offer = make_offer(publish=False, terms="")
    page = html(client_as("catalog_manager").get(f"/catalog/manage/offers/{offer.id}"))
    assert 'data-check="terms"' in page
    terms = page[page.index('data-check="terms"') :]
    assert "✗" in terms[:200] and "Write the terms and conditions." in terms[:400]
    assert "5 of 6 done." in page
    assert "Approve plan (→ planned)" in page
    assert "articles changed" in page and "created" in page  # code-level and revision events


# --- the lifecycle -------------------------------------------------------------------------


def test_lifecycle_buttons_move_the_offer_and_refusals_name_what_is_missing(client_as, make_offer):
    offer = make_offer(publish=False, terms="")
    opened = offer.version
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/transition"
    refused = http.post(url, data={"to": "published", "version": offer.version})
    assert refused.status_code == 302
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    assert "A draft offer cannot become published. Allowed next: planned." in page

    http.post(url, data={"to": "planned", "version": offer.version})
    planned = db.session.get(ServiceOffer, offer.id)
    assert planned.status == "planned"
    http.post(url, data={"to": "ready", "version": planned.version})
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    assert "Not ready: Write the terms and conditions." in page
    assert db.session.get(ServiceOffer, offer.id).status == "planned"

    # A stale button (the offer moved meanwhile) is refused too.
    http.post(url, data={"to": "draft", "version": opened})
    assert db.session.get(ServiceOffer, offer.id).status == "planned"
    assert "This offer was changed since you opened it by " in html(
        http.get(f"/catalog/manage/offers/{offer.id}")
    )


@pytest.mark.parametrize("to", ["banana", ""])
def test_a_forged_transition_button_is_refused_with_a_message(client_as, make_offer, to):
    offer = make_offer(publish=False)
    http = client_as("catalog_manager")
    refused = http.post(
        f"/catalog/manage/offers/{offer.id}/transition",
        data={"to": to, "version": offer.version},
        follow_redirects=True,
    )
    assert refused.status_code == 200
    page = html(refused)
    assert "is not an offer status" in page
    assert db.session.get(ServiceOffer, offer.id).status == "draft"


def test_publish_through_the_buttons(client_as, make_offer):
    offer = make_offer(publish=False)
    http = client_as("catalog_manager")
    for status in ("planned", "ready", "published"):
        current = db.session.get(ServiceOffer, offer.id)
        http.post(
            f"/catalog/manage/offers/{offer.id}/transition",
            data={"to": status, "version": current.version},
        )
    assert db.session.get(ServiceOffer, offer.id).status == "published"
    assert client_as("consumer").get(f"/catalog/offers/{offer.id}").status_code == 200


def test_release_not_deployed_is_shown_and_blocks_ready(client_as, make_offer, users):
    product = catalog.save_product(users["product_manager"], name="VPN gateway")
    release = catalog.create_release(users["product_manager"], product.id, version="2.0")
    offer = make_offer(publish=False, release_id=release.id)
    page = html(client_as("catalog_manager").get(f"/catalog/manage/offers/{offer.id}"))
    assert "Tied to release VPN gateway 2.0, which is planned" in page
    assert "Release VPN gateway 2.0 must be deployed first." in page


def test_published_revision_is_read_only_and_gets_a_new_revision(client_as, make_offer):
    offer = make_offer()
    http = client_as("catalog_manager")
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    assert '<fieldset class="plain" disabled>' in page
    assert 'value="save"' not in page and "Create new revision" in page
    refused = http.post(
        f"/catalog/manage/offers/{offer.id}", data=offer_form(version=offer.version, name="X")
    )
    assert refused.status_code == 422 and "create a new revision" in html(refused)

    created = http.post(f"/catalog/manage/offers/{offer.id}/revisions")
    revision = max(offers_with_code(offer.code), key=lambda o: o.revision)
    assert revision.revision == 2 and revision.status == "draft"
    assert created.headers["Location"].endswith(f"/catalog/manage/offers/{revision.id}")
    again = http.post(f"/catalog/manage/offers/{offer.id}/revisions")
    assert again.status_code == 302 and len(offers_with_code(offer.code)) == 2
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    assert "Revision 2 is being edited" in page


def test_diff_between_revisions(client_as, make_offer, manager):
    offer = make_offer()
    revision = catalog.create_revision(manager, offer.id)
    http = client_as("catalog_manager")
    http.post(
        f"/catalog/manage/offers/{revision.id}",
        data=offer_form(version=revision.version, name="VPN access plus", price="9.90"),
    )
    page = html(http.get(f"/catalog/manage/offers/{revision.id}/diff?a={offer.id}&b={revision.id}"))
    table = page[page.index('data-testid="diff"') :]
    assert "VPN access plus" in table and "9.90" in table and "7.50" in table
    assert ">name<" in table and ">price<" in table and ">terms<" not in table
    other = make_offer("OTHER")
    assert http.get(f"/catalog/manage/offers/{offer.id}/diff?a={other.id}").status_code == 404


def test_retire_refuses_bad_input_with_field_messages(client_as, make_offer):
    offer = make_offer()
    http = client_as("catalog_manager")
    response = http.post(
        f"/catalog/manage/offers/{offer.id}/retire",
        data={
            "ret-version": str(offer.version),
            "ret-end_date": "2001-01-01",
            "ret-replacement_code": "VPN-ACCESS",
        },
    )
    assert response.status_code == 422
    page = html(response)
    assert "The end date cannot be in the past." in field_block(page, "ret-end_date")
    assert "An offer cannot replace itself." in field_block(page, "ret-replacement_code")
    assert db.session.get(ServiceOffer, offer.id).status == "published"


# --- prices, knowledge, audience -----------------------------------------------------------


def test_price_change_is_added_and_bad_ones_refused(client_as, make_offer):
    offer = make_offer()
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/prices"
    bad = http.post(url, data={"pc-price": "-3", "pc-effective_from": ""})
    assert bad.status_code == 422
    page = html(bad)
    assert "The amount cannot be negative." in field_block(page, "pc-price")
    assert "Enter the date the price takes effect." in field_block(page, "pc-effective_from")
    assert db.session.scalar(sa.select(sa.func.count(PriceChange.id))) == 0
    good = http.post(
        url,
        data={"pc-price": "8.25", "pc-effective_from": "2031-01-01", "pc-reason": "Annual fees"},
    )
    assert good.status_code == 302
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    history = page[page.index('data-testid="price-history"') :]
    assert "2031-01-01" in history and "8.25 EUR" in history and "Annual fees" in history


def test_knowledge_article_written_and_linked_completes_the_checklist(client_as, manager):
    offer = catalog.create_offer(manager, {"code": "NEW-ONE", "name": "New one"})
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/articles/new"
    empty = http.post(url, data={"art-title": "", "art-body": ""})
    assert empty.status_code == 422
    assert "This field is required." in field_block(html(empty), "art-title")
    assert db.session.scalar(sa.select(sa.func.count(KnowledgeArticle.id))) == 0
    http.post(url, data={"art-title": "Getting started", "art-body": "Step **one**."})
    (article,) = knowledge.articles_of("NEW-ONE")
    assert article.title == "Getting started"
    assert next(i for i in catalog.readiness(offer) if i["key"] == "knowledge")["ok"]
    # Unlinking through the checkboxes.
    http.post(f"/catalog/manage/offers/{offer.id}/articles", data={})
    assert knowledge.articles_of("NEW-ONE") == []
    http.post(f"/catalog/manage/offers/{offer.id}/articles", data={"kb-article_ids": [article.id]})
    assert [a.id for a in knowledge.articles_of("NEW-ONE")] == [article.id]


def test_audience_canary_and_widening(client_as, make_offer):
    finance = accounts.find_group_by_name("Finance")
    engineering = accounts.find_group_by_name("Engineering")
    offer = make_offer()
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/audience"
    refused = http.post(url, data={"aud-group_ids": [finance.id], "aud-canary": "y"})
    assert refused.status_code == 422
    assert "needs at least one pilot group" in html(refused)
    http.post(
        url,
        data={
            "aud-group_ids": [finance.id, engineering.id],
            "aud-pilot_group_ids": [finance.id],
            "aud-canary": "y",
        },
    )
    consumer, other = client_as("consumer"), client_as("other_consumer")
    assert consumer.get(f"/catalog/offers/{offer.id}").status_code == 200
    assert other.get(f"/catalog/offers/{offer.id}").status_code == 404
    page = html(http.get(f"/catalog/manage/offers/{offer.id}"))
    assert (
        "Canary: only the pilot groups (Finance) see it, for now; later the whole audience "
        "(Engineering, Finance)" in page
    )
    widened = http.post(url, data={"op": "widen"}, follow_redirects=True)
    assert "The offer is now visible to its whole audience." in html(widened)
    assert other.get(f"/catalog/offers/{offer.id}").status_code == 200
    assert "Visible to: Engineering, Finance." in html(widened)
    assert http.post(url, data={"aud-group_ids": ["999"]}).status_code == 400


def test_canary_for_everyone_then_widened_from_the_editor(client_as, make_offer, make_user):
    """Canary to the pilots with no audience groups; widening shows the offer to everyone."""
    finance = accounts.find_group_by_name("Finance")
    offer = make_offer()
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{offer.id}/audience"
    saved = http.post(
        url,
        data={"aud-pilot_group_ids": [finance.id], "aud-canary": "y"},
        follow_redirects=True,
    )
    page = html(saved)
    assert "Canary: only the pilot groups (Finance) see it, for now; later everyone." in page
    assert "Widen to everyone" in page
    consumer, other = client_as("consumer"), client_as("other_consumer")
    assert consumer.get(f"/catalog/offers/{offer.id}").status_code == 200
    assert other.get(f"/catalog/offers/{offer.id}").status_code == 404
    assert "VPN access" not in html(other.get("/catalog/"))

    widened = http.post(url, data={"op": "widen"}, follow_redirects=True)
    assert "Everyone sees this offer." in html(widened)
    assert catalog.audience_of(offer.code) == ([], [])
    for viewer in (consumer, other):
        assert viewer.get(f"/catalog/offers/{offer.id}").status_code == 200
        assert "VPN access" in html(viewer.get("/catalog/"))


def test_saving_the_audience_out_of_canary_drops_the_pilots(client_as, make_offer):
    """The editor's form keeps the pilot boxes checked; with canary off they must not stay."""
    finance = accounts.find_group_by_name("Finance")
    offer = make_offer(pilot_ids=[finance.id])
    http = client_as("catalog_manager")
    saved = http.post(
        f"/catalog/manage/offers/{offer.id}/audience",
        data={"aud-pilot_group_ids": [finance.id]},
        follow_redirects=True,
    )
    assert "Everyone sees this offer." in html(saved)
    assert client_as("other_consumer").get(f"/catalog/offers/{offer.id}").status_code == 200


def test_a_named_audience_that_is_only_the_pilots_is_refused(client_as, make_offer):
    finance = accounts.find_group_by_name("Finance")
    offer = make_offer()
    refused = client_as("catalog_manager").post(
        f"/catalog/manage/offers/{offer.id}/audience",
        data={
            "aud-group_ids": [finance.id],
            "aud-pilot_group_ids": [finance.id],
            "aud-canary": "y",
        },
    )
    assert refused.status_code == 422
    assert "Every audience group is a pilot group" in html(refused)
    assert not catalog.settings_for(offer.code).canary


def test_featured_toggle(client_as, make_offer):
    offer = make_offer()
    http = client_as("catalog_manager")
    http.post(f"/catalog/manage/offers/{offer.id}/featured", data={"featured": "1"})
    assert catalog.settings_for(offer.code).featured is True
    http.post(f"/catalog/manage/offers/{offer.id}/featured", data={"featured": "0"})
    db.session.expire_all()
    assert catalog.settings_for(offer.code).featured is False


# --- bundles -------------------------------------------------------------------------------


@module_world
def bundle(make_offer, manager):
    make_offer("VPN-ACCESS", price="7.50")
    make_offer("LAPTOP", name="Laptop", price="30.00")
    make_offer("MAILBOX", name="Mailbox", price="4.00")
    return catalog.create_offer(
        manager,
        complete_offer_data(
            "STARTER-KIT", name="Starter kit", kind="bundle", price="35.00", fulfillment_plan=[]
        ),
    )


def member_codes(bundle_id: int) -> list[str]:
    return [m.member_code for m in db.session.get(ServiceOffer, bundle_id).members]


def test_bundle_members_added_moved_removed(client_as, bundle):
    http = client_as("catalog_manager")
    url = f"/catalog/manage/offers/{bundle.id}/members"
    for code in ("VPN-ACCESS", "LAPTOP", "MAILBOX"):
        version = db.session.get(ServiceOffer, bundle.id).version
        assert (
            http.post(url, data={"bm-member_code": code, "bm-version": version}).status_code == 302
        )
    assert member_codes(bundle.id) == ["VPN-ACCESS", "LAPTOP", "MAILBOX"]
    version = db.session.get(ServiceOffer, bundle.id).version
    http.post(url + "/move", data={"code": "MAILBOX", "direction": "up", "version": version})
    assert member_codes(bundle.id) == ["VPN-ACCESS", "MAILBOX", "LAPTOP"]
    version = db.session.get(ServiceOffer, bundle.id).version
    http.post(url + "/move", data={"code": "VPN-ACCESS", "direction": "remove", "version": version})
    assert member_codes(bundle.id) == ["MAILBOX", "LAPTOP"]
    page = html(http.get(f"/catalog/manage/offers/{bundle.id}"))
    assert "35.00 EUR" in page
    assert "34.00 EUR" in page[page.index('data-testid="member-total"') :][:80]
    # A stale move is refused and changes nothing.
    http.post(url + "/move", data={"code": "LAPTOP", "direction": "up", "version": version})
    assert member_codes(bundle.id) == ["MAILBOX", "LAPTOP"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("STARTER-KIT", "A bundle cannot contain itself."),
        ("DRAFT-ONE", "DRAFT-ONE is not a published offer."),
        ("NOPE", "NOPE is not a published offer."),
        ("", "Type the code of a published offer."),
        ("X" * 5000, "is not a published offer."),
    ],
)
def test_bundle_refuses_itself_and_unpublished_offers(client_as, bundle, make_offer, code, message):
    make_offer("DRAFT-ONE", publish=False)
    opened = bundle.version
    http = client_as("catalog_manager")
    response = http.post(
        f"/catalog/manage/offers/{bundle.id}/members",
        data={"bm-member_code": code, "bm-version": opened},
    )
    assert response.status_code == 422
    assert message in field_block(html(response), "bm-member_code")
    assert member_codes(bundle.id) == []
    assert db.session.get(ServiceOffer, bundle.id).version == opened


def test_bundle_editor_suggests_published_offers_and_takes_a_typed_code(client_as, bundle):
    http = client_as("catalog_manager")
    editor = f"/catalog/manage/offers/{bundle.id}"
    datalist = html(http.get(editor)).split('<datalist id="member-suggestions">')[1]
    datalist = datalist.split("</datalist>")[0]
    assert '<option value="LAPTOP">' in datalist and '<option value="VPN-ACCESS">' in datalist
    assert "STARTER-KIT" not in datalist  # not itself, nor any bundle
    response = http.post(
        editor + "/members", data={"bm-member_code": " laptop ", "bm-version": bundle.version}
    )
    assert response.status_code == 302 and member_codes(bundle.id) == ["LAPTOP"]
    assert "LAPTOP added to the bundle." in html(http.get(editor))
    datalist = html(http.get(editor)).split('<datalist id="member-suggestions">')[1]
    assert '"LAPTOP"' not in datalist.split("</datalist>")[0]  # already a member


def test_bundle_with_a_retired_member_is_flagged(client_as, bundle, manager):
    catalog.set_bundle_members(manager, bundle.id, ["VPN-ACCESS", "LAPTOP"])
    laptop = catalog.live_revision("LAPTOP")
    catalog.transition_offer(manager, laptop.id, "retired")
    page = html(client_as("catalog_manager").get(f"/catalog/manage/offers/{bundle.id}"))
    flags = page[page.index('data-testid="bundle-problems"') :]
    assert "LAPTOP is retired." in flags[:500]


def test_consumer_sees_bundle_contents(client_as, bundle, manager):
    catalog.set_bundle_members(manager, bundle.id, ["VPN-ACCESS", "LAPTOP"])
    article = knowledge.save_article(manager, title="Kit guide", body="Read.")
    knowledge.link_articles(manager, "STARTER-KIT", [article.id])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, bundle.id, status)
    page = html(client_as("consumer").get(f"/catalog/offers/{bundle.id}"))
    contents = page[page.index("What the bundle contains") :]
    assert contents.index("VPN access") < contents.index("Laptop")


# --- workspace -----------------------------------------------------------------------------


def test_workspace_counts_filters_and_export(client_as, make_offer, manager):
    finance = accounts.find_group_by_name("Finance")
    network = catalog.save_category(manager, name="Network")
    make_offer("VPN-ACCESS", name="VPN access", category_id=network.id, group_ids=[finance.id])
    make_offer("LAPTOP", name="Laptop")
    make_offer("DRAFT-ONE", name="Draft one", publish=False)
    make_offer(
        "LATER",
        name="=cmd() later",
        valid_from=(clock.now() + timedelta(days=3)).date().isoformat(),
    )
    http = client_as("catalog_manager")
    page = html(http.get("/catalog/manage/"))
    assert re.search(r'data-testid="count-published">Published <span class="count">3<', page)
    assert re.search(r'data-testid="count-scheduled">Scheduled <span class="count">1<', page)

    def codes(query: str) -> set[str]:
        body = html(http.get("/catalog/manage/?" + query))
        return set(re.findall(r'/catalog/manage/offers/\d+">([A-Z0-9-]+)</a>', body))

    assert codes("") == {"VPN-ACCESS", "LAPTOP", "DRAFT-ONE", "LATER"}
    assert codes("status=draft") == {"DRAFT-ONE"}
    assert codes("status=scheduled") == {"LATER"}
    assert codes(f"category={network.id}") == {"VPN-ACCESS"}
    assert codes(f"group={finance.id}") == {"VPN-ACCESS"}
    assert codes("group=-1") == {"LAPTOP", "DRAFT-ONE", "LATER"}
    assert codes("q=lapt") == {"LAPTOP"}
    assert codes("status=bogus&category=x&page=abc") == {
        "VPN-ACCESS",
        "LAPTOP",
        "DRAFT-ONE",
        "LATER",
    }

    export = http.get("/catalog/manage/export.csv?status=published")
    assert export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("code,revision,name")
    assert {line.split(",")[0] for line in lines[1:]} == {"VPN-ACCESS", "LAPTOP", "LATER"}
    assert "'=cmd() later" in export.get_data(as_text=True)  # no formula for spreadsheets
    assert "Finance" in next(line for line in lines if line.startswith("VPN-ACCESS"))


def test_workspace_shows_a_canary_audience_and_counts_a_canary_for_everyone_as_everyone(
    client_as, make_offer
):
    finance = accounts.find_group_by_name("Finance")
    engineering = accounts.find_group_by_name("Engineering")
    make_offer("FOR-ALL-LATER", pilot_ids=[finance.id])
    make_offer("FOR-ENG-LATER", group_ids=[engineering.id, finance.id], pilot_ids=[finance.id])
    make_offer("FOR-FINANCE", group_ids=[finance.id])
    http = client_as("catalog_manager")
    page = html(http.get("/catalog/manage/?group=-1"))
    assert "FOR-ALL-LATER" in page and "FOR-ENG-LATER" not in page and "FOR-FINANCE" not in page
    lines = http.get("/catalog/manage/export.csv").get_data(as_text=True).splitlines()
    audience = {line.split(",")[0]: line for line in lines[1:]}
    assert "Finance (pilot); then everyone" in audience["FOR-ALL-LATER"]
    assert "Finance (pilot); Engineering" in audience["FOR-ENG-LATER"]
    assert ",Finance," in audience["FOR-FINANCE"]


def test_workspace_category_filter_includes_subcategories(client_as, make_offer, manager):
    network = catalog.save_category(manager, name="Network")
    vpn = catalog.save_category(manager, name="VPN", parent_id=network.id)
    remote = catalog.save_category(manager, name="Remote", parent_id=vpn.id)
    devices = catalog.save_category(manager, name="Devices")
    phones = catalog.save_category(manager, name="Phones", parent_id=devices.id)
    make_offer("NET-CORE", category_id=network.id)
    make_offer("VPN-ACCESS", category_id=vpn.id, publish=False)
    make_offer("REMOTE-DESK", category_id=remote.id)
    make_offer("PHONE", category_id=phones.id)
    make_offer("NOWHERE")
    http = client_as("catalog_manager")

    def codes(query: str) -> set[str]:
        body = html(http.get("/catalog/manage/?" + query))
        return set(re.findall(r'/catalog/manage/offers/\d+">([A-Z0-9-]+)</a>', body))

    assert codes(f"category={network.id}") == {"NET-CORE", "VPN-ACCESS", "REMOTE-DESK"}
    assert codes(f"category={vpn.id}") == {"VPN-ACCESS", "REMOTE-DESK"}
    assert codes(f"category={remote.id}") == {"REMOTE-DESK"}
    assert codes(f"category={devices.id}") == {"PHONE"}
    assert codes(f"category={vpn.id}&status=draft") == {"VPN-ACCESS"}
    assert codes("category=999999") == set()
    export = http.get(f"/catalog/manage/export.csv?category={network.id}").get_data(as_text=True)
    assert {line.split(",")[0] for line in export.strip().splitlines()[1:]} == {
        "NET-CORE",
        "VPN-ACCESS",
        "REMOTE-DESK",
    }


# --- categories ----------------------------------------------------------------------------


def category_named(name: str) -> Category:
    return db.session.scalar(sa.select(Category).where(Category.name == name))


def test_categories_create_rename_move_reorder_archive(client_as, make_offer):
    http = client_as("catalog_manager")
    for name in ("Devices", "Network", "Security"):
        assert http.post("/catalog/manage/categories", data={"name": name}).status_code == 302
    network = category_named("Network")
    duplicate = http.post("/catalog/manage/categories", data={"name": "Network"})
    assert duplicate.status_code == 422
    assert "already exists here" in field_block(html(duplicate), "name")

    http.post(
        "/catalog/manage/categories",
        data={"name": "VPN", "parent_id": str(network.id)},
    )
    vpn = category_named("VPN")
    page = html(http.get("/catalog/manage/categories"))
    assert 'class="depth-1"' in page[page.index(">VPN<") - 200 : page.index(">VPN<")]

    http.post(
        f"/catalog/manage/categories/{vpn.id}", data={"name": "Remote access", "parent_id": ""}
    )
    moved = db.session.get(Category, vpn.id)
    assert moved.name == "Remote access" and moved.parent_id is None

    cycle = http.post(
        f"/catalog/manage/categories/{network.id}",
        data={"name": "Network", "parent_id": str(network.id)},
    )
    assert cycle.status_code == 422

    http.post(f"/catalog/manage/categories/{network.id}/move", data={"direction": "up"})
    order = [c.name for c, depth in catalog.category_tree() if depth == 0]
    assert order.index("Network") < order.index("Devices")
    http.post(f"/catalog/manage/categories/{network.id}/move", data={"direction": "up"})
    assert "cannot move further" in html(http.get("/catalog/manage/categories"))

    devices = category_named("Devices")
    make_offer("LAPTOP", category_id=devices.id)
    http.post(f"/catalog/manage/categories/{devices.id}/archive")
    page = html(http.get("/catalog/manage/categories"))
    assert "“Devices” is not empty" in page and "Only an empty category can be archived." in page
    assert db.session.get(Category, devices.id).archived_at is None
    http.post(f"/catalog/manage/categories/{moved.id}/archive")
    assert db.session.get(Category, moved.id).archived_at is not None


# --- products and releases -----------------------------------------------------------------


def test_product_manager_manages_products_and_releases(client_as, users):
    http = client_as("product_manager")
    empty = http.post("/catalog/products", data={"name": ""})
    assert empty.status_code == 422 and "This field is required." in html(empty)
    http.post("/catalog/products", data={"name": "VPN gateway", "description": "Gateways"})
    product = db.session.scalar(sa.select(DigitalProduct))
    assert product.owner_id == users["product_manager"].id

    url = f"/catalog/products/{product.id}/releases"
    prefix = f"rel{product.id}"
    bad = http.post(url, data={f"{prefix}-version": "", f"{prefix}-planned_date": "soon"})
    assert bad.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in field_block(html(bad), f"{prefix}-planned_date")
    http.post(url, data={f"{prefix}-version": "2.0", f"{prefix}-planned_date": "2030-02-01"})
    release = db.session.scalar(sa.select(ProductRelease))
    assert release.version == "2.0" and release.status == "planned"

    refused = http.post(f"/catalog/releases/{release.id}/transition", data={"to": "deployed"})
    assert refused.status_code == 302
    assert "A planned release cannot become deployed" in html(http.get("/catalog/products"))
    for status in ("accepted", "deployed"):
        http.post(f"/catalog/releases/{release.id}/transition", data={"to": status})
    release = db.session.get(ProductRelease, release.id)
    assert release.status == "deployed" and release.deployed_at is not None

    http.post(f"/catalog/products/{product.id}", data={"name": "VPN gateways", "description": ""})
    assert db.session.get(DigitalProduct, product.id).name == "VPN gateways"


def test_a_product_form_shown_again_with_errors_answers_422_and_saves_nothing(client_as, users):
    product = catalog.save_product(users["product_manager"], name="VPN gateway")
    http = client_as("product_manager")
    refused = http.post(f"/catalog/products/{product.id}", data={"name": "x" * 501})
    assert refused.status_code == 422
    assert "Field cannot be longer than 500 characters." in html(refused)
    db.session.expire_all()
    assert db.session.get(DigitalProduct, product.id).name == "VPN gateway"


def test_catalog_manager_reads_products_but_does_not_change_them(client_as, users):
    product = catalog.save_product(users["product_manager"], name="VPN gateway")
    catalog.create_release(users["product_manager"], product.id, version="1.0")
    http = client_as("catalog_manager")
    page = html(http.get("/catalog/products"))
    assert "VPN gateway" in page and "1.0" in page and "Create product" not in page
    assert http.post("/catalog/products", data={"name": "Mine"}).status_code == 403
    release = db.session.scalar(sa.select(ProductRelease))
    assert (
        http.post(f"/catalog/releases/{release.id}/transition", data={"to": "accepted"}).status_code
        == 403
    )
    assert db.session.scalar(sa.select(sa.func.count(DigitalProduct.id))) == 1


def test_every_change_is_audited(client_as, catalog_setup):
    http = client_as("catalog_manager")
    http.post("/catalog/manage/offers/new", data=offer_form("VPN-ACCESS"))
    (offer,) = offers_with_code("VPN-ACCESS")
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.object_type == "offer", AuditEvent.object_id == str(offer.id)
        )
    ).all()
    assert [event.action for event in events] == ["created"]


def test_editor_fields_state_their_errors_to_assistive_technology(client_as, catalog_setup):
    refused = html(
        client_as("catalog_manager").post(
            "/catalog/manage/offers/new",
            data=offer_form("VPN-ACCESS", **{"service_levels-response_hours-critical": "-5"}),
        )
    )
    assert 'aria-invalid="None"' not in refused  # WTForms prints None; no value means "valid"
    cell = refused[refused.index('id="service_levels-response_hours-critical"') - 300 :]
    cell = cell[: cell.index("</div>")]
    assert 'aria-invalid="true"' in cell
    assert 'aria-describedby="service_levels-response_hours-critical-error-1"' in cell
    assert 'id="service_levels-response_hours-critical-error-1"' in cell
    untouched = refused[refused.index('id="service_levels-response_hours-high"') - 200 :]
    assert "aria-invalid" not in untouched[: untouched.index("</div>")]


def test_knowledge_tab_lists_linked_articles_and_finds_others_by_title(
    client_as, make_offer, manager, monkeypatch
):
    offer = make_offer("VPN-ACCESS", publish=False)  # linked to "How to use VPN-ACCESS"
    for number in range(3):
        knowledge.save_article(manager, title=f"Printer tip {number}", body="…")
    knowledge.save_article(manager, title="Reset a token", body="…")
    monkeypatch.setattr(knowledge_links, "ARTICLE_CHOICES", 2)
    http = client_as("catalog_manager")
    editor = f"/catalog/manage/offers/{offer.id}"

    def listed(query: str = "") -> list[str]:
        page = html(http.get(editor + query))
        links = page[page.index("<legend>Linked articles") :]
        return re.findall(r"<label[^>]*>([^<]+)</label>", links[: links.index("</fieldset>")])

    assert listed() == ["How to use VPN-ACCESS", "Printer tip 0", "Printer tip 1"]
    assert listed("?articles=token") == ["How to use VPN-ACCESS", "Reset a token"]
    assert "No other article title holds “nothing”." in html(http.get(editor + "?articles=nothing"))
    token = next(a for a in knowledge.list_articles() if a.title == "Reset a token")
    linked = knowledge.articles_of("VPN-ACCESS")[0]
    url = editor + "/articles"
    http.post(url, data={"kb-article_ids": [linked.id, token.id]})
    assert {a.title for a in knowledge.articles_of("VPN-ACCESS")} == {
        "How to use VPN-ACCESS",
        "Reset a token",
    }
    for junk in ("abc", "99999999999999999999", "987654"):
        refused = http.post(url, data={"kb-article_ids": [linked.id, junk]})
        assert refused.status_code in (302, 422)
        assert len(knowledge.articles_of("VPN-ACCESS")) == 2  # nothing changed
