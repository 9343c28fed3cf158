"""Catalog as code: the demo seed, export → import round trips, dry runs, updates through the
lifecycle, and clear errors (YAML line numbers, item paths) with nothing half-imported."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts.models import SYSTEM
from app.accounts.services import find_group_by_name, find_user_by_email
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.exchange import (
    current_revisions,
    dump_yaml,
    export_catalog,
    import_catalog,
    parse_yaml,
)
from app.catalog.models import (
    Category,
    DigitalProduct,
    OfferSettings,
    PriceChange,
    ServiceOffer,
)
from app.demo.seeds import load_groups, load_integrations, load_users, seed_folder
from app.errors import NotAllowed, ValidationFailed
from app.extensions import db
from app.knowledge import services as knowledge
from app.notifications.models import Notification
from tests.catalog.conftest import complete_offer_data
from tests.conftest import _truncate_all


def seed(app) -> str:
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


CATALOG_OBJECTS = (
    "offer",
    "offer_audience",
    "offer_articles",
    "offer_settings",
    "category",
    "product",
    "release",
    "price_change",
)


def fingerprint(*, everything: bool = True) -> tuple:
    """What a second seed or a dry run must leave untouched. (Other domains' seeds run after
    the catalog in `flask seed`; `everything=False` looks at the catalog's rows only.)"""
    catalog_events = sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.object_type.in_(CATALOG_OBJECTS)
    )
    return (
        count(ServiceOffer),
        db.session.scalar(catalog_events),
        count(PriceChange),
        count(Category),
        db.session.scalar(sa.select(sa.func.sum(ServiceOffer.version))),
        *((count(AuditEvent), count(Notification)) if everything else ()),
    )


def without_timestamp(document: dict) -> dict:
    document = copy.deepcopy(document)
    document.pop("exported_at")
    return document


# --- the demo catalog ----------------------------------------------------------------------


def test_seed_gives_the_demo_catalog_and_a_second_seed_changes_nothing(app):
    output = seed(app)
    assert "catalog: 47 offers created, 0 updated, 0 unchanged" in output
    offers = current_revisions()
    assert len(offers) >= 30
    top_level = {c.name for c in db.session.scalars(sa.select(Category)) if c.parent_id is None}
    assert {
        "Devices",
        "Access and accounts",
        "Cloud compute",
        "Databases",
        "Collaboration",
        "Security",
        "Support",
    } <= top_level
    used_categories = {offer.category_id for offer in offers.values()}
    assert len(used_categories) >= 6
    assert "VPN" in offers["VPN-ACCESS"].name

    bundles = [offer for offer in offers.values() if offer.is_bundle]
    assert len(bundles) >= 2
    assert [m.member_code for m in offers["NEW-STARTER-KIT"].members] == [
        "SSO-ACCOUNT",
        "MAILBOX-USER",
        "VPN-ACCESS",
        "LAPTOP-STD",
    ]
    assert all(not catalog.bundle_problems(bundle) for bundle in bundles)

    displayed = {code: offer.display_status() for code, offer in offers.items()}
    assert {"scheduled", "retired", "retiring", "published", "draft", "planned", "ready"} <= set(
        displayed.values()
    )
    retired = [o for o in offers.values() if o.status == "retired"]
    assert len(retired) >= 2
    for offer in retired:
        assert offer.replacement_code
        assert offers[offer.replacement_code].status == "published"

    settings = {s.offer_code: s for s in db.session.scalars(sa.select(OfferSettings))}
    canary = [code for code, s in settings.items() if s.canary]
    assert canary == ["MEETING-AI"]
    assert [g.name for g in catalog.audience_of("MEETING-AI")[1]] == ["Engineering"]
    assert sum(s.featured for s in settings.values()) >= 3
    audiences = catalog.audiences_for(offers)
    assert {"Finance", "Engineering", "Sales"} <= {n for names in audiences.values() for n in names}
    assert sum(not names for names in audiences.values()) > len(offers) / 2  # most: everyone

    published = [o for o in offers.values() if o.status in ("published", "ready")]
    for offer in published:
        assert all(item["ok"] for item in catalog.readiness(offer)), offer.code
    assert {o["type"] for offer in offers.values() for o in offer.options} == {
        "text",
        "number",
        "choice",
        "boolean",
    }
    steps = [step for offer in offers.values() for step in offer.fulfillment_plan]
    assert {"manual", "automatic"} == {step["mode"] for step in steps}
    assert {step["group"] for step in steps if step["mode"] == "manual"} == {"Support Desk"}
    assert {o.kind for o in offers.values()} == {
        "new_instance",
        "modification",
        "termination",
        "support",
        "bundle",
    }
    assert offers["VPN-ACCESS"].release.status == "deployed"
    assert all(knowledge.articles_of(code, published_only=True) for code in offers)
    assert catalog.current_price(offers["VPN-ACCESS"])[0] == offers["VPN-ACCESS"].price
    assert len(catalog.price_history("VPN-ACCESS")) == 3

    before = fingerprint(everything=False)
    again = seed(app)
    assert "catalog: 0 offers created, 0 updated, 47 unchanged" in again
    assert fingerprint(everything=False) == before


def test_export_then_import_into_an_empty_database_gives_the_same_catalog(app):
    seed(app)
    first = export_catalog(SYSTEM)
    text = dump_yaml(first)
    db.session.remove()
    _truncate_all()
    folder = seed_folder()
    load_groups(folder)
    load_users(folder)
    load_integrations(folder)  # the demo's automatic steps name the Demo receiver
    db.session.commit()
    assert count(ServiceOffer) == 0 and count(Category) == 0
    data, lines = parse_yaml(text)
    report = import_catalog(SYSTEM, data, lines=lines)
    assert report["summary"] == {"created": 47, "updated": 0, "unchanged": 0}
    second = export_catalog(SYSTEM)
    assert without_timestamp(second) == without_timestamp(first)


# --- import: create, update, dry run ---------------------------------------------------------


def test_dry_run_reports_differences_and_writes_nothing(make_offer):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["price"] = "8.00"
    document["offers"][0]["featured"] = True
    document["offers"].append({"code": "NEW-ONE", "name": "New one", "status": "draft"})
    before = fingerprint()
    report = import_catalog(SYSTEM, document, dry_run=True)
    assert report["dry_run"] is True
    lines = {line["code"]: line for line in report["offers"]}
    assert lines["VPN-ACCESS"]["action"] == "update"
    assert lines["VPN-ACCESS"]["changes"]["price"] == {"before": "7.50", "after": "8.00"}
    assert lines["VPN-ACCESS"]["changes"]["featured"] == {"before": None, "after": True}
    assert lines["NEW-ONE"]["action"] == "create"
    # (publishing a revision with a new price also records it in the price history)
    assert report["lines"][0].startswith("would update VPN-ACCESS: price, featured")
    assert "    price: 7.50 → 8.00" in report["lines"]
    assert fingerprint() == before
    assert str(catalog.live_revision("VPN-ACCESS").price) == "7.50"
    assert catalog.draft_revision("NEW-ONE") is None


def test_changed_published_offer_gets_a_new_revision(make_offer):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    report = import_catalog(SYSTEM, document)
    assert report["offers"] == [
        {
            "code": "VPN-ACCESS",
            "action": "update",
            "changes": {
                "summary": {
                    "before": "Remote access to the corporate network.",
                    "after": "Now with zero trust.",
                }
            },
            "revision": "new revision 2 of published revision 1",
            "transitions": [
                "revision 2: draft → planned",
                "revision 2: planned → ready",
                "revision 2: ready → published",
                "revision 1: published → superseded",
            ],
            # everyone is the audience: both consumers hear of the new revision
            "notifications": [{"subject": "Changed: VPN access", "recipients": 2}],
        }
    ]
    revisions = catalog.revisions_of("VPN-ACCESS")
    assert [(r.revision, r.status) for r in revisions] == [(1, "superseded"), (2, "published")]
    assert import_catalog(SYSTEM, document)["summary"]["unchanged"] == 1


def test_draft_is_edited_in_place_and_walked_to_its_status(catalog_setup):
    document = {
        "articles": [{"title": "How to", "body": "Read me."}],
        "offers": [{**complete_offer_data("VPN-ACCESS"), "status": "draft"}],
    }
    assert import_catalog(SYSTEM, document)["summary"]["created"] == 1
    document["offers"][0].update(status="ready", articles=["How to"], name="VPN")
    report = import_catalog(SYSTEM, document)
    assert report["offers"][0]["action"] == "update"
    assert set(report["offers"][0]["changes"]) == {"name", "status", "articles"}
    [offer] = catalog.revisions_of("VPN-ACCESS")
    assert (offer.revision, offer.status, offer.name) == (1, "ready", "VPN")
    document["offers"][0]["status"] = "planned"  # back one step is allowed too
    import_catalog(SYSTEM, document)
    assert catalog.revisions_of("VPN-ACCESS")[0].status == "planned"


def test_retire_with_replacement_and_relative_dates(catalog_setup):
    base = complete_offer_data("VPN-ACCESS")
    document = {
        "articles": [{"title": "How to", "body": "Read me."}],
        "offers": [
            {
                **base,
                "status": "retired",
                "replacement": "VPN-NEW",
                "valid_to": "+10d",
                "articles": ["How to"],
            },
            {**complete_offer_data("VPN-NEW"), "status": "published", "articles": ["How to"]},
            {
                **complete_offer_data("VPN-LATER"),
                "status": "published",
                "valid_from": "+30d",
                "articles": ["How to"],
            },
        ],
    }
    import_catalog(SYSTEM, document)
    old, later = catalog.live_revision("VPN-ACCESS"), catalog.live_revision("VPN-LATER")
    midnight = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert (old.status, old.replacement_code, old.display_status()) == (
        "retired",
        "VPN-NEW",
        "retiring",
    )
    assert old.valid_to == midnight + timedelta(days=10)
    assert later.display_status() == "scheduled" and later.valid_from == midnight + timedelta(
        days=30
    )
    clock.freeze(clock.now() + timedelta(days=3))  # relative dates are not moved by later imports
    assert import_catalog(SYSTEM, document)["summary"]["unchanged"] == 3


def test_links_to_articles_the_file_does_not_define_are_kept(make_offer, users):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Changed"
    support = knowledge.save_article(users["support_agent"], title="VPN error 809", body="Fix it.")
    knowledge.link_articles(
        users["support_agent"],
        "VPN-ACCESS",
        [support.id, *[a.id for a in knowledge.articles_of("VPN-ACCESS")]],
    )
    import_catalog(SYSTEM, document)
    assert [a.title for a in knowledge.articles_of("VPN-ACCESS")] == [
        "How to use VPN-ACCESS",
        "VPN error 809",
    ]
    document = export_catalog(SYSTEM)  # now the file defines both: it decides
    document["offers"][0]["articles"] = ["VPN error 809"]
    import_catalog(SYSTEM, document)
    assert [a.title for a in knowledge.articles_of("VPN-ACCESS")] == ["VPN error 809"]


def test_relative_price_change_is_added_once(make_offer):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["price_history"] = [
        {"effective_from": "+60d", "price": "7.90", "reason": "Annual fee recalculation"}
    ]
    import_catalog(SYSTEM, document)
    clock.freeze(clock.now() + timedelta(days=2))
    assert import_catalog(SYSTEM, document)["summary"]["unchanged"] == 1
    assert len(catalog.price_history("VPN-ACCESS")) == 1


def test_import_as_consumer_is_not_allowed(users):
    with pytest.raises(NotAllowed):
        import_catalog(users["consumer"], {"offers": []})
    with pytest.raises(NotAllowed):
        export_catalog(users["consumer"])


def demo_people() -> tuple:
    """The seed's groups and users (catalog and product manager), as in a new installation."""
    folder = seed_folder()
    load_groups(folder)
    load_users(folder)
    db.session.commit()
    return find_user_by_email("catalog@offerdesk.example"), find_user_by_email(
        "product@offerdesk.example"
    )


def tied_catalog() -> None:
    """Offers tied to releases (deployed and planned), in a category, and a canary for
    everyone: what a catalog manager exports."""
    manager, product_manager = demo_people()
    gateway = catalog.save_product(
        product_manager, name="Remote Access Gateway", description="The VPN concentrators."
    )
    current = catalog.create_release(
        product_manager, gateway.id, version="4.1", status="deployed", notes="Stable."
    )
    future = catalog.create_release(
        product_manager, gateway.id, version="5.0", planned_date="2031-01-15"
    )
    network = catalog.save_category(manager, name="Network")
    article = knowledge.save_article(manager, title="Using the VPN", body="Install the client.")
    finance = find_group_by_name("Finance").id
    for code, release, status in (
        ("VPN-ACCESS", current, "published"),
        ("VPN-NEXT", future, "planned"),
    ):
        offer = catalog.create_offer(
            manager,
            complete_offer_data(
                code,
                category_id=network.id,
                product_id=gateway.id,
                release_id=release.id,
                planned_release_date="2031-01-20",
            ),
        )
        knowledge.link_articles(manager, code, [article.id])
        if code == "VPN-ACCESS":
            catalog.set_audience(
                manager, code, group_ids=[], pilot_group_ids=[finance], canary=True
            )
        for step in ("planned", "ready", "published")[
            : ("planned", "published").index(status) * 2 + 1
        ]:
            catalog.transition_offer(manager, offer.id, step)


def test_a_catalog_manager_round_trips_offers_tied_to_releases_into_an_empty_database(app):
    tied_catalog()
    manager = find_user_by_email("catalog@offerdesk.example")
    first = export_catalog(manager)
    assert first["products"] == [
        {
            "name": "Remote Access Gateway",
            "description": "The VPN concentrators.",
            "owner": "product@offerdesk.example",
            "releases": [
                {"version": "4.1", "status": "deployed", "notes": "Stable."},
                {"version": "5.0", "status": "planned", "planned_date": "2031-01-15T00:00:00Z"},
            ],
        }
    ]
    vpn = next(item for item in first["offers"] if item["code"] == "VPN-ACCESS")
    assert (vpn["product"], vpn["release"], vpn["status"]) == (
        "Remote Access Gateway",
        "4.1",
        "published",
    )
    assert (vpn["pilot_groups"], vpn["canary"], vpn.get("audience")) == (["Finance"], True, None)
    text = dump_yaml(first)

    db.session.remove()
    _truncate_all()
    manager, _ = demo_people()
    data, lines = parse_yaml(text)
    before = fingerprint()
    dry = import_catalog(manager, data, lines=lines, dry_run=True)
    assert fingerprint() == before
    assert count(DigitalProduct) == 0
    assert dry["lines"][:3] == [
        "would create product Remote Access Gateway",
        "would create release Remote Access Gateway 4.1 (deployed)",
        "would create release Remote Access Gateway 5.0 (planned)",
    ]
    assert "would create VPN-ACCESS" in dry["lines"]
    created = {line["code"]: line["changes"] for line in dry["offers"]}
    assert created["VPN-ACCESS"]["release"] == {"before": None, "after": "4.1"}
    assert created["VPN-NEXT"]["status"] == {"before": None, "after": "planned"}
    assert "products: 1 to create, 0 to update, 0 unchanged" in dry["lines"]
    assert "releases: 2 to create, 0 to update, 0 unchanged" in dry["lines"]

    db.session.expire_all()
    manager = find_user_by_email("catalog@offerdesk.example")
    report = import_catalog(manager, data, lines=lines)
    assert report["summary"] == {"created": 2, "updated": 0, "unchanged": 0}
    second = export_catalog(manager)
    assert without_timestamp(second) == without_timestamp(first)
    gateway = db.session.scalar(sa.select(DigitalProduct))
    assert gateway.owner.email == "product@offerdesk.example"  # not the importing manager
    assert catalog.live_revision("VPN-ACCESS").release.status == "deployed"
    # And a second import changes nothing.
    again = import_catalog(manager, data, lines=lines)
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again["products"]["unchanged"] == 1 and again["releases"]["unchanged"] == 2


def test_a_catalog_manager_creates_missing_products_but_does_not_change_existing_ones(
    users, catalog_setup, make_user
):
    manager = users["catalog_manager"]
    report = import_catalog(
        manager,
        {"products": [{"name": "Gateway", "releases": [{"version": "1.0", "status": "deployed"}]}]},
    )
    assert report["products"]["created"] == 1 and report["releases"]["created"] == 1
    assert report["lines"][:2] == [
        "create product Gateway",
        "create release Gateway 1.0 (deployed)",
    ]
    gateway = db.session.scalar(sa.select(DigitalProduct).where(DigitalProduct.name == "Gateway"))
    assert gateway.owner_id is None  # a catalog manager is no product's owner

    problems_of = {}
    for product in (
        {"name": "Gateway", "description": "Rewritten by the catalog team."},
        {"name": "Gateway", "releases": [{"version": "1.0", "status": "retired"}]},
    ):
        with pytest.raises(ValidationFailed) as failure:
            import_catalog(manager, {"products": [product]})
        problems_of.update(failure.value.fields)
    assert problems_of["products[0]"][0].startswith(
        "The digital product “Gateway” has another description or owner here; only product "
        "managers change it."
    )
    assert problems_of["products[0].releases[0]"] == [
        "The release Gateway 1.0 is deployed here and retired in the file; only product "
        "managers move releases."
    ]
    db.session.expire_all()
    assert gateway.description == "" and gateway.releases[0].status == "deployed"
    # A catalog manager who is a product manager too may.
    import_catalog(
        make_user("catalog_manager", "product_manager"),
        {"products": [{"name": "Gateway", "releases": [{"version": "1.0", "status": "retired"}]}]},
    )
    db.session.expire_all()
    assert gateway.releases[0].status == "retired"


def test_an_offer_naming_a_product_the_file_does_not_declare_names_it(users, catalog_setup):
    text = (
        "offers:\n  - code: VPN-ACCESS\n    name: VPN\n    product: Gateway\n    release: '1.0'\n"
    )
    fields = problems(text, users["catalog_manager"])
    assert fields["offers[0].product"] == ["line 4: No digital product “Gateway”."]


# --- bad files -----------------------------------------------------------------------------


def problems(text: str, actor=SYSTEM) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as failure:
        data, lines = parse_yaml(text)
        import_catalog(actor, data, lines=lines)
    return failure.value.fields


def test_bad_yaml_reports_the_line():
    text = "offers:\n  - code: A-1\n    name: fine\n  - code: B-2\n    name: [oops\n"
    with pytest.raises(ValidationFailed) as failure:
        parse_yaml(text)
    assert "line 6" in failure.value.message or "line 5" in failure.value.message
    assert any(key.startswith("line ") for key in failure.value.fields)
    tabs = problems("offers:\n\t- code: A-1\n")
    assert list(tabs) == ["line 2"]


def test_bad_items_report_their_path_and_line_and_nothing_is_imported(catalog_setup):
    text = """\
categories:
  - name: Devices
    slug: devices
offers:
  - code: GOOD-ONE
    name: Good
    category: devices
  - code: BAD-PRICE
    name: Bad price
    price: "-3.00"
    currency: XYZ
  - code: BAD-OPTION
    name: Bad option
    options:
      - {key: size, label: Size, type: choice, choices: []}
      - {key: n, label: N, type: number, min: 9, max: 1}
  - code: BAD-REFS
    name: Bad references
    category: nowhere
    audience: [Martians]
    articles: [Missing article]
  - code: GOOD-ONE
    name: Twice
"""
    events = count(AuditEvent)
    errors = problems(text)
    assert errors["offers[1].price"] == ["line 10: The amount cannot be negative."]
    assert errors["offers[1].currency"][0].startswith("line 11: Unknown currency")
    assert errors["offers[2].options[0].choices"] == [
        "line 15: A choice field needs at least one choice."
    ]
    assert errors["offers[2].options[1].min"] == ["line 16: The minimum is above the maximum."]
    assert errors["offers[3].category"] == ["line 19: No category with slug “nowhere”."]
    assert errors["offers[3].audience"] == ["line 20: Unknown group “Martians”."]
    assert errors["offers[3].articles"] == ["line 21: No knowledge article “Missing article”."]
    assert errors["offers[4].code"] == [
        "line 22: GOOD-ONE is declared twice (offers[0] and offers[4])."
    ]
    assert count(ServiceOffer) == 0 and count(Category) == 0 and count(AuditEvent) == events


def test_shape_errors_are_keyed_by_path(catalog_setup):
    errors = problems(
        "offers:\n  - code: A-1\n    name: x\n    prise: 3\n  - name: no code\n    members: nope\n"
    )
    assert errors["offers[0].prise"] == ["line 4: Unknown field."]
    assert errors["offers[1].code"] == ["line 5: Missing data for required field."]
    assert errors["offers[1].members"] == ["line 6: Not a valid list."]


def test_refused_lifecycle_step_names_what_is_missing(catalog_setup):
    errors = problems("offers:\n  - code: BARE\n    name: Bare\n    status: published\n")
    [message] = errors["offers[0].status"]
    assert message.startswith("line 4: Not ready:") and "terms" in message
    assert count(ServiceOffer) == 0


def test_published_offer_cannot_be_declared_a_draft(make_offer):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["status"] = "draft"
    with pytest.raises(ValidationFailed) as failure:
        import_catalog(SYSTEM, document)
    assert "declare it published" in failure.value.fields["offers[0].status"][0]


def test_retired_offer_cannot_change(make_offer, users):
    make_offer("VPN-ACCESS")
    make_offer("VPN-NEW")
    offer = catalog.live_revision("VPN-ACCESS")
    catalog.transition_offer(
        users["catalog_manager"], offer.id, "retired", replacement_code="VPN-NEW"
    )
    document = export_catalog(SYSTEM)
    item = next(o for o in document["offers"] if o["code"] == "VPN-ACCESS")
    item["price"] = "1.00"
    with pytest.raises(ValidationFailed) as failure:
        import_catalog(SYSTEM, document)
    assert failure.value.fields == {
        "offers[0].price": ["VPN-ACCESS is retired: price cannot change."]
    }
    item["price"], item["status"] = "7.50", "published"
    with pytest.raises(ValidationFailed) as failure:
        import_catalog(SYSTEM, document)
    assert "cannot become published" in failure.value.fields["offers[0].status"][0]


def test_alias_bombs_and_deep_nesting_are_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(ValidationFailed) as failure:
        parse_yaml(bomb)
    assert "aliases" in failure.value.message
    with pytest.raises(ValidationFailed):
        parse_yaml("a: &a [*a]\n")
    with pytest.raises(ValidationFailed):
        parse_yaml("x: " + "[" * 60 + "]" * 60 + "\n")


def test_a_slug_declared_twice_is_refused(catalog_setup):
    text = """\
categories:
  - name: Devices
    slug: devices
  - name: Laptops
    slug: devices
"""
    found = problems(text)
    assert found == {"categories[1].slug": ["line 5: Give each category its own slug."]}
    assert count(Category) == 0
