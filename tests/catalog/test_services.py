"""Release-stream services: the offer lifecycle, readiness, releases, revisions, optimistic
locking, prices, bundles, retirement, notifications, categories, the audit trail and who may
call what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import clock
from app.accounts import services as accounts
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.models import (
    BundleMember,
    Category,
    OfferStatus,
    PriceChange,
    ProductRelease,
    ReleaseStatus,
    ServiceOffer,
)
from app.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.knowledge import services as knowledge
from app.notifications.models import Notification, OutboxEmail
from tests.conftest import module_world

from .conftest import complete_offer_data

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
STATUSES = [status.value for status in OfferStatus]


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(NOW)


@pytest.fixture(autouse=True)
def _categories_leaves_first(clean_db, isolation):
    """SQLite applies the categories' ON DELETE RESTRICT row by row when the harness empties
    the table: remove subcategories before their parents (a SAVEPOINT's rollback needs none)."""
    yield
    if isolation.mode != "committed":
        return
    db.session.rollback()
    while db.session.scalar(sa.select(sa.func.count(Category.id))):
        parents = sa.select(Category.parent_id).where(Category.parent_id.is_not(None))
        db.session.execute(sa.delete(Category).where(Category.id.not_in(parents)))
    db.session.commit()


@pytest.fixture
def manager(catalog_setup):
    return catalog_setup["catalog_manager"]


@pytest.fixture
def groups(catalog_setup):
    return {name: accounts.find_group_by_name(name).id for name in ("Finance", "Engineering")}


def count(model, *where) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    return db.session.scalar(query.where(*where) if where else query)


def events(*where) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(*where).order_by(AuditEvent.id)))


def inbox(user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def reload(offer: ServiceOffer) -> ServiceOffer:
    """Commit whatever the session holds (as a caller that goes on would), then read afresh:
    a refused change must have left nothing behind."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(ServiceOffer, offer.id)


def advance(manager, offer: ServiceOffer, *statuses: str) -> ServiceOffer:
    for status in statuses:
        offer = catalog.transition_offer(manager, offer.id, status)
    return offer


def article(manager, code: str, *, status: str = "published") -> None:
    item = knowledge.save_article(manager, title=f"About {code}", body="Text.", status=status)
    knowledge.link_articles(manager, code, [item.id])


@pytest.fixture
def offer_in(make_offer, manager):
    """offer_in(status, code) → an offer of that code in that lifecycle status."""

    def factory(status: str, code: str = "VPN", **overrides) -> ServiceOffer:
        if status == "superseded":
            first = make_offer(code, **overrides)
            revision = catalog.create_revision(manager, first.id)
            advance(manager, revision, "planned", "ready", "published")
            return reload(first)
        path = {
            "draft": (),
            "planned": ("planned",),
            "ready": ("planned", "ready"),
            "published": ("planned", "ready", "published"),
            "retired": ("planned", "ready", "published", "retired"),
        }[status]
        return advance(manager, make_offer(code, publish=False, **overrides), *path)

    return factory


# --- the lifecycle -----------------------------------------------------------------------


# The documented lifecycle, written out here rather than read from the table under test.
OFFER_NEXT = {
    "draft": ["planned"],
    "planned": ["draft", "ready"],
    "ready": ["planned", "published"],
    "published": ["retired"],
    "retired": [],
    "superseded": [],
}
OFFER_EDGES = [(frm, to) for frm, targets in OFFER_NEXT.items() for to in targets]


@pytest.mark.parametrize(("frm", "to"), OFFER_EDGES)
def test_every_transition_in_the_table(offer_in, manager, frm, to):
    offer = offer_in(frm)
    version = offer.version
    offer = catalog.transition_offer(manager, offer.id, to, expected_version=version)
    offer = reload(offer)
    assert offer.status == to
    assert offer.version == version + 1
    last = events(AuditEvent.object_type == "offer", AuditEvent.object_id == str(offer.id))[-1]
    assert last.action == "transition"
    assert last.actor_id == manager.id
    assert last.changes["status"] == {"before": frm, "after": to}


REFUSED = [(frm, to) for frm in STATUSES for to in STATUSES if (frm, to) not in OFFER_EDGES]


@pytest.mark.parametrize(("frm", "to"), REFUSED)
def test_every_other_transition_is_refused_naming_what_is_allowed(offer_in, manager, frm, to):
    offer = offer_in(frm)
    version, audit_count = offer.version, count(AuditEvent)
    allowed = OFFER_NEXT[frm]
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, offer.id, to)
    message = failure.value.message
    assert f"A {frm} offer cannot become {to}." in message
    assert f"Allowed next: {', '.join(allowed) or 'none'}." in message
    assert list(failure.value.fields) == ["to"]
    offer = reload(offer)
    assert (offer.status, offer.version) == (frm, version)
    assert count(AuditEvent) == audit_count


@pytest.mark.parametrize("to", ["archived", "Published", "", None, 5])
def test_an_unknown_status_is_a_field_error_naming_the_statuses(offer_in, manager, to):
    offer = offer_in("draft")
    version, audit_count = offer.version, count(AuditEvent)
    with pytest.raises(ValidationFailed) as failure:
        catalog.transition_offer(manager, offer.id, to)
    assert failure.value.fields == {
        "to": ["Unknown status; choose one of: draft, planned, ready, published, retired."]
    }
    offer = reload(offer)
    assert (offer.status, offer.version) == ("draft", version)
    assert count(AuditEvent) == audit_count


def test_the_table_is_the_documented_lifecycle():
    assert set(OFFER_NEXT) == set(STATUSES)
    assert set(catalog.OFFER_TRANSITIONS) == {
        ("draft", "planned"),
        ("planned", "draft"),
        ("planned", "ready"),
        ("ready", "planned"),
        ("ready", "published"),
        ("published", "retired"),
    }
    assert set(catalog.OFFER_TRANSITIONS) == set(OFFER_EDGES)


def test_a_transition_of_an_unknown_offer_is_not_found(manager):
    with pytest.raises(NotFound):
        catalog.transition_offer(manager, 99999, "planned")


# --- readiness ---------------------------------------------------------------------------


@pytest.fixture
def release_of(users):
    def factory(status: str = "planned") -> ProductRelease:
        product = catalog.save_product(users["product_manager"], name="Network gateway")
        return catalog.create_release(
            users["product_manager"], product.id, version="2.0", status=status
        )

    return factory


MISSING = {
    "price": {"price": None},
    "terms": {"terms": "   "},
    "service_levels": {"service_levels": {"availability_pct": 99.5, "fulfillment_target_hours": 8}},
    "fulfillment_plan": {"fulfillment_plan": []},
    "support_plan": {"support_plan": {"tier1_group": "Support Desk", "channels": []}},
}


@pytest.mark.parametrize("key", list(MISSING))
def test_each_missing_checklist_item_blocks_ready(manager, catalog_setup, key):
    offer = catalog.create_offer(manager, complete_offer_data("VPN", **MISSING[key]))
    article(manager, "VPN")
    offer = advance(manager, offer, "planned")
    checklist = {item["key"]: item for item in catalog.readiness(offer)}
    assert [k for k, item in checklist.items() if not item["ok"]] == [key]
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, offer.id, "ready")
    assert list(failure.value.fields) == [key]
    assert checklist[key]["hint"] in failure.value.message
    assert failure.value.message.startswith("Not ready:")
    assert reload(offer).status == "planned"


@pytest.mark.parametrize("linked", [None, "draft"])
def test_a_published_knowledge_article_is_required(manager, catalog_setup, linked):
    offer = catalog.create_offer(manager, complete_offer_data("VPN"))
    if linked:
        article(manager, "VPN", status=linked)
    advance(manager, offer, "planned")
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, offer.id, "ready")
    assert list(failure.value.fields) == ["knowledge"]
    assert "published knowledge article" in failure.value.message


def test_a_bundle_needs_two_members_instead_of_a_fulfillment_plan(make_offer, manager):
    make_offer("MEMBER-A")
    make_offer("MEMBER-B")
    bundle = catalog.create_offer(
        manager, complete_offer_data("KIT", kind="bundle", fulfillment_plan=[])
    )
    article(manager, "KIT")
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A"])
    advance(manager, bundle, "planned")
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, bundle.id, "ready")
    assert list(failure.value.fields) == ["members"]
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A", "MEMBER-B"])
    bundle = advance(manager, bundle, "ready", "published")
    assert bundle.status == "published"
    assert "fulfillment_plan" not in {item["key"] for item in catalog.readiness(bundle)}


def test_an_offer_tied_to_a_release_waits_for_its_deployment(
    make_offer, users, manager, release_of
):
    release = release_of("accepted")
    offer = make_offer("GATEWAY", publish=False, release_id=release.id)
    assert offer.product_id == release.product_id  # the release names the product
    advance(manager, offer, "planned")
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, offer.id, "ready")
    assert list(failure.value.fields) == ["release"]
    assert "Network gateway 2.0 must be deployed first" in failure.value.message

    catalog.transition_release(users["product_manager"], release.id, "deployed")
    offer = advance(manager, offer, "ready", "published")
    assert offer.status == "published"


def test_publishing_an_offer_tied_to_an_undeployed_release_is_refused(
    make_offer, manager, release_of
):
    release = release_of("planned")
    offer = make_offer("GATEWAY", publish=False)
    offer = advance(manager, offer, "planned", "ready")
    catalog.update_offer(
        manager, offer.id, {"release_id": release.id}, expected_version=offer.version
    )
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, offer.id, "published")
    assert "release" in failure.value.fields
    offer = reload(offer)
    assert offer.status == "ready"
    assert offer.published_at is None


# --- releases ----------------------------------------------------------------------------

RELEASE_STATUSES = [status.value for status in ReleaseStatus]
# The documented release lifecycle, written out here rather than read from the table under test.
RELEASE_NEXT = {
    "planned": ["accepted", "retired"],
    "accepted": ["deployed", "planned", "retired"],
    "deployed": ["retired"],
    "retired": [],
}


@pytest.mark.parametrize("frm", RELEASE_STATUSES)
@pytest.mark.parametrize("to", RELEASE_STATUSES)
def test_release_transitions_table(users, frm, to):
    pm = users["product_manager"]
    product = catalog.save_product(pm, name="Mail")
    release = catalog.create_release(pm, product.id, version="1.0", status=frm)
    allowed = RELEASE_NEXT[frm]
    if to in allowed:
        deployed_before = release.deployed_at
        release = catalog.transition_release(pm, release.id, to)
        assert release.status == to
        assert release.deployed_at == (NOW if to == "deployed" else deployed_before)
        assert events(AuditEvent.object_type == "release")[-1].changes["status"] == {
            "before": frm,
            "after": to,
        }
    else:
        with pytest.raises(InvalidTransition) as failure:
            catalog.transition_release(pm, release.id, to)
        assert f"Allowed next: {', '.join(allowed) or 'none'}." in failure.value.message
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(ProductRelease, release.id).status == frm


def test_release_lifecycle_goes_planned_accepted_deployed_retired():
    table = {status: sorted(targets) for status, targets in catalog.RELEASE_TRANSITIONS.items()}
    assert table["planned"] == ["accepted", "retired"]
    assert table["accepted"] == ["deployed", "planned", "retired"]
    assert table["deployed"] == ["retired"]
    assert table["retired"] == []
    assert len(table) == 4
    assert table == RELEASE_NEXT


def test_release_versions_are_unique_per_product(users):
    pm = users["product_manager"]
    product = catalog.save_product(pm, name="Mail")
    catalog.create_release(pm, product.id, version="1.0")
    with pytest.raises(ValidationFailed) as failure:
        catalog.create_release(pm, product.id, version="1.0")
    assert list(failure.value.fields) == ["version"]
    other = catalog.save_product(pm, name="Chat")
    assert catalog.create_release(pm, other.id, version="1.0").version == "1.0"


# --- publishing --------------------------------------------------------------------------


def test_publishing_sets_the_moment_and_notifies_the_audience(make_offer, users, groups):
    offer = make_offer("PAYROLL", group_ids=[groups["Finance"]])
    assert offer.published_at == NOW
    assert inbox(users["consumer"]) == ["New offer: VPN access"]
    assert inbox(users["other_consumer"]) == []
    assert inbox(users["support_agent"]) == []
    assert count(OutboxEmail, OutboxEmail.recipient == users["consumer"].email) == 1


def test_publishing_without_an_audience_notifies_every_consumer(make_offer, users):
    make_offer("VPN")
    assert inbox(users["consumer"]) == ["New offer: VPN access"]
    assert inbox(users["other_consumer"]) == ["New offer: VPN access"]
    assert inbox(users["admin"]) == []


def test_a_future_offer_is_scheduled_and_not_orderable(make_offer, users):
    offer = make_offer("SOON", valid_from=NOW + timedelta(days=7))
    assert offer.status == "published"
    assert offer.display_status() == "scheduled"
    assert not offer.is_orderable()
    assert list(db.session.scalars(catalog.visible_offers_query(users["consumer"]))) == []
    assert catalog.status_counts(users["catalog_manager"])["scheduled"] == 1
    notification = db.session.scalar(
        sa.select(Notification).where(Notification.user_id == users["consumer"].id)
    )
    assert "Orderable from 2030-03-08" in notification.body
    clock.freeze(NOW + timedelta(days=7, seconds=1))  # no job runs in between
    assert offer.display_status() == "published"
    assert [o.id for o in db.session.scalars(catalog.visible_offers_query(users["consumer"]))] == [
        offer.id
    ]


def test_an_offer_past_its_validity_is_no_longer_visible(make_offer, users):
    offer = make_offer("VPN", valid_to=NOW + timedelta(hours=1))
    assert offer.is_orderable()
    clock.freeze(NOW + timedelta(hours=1))
    assert offer.display_status() == "expired"
    assert not offer.is_orderable()
    assert list(db.session.scalars(catalog.visible_offers_query(users["consumer"]))) == []


def test_planning_with_a_release_date_tells_managers_and_support_agents(make_offer, users, manager):
    offer = make_offer("VPN", publish=False, planned_release_date="2030-04-01")
    advance(manager, offer, "planned")
    expected = ["Upcoming release: VPN access"]
    assert inbox(users["catalog_manager"]) == expected
    assert inbox(users["support_agent"]) == expected
    assert inbox(users["consumer"]) == []
    assert inbox(users["product_manager"]) == []
    body = db.session.scalar(
        sa.select(Notification.body).where(Notification.user_id == users["support_agent"].id)
    )
    assert "2030-04-01" in body


def test_planning_without_a_release_date_tells_nobody(make_offer, users, manager):
    advance(manager, make_offer("VPN", publish=False), "planned")
    assert count(Notification) == 0


# --- revisions ---------------------------------------------------------------------------


def test_a_revision_copies_everything(make_offer, manager):
    make_offer("MEMBER-A")
    make_offer("MEMBER-B")
    bundle = make_offer(
        "KIT",
        publish=False,
        kind="bundle",
        valid_to=NOW + timedelta(days=300),
        planned_release_date="2030-03-02",
    )
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-B", "MEMBER-A"])
    live = advance(manager, bundle, "planned", "ready", "published")
    revision = catalog.create_revision(manager, live.id)
    assert (revision.code, revision.revision, revision.status, revision.version) == (
        "KIT",
        2,
        "draft",
        1,
    )
    for field in catalog.OFFER_FIELDS:
        assert getattr(revision, field) == getattr(live, field), field
    assert [(m.member_code, m.position) for m in revision.members] == [
        ("MEMBER-B", 0),
        ("MEMBER-A", 1),
    ]
    assert catalog.diff_revisions(live, revision) == []
    assert revision.published_at is None and revision.replacement_code is None
    # The copy is its own: editing it leaves the live revision alone.
    catalog.update_offer(
        manager,
        revision.id,
        {"service_levels": {**live.service_levels, "availability_pct": 99.99}},
        expected_version=1,
    )
    assert reload(live).service_levels["availability_pct"] == 99.5


def test_only_one_revision_is_edited_at_a_time(make_offer, manager):
    live = make_offer("VPN")
    revision = catalog.create_revision(manager, live.id)
    with pytest.raises(Conflict) as failure:
        catalog.create_revision(manager, live.id)
    assert "Revision 2 of VPN is already being edited" in failure.value.message
    assert [r.revision for r in catalog.revisions_of("VPN")] == [1, 2]
    assert catalog.draft_revision("VPN").id == revision.id


@pytest.mark.parametrize("status", ["draft", "planned", "ready", "retired", "superseded"])
def test_only_a_published_offer_gets_a_revision(offer_in, manager, status):
    offer = offer_in(status)
    before = count(ServiceOffer)
    with pytest.raises(InvalidTransition) as failure:
        catalog.create_revision(manager, offer.id)
    assert f"this one is {status}" in failure.value.message
    db.session.commit()
    assert count(ServiceOffer) == before


def test_publishing_a_revision_supersedes_the_live_one(make_offer, users, manager):
    first = make_offer("VPN")
    revision = catalog.create_revision(manager, first.id)
    revision = catalog.update_offer(
        manager, revision.id, {"name": "VPN access (new gateway)"}, expected_version=1
    )
    revision = advance(manager, revision, "planned", "ready", "published")
    first = reload(first)
    assert first.status == "superseded"
    assert revision.status == "published"
    assert catalog.live_revision("VPN").id == revision.id
    assert (
        count(
            ServiceOffer,
            ServiceOffer.code == "VPN",
            ServiceOffer.status.in_(["published", "retired"]),
        )
        == 1
    )
    assert [e.action for e in events(AuditEvent.object_id == str(first.id))][-1] == "superseded"
    assert inbox(users["consumer"]) == [
        "New offer: VPN access",
        "Changed: VPN access (new gateway)",
    ]


def _insert_revision(**values) -> None:
    """A row written past the ORM (whose state machine admits new offers only as drafts)."""
    db.session.execute(sa.insert(ServiceOffer.__table__).values(code="VPN", version=1, **values))


def test_the_database_refuses_a_second_live_or_draft_row_per_code(make_offer):
    live = make_offer("VPN")
    for status in ("published", "retired"):
        with pytest.raises(IntegrityError):
            _insert_revision(revision=2, name="Copy", status=status, price=live.price)
        db.session.rollback()
    _insert_revision(revision=2, name="Draft", status="draft")
    with pytest.raises(IntegrityError):
        _insert_revision(revision=3, name="Draft", status="planned")
    db.session.rollback()
    # Superseded rows are not limited.
    for revision in (5, 6):
        _insert_revision(revision=revision, name="Old", status="superseded")
    db.session.commit()


def test_diff_lists_exactly_the_changed_fields(make_offer, manager):
    live = make_offer("VPN")
    revision = catalog.create_revision(manager, live.id)
    options = [*live.options[:1], {"key": "extra", "label": "Extra", "type": "text"}]
    catalog.update_offer(
        manager,
        revision.id,
        {"name": "VPN access 2", "price": "8.00", "options": options},
        expected_version=1,
    )
    rows = catalog.diff_revisions(live, revision)
    assert [row["field"] for row in rows] == ["name", "price", "options"]
    by_field = {row["field"]: row for row in rows}
    assert by_field["name"] == {"field": "name", "before": "VPN access", "after": "VPN access 2"}
    assert by_field["price"]["before"] == Decimal("7.50")
    assert by_field["price"]["after"] == Decimal("8.00")
    with pytest.raises(ValidationFailed):
        catalog.diff_revisions(live, make_offer("OTHER"))


def test_diff_shows_member_changes_of_a_bundle(make_offer, manager):
    for code in ("A-1", "A-2", "A-3"):
        make_offer(code)
    bundle = make_offer("KIT", publish=False, kind="bundle")
    catalog.set_bundle_members(manager, bundle.id, ["A-1", "A-2"])
    live = advance(manager, bundle, "planned", "ready", "published")
    revision = catalog.create_revision(manager, live.id)
    catalog.set_bundle_members(manager, revision.id, ["A-2", "A-3"])
    assert catalog.diff_revisions(live, revision) == [
        {"field": "members", "before": ["A-1", "A-2"], "after": ["A-2", "A-3"]}
    ]


def test_a_published_offer_is_not_edited_in_place(make_offer, manager):
    live = make_offer("VPN")
    with pytest.raises(InvalidTransition) as failure:
        catalog.update_offer(manager, live.id, {"name": "Changed"}, expected_version=live.version)
    assert "create a new revision" in failure.value.message
    assert reload(live).name == "VPN access"


def test_a_new_price_in_a_revision_is_the_price_once_published(make_offer, manager):
    live = make_offer("VPN")
    catalog.add_price_change(
        manager,
        "VPN",
        price="9.00",
        effective_from=NOW - timedelta(days=30),
        confirm_backdated=True,
    )
    assert catalog.current_price(live)[0] == Decimal("9.00")
    revision = catalog.create_revision(manager, live.id)
    catalog.update_offer(manager, revision.id, {"price": "12.00"}, expected_version=1)
    clock.freeze(NOW + timedelta(days=1))
    revision = advance(manager, revision, "planned", "ready", "published")
    assert catalog.current_price(revision)[0] == Decimal("12.00")
    assert catalog.price_history("VPN")[0].price == Decimal("12.00")


def test_a_revision_that_keeps_the_price_keeps_the_price_history(make_offer, manager):
    live = make_offer("VPN")
    catalog.add_price_change(
        manager,
        "VPN",
        price="9.00",
        effective_from=NOW - timedelta(days=30),
        confirm_backdated=True,
    )
    revision = catalog.create_revision(manager, live.id)
    catalog.update_offer(manager, revision.id, {"name": "VPN 2"}, expected_version=1)
    revision = advance(manager, revision, "planned", "ready", "published")
    assert catalog.current_price(revision)[0] == Decimal("9.00")
    assert len(catalog.price_history("VPN")) == 1


def test_a_revision_of_a_retired_offer_cannot_be_published(make_offer, manager):
    live = make_offer("VPN")
    revision = catalog.create_revision(manager, live.id)
    catalog.transition_offer(manager, live.id, "retired", end_date=NOW + timedelta(days=5))
    revision = advance(manager, revision, "planned", "ready")
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, revision.id, "published")
    assert "retired" in failure.value.message
    assert reload(live).status == "retired"
    assert reload(revision).status == "ready"


def test_a_revision_valid_only_later_cannot_replace_the_live_one_now(make_offer, manager):
    live = make_offer("VPN")
    revision = catalog.create_revision(manager, live.id)
    later = (NOW + timedelta(days=10)).date().isoformat()
    revision = catalog.update_offer(
        manager, revision.id, {"valid_from": later}, expected_version=revision.version
    )
    revision = advance(manager, revision, "planned", "ready")
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, revision.id, "published")
    assert later in failure.value.message and "valid_from" in failure.value.fields
    assert reload(live).status == "published"  # still orderable
    assert reload(revision).status == "ready"
    clock.freeze(NOW + timedelta(days=10))
    assert catalog.transition_offer(manager, revision.id, "published").status == "published"
    assert reload(live).status == "superseded"


# --- optimistic locking ------------------------------------------------------------------


def test_a_stale_edit_is_refused_naming_who_changed_what(make_offer, make_user, manager):
    alice = make_user("catalog_manager", name="Alice Example")
    bob = make_user("catalog_manager", name="Bob Example")
    offer = make_offer("VPN", publish=False)
    opened = offer.version  # both open the editor at this version
    catalog.update_offer(
        alice,
        offer.id,
        {"name": "VPN for everyone", "terms": "New terms."},
        expected_version=opened,
    )
    audit_count = count(AuditEvent)
    with pytest.raises(Conflict) as failure:
        catalog.update_offer(bob, offer.id, {"price": "99.00"}, expected_version=opened)
    assert failure.value.message == (
        "This offer was changed since you opened it by Alice Example at 2030-03-01 09:00 UTC: "
        "name, terms. Nothing of yours was saved."
    )
    assert list(failure.value.fields) == ["version"]
    offer = reload(offer)
    assert (offer.name, offer.terms, offer.price) == (
        "VPN for everyone",
        "New terms.",
        Decimal("7.50"),
    )
    assert offer.version == opened + 1
    assert count(AuditEvent) == audit_count
    # Bob reloads and saves again: both changes are kept.
    catalog.update_offer(bob, offer.id, {"price": "99.00"}, expected_version=offer.version)
    offer = reload(offer)
    assert (offer.name, offer.price) == ("VPN for everyone", Decimal("99.00"))


def test_stale_versions_are_refused_by_transitions_and_bundles_too(make_offer, manager):
    offer = make_offer("VPN", publish=False)
    catalog.update_offer(manager, offer.id, {"summary": "New"}, expected_version=1)
    with pytest.raises(Conflict):
        catalog.transition_offer(manager, offer.id, "planned", expected_version=1)
    assert reload(offer).status == "draft"
    bundle = make_offer("KIT", publish=False, kind="bundle")
    with pytest.raises(Conflict):
        catalog.set_bundle_members(manager, bundle.id, [], expected_version=0)


@pytest.mark.parametrize("version", ["abc", "", "1.5", [1]])
def test_a_malformed_version_is_refused_not_a_crash(make_offer, manager, version):
    offer = make_offer("VPN", publish=False)
    with pytest.raises(Conflict):
        catalog.update_offer(manager, offer.id, {"name": "X"}, expected_version=version)
    assert reload(offer).name == "VPN access"


def test_saving_without_changes_does_not_bump_the_version(make_offer, manager):
    offer = make_offer("VPN", publish=False)
    audit_count = count(AuditEvent)
    catalog.update_offer(manager, offer.id, {"name": "VPN access"}, expected_version=1)
    assert reload(offer).version == 1
    assert count(AuditEvent) == audit_count


# --- prices ------------------------------------------------------------------------------


def test_a_price_change_takes_effect_on_its_date(make_offer, manager):
    offer = make_offer("VPN")
    change_day = NOW + timedelta(days=10)
    catalog.add_price_change(
        manager, "VPN", price="8.25", cost="3.50", effective_from=change_day, reason="Annual"
    )
    assert catalog.current_price(offer) == (Decimal("7.50"), Decimal("3.00"))
    assert catalog.current_price(offer, change_day - timedelta(seconds=1))[0] == Decimal("7.50")
    assert catalog.current_price(offer, change_day) == (Decimal("8.25"), Decimal("3.50"))
    clock.freeze(change_day + timedelta(hours=1))
    assert catalog.current_price(offer) == (Decimal("8.25"), Decimal("3.50"))


def test_a_price_change_without_cost_keeps_the_offer_cost(make_offer, manager):
    offer = make_offer("VPN")
    catalog.add_price_change(manager, "VPN", price="8", effective_from=NOW)
    assert catalog.current_price(offer) == (Decimal("8.00"), Decimal("3.00"))


def test_price_history_is_newest_first(make_offer, manager):
    make_offer("VPN")
    for day, price in ((5, "9"), (1, "8"), (30, "10")):
        catalog.add_price_change(
            manager, "VPN", price=price, effective_from=NOW + timedelta(days=day)
        )
    assert [c.price for c in catalog.price_history("VPN")] == [
        Decimal("10.00"),
        Decimal("9.00"),
        Decimal("8.00"),
    ]
    clock.freeze(NOW + timedelta(days=6))
    assert catalog.effective_prices(["VPN", "NONE"])["VPN"].price == Decimal("9.00")


@pytest.mark.parametrize(
    "same_moment", ["2030-04-01", "2030-04-01T00:00:00Z", "2030-04-01T02:00:00+02:00"]
)
def test_a_second_change_at_the_same_moment_is_refused(make_offer, manager, same_moment):
    make_offer("VPN")
    catalog.add_price_change(manager, "VPN", price="9", effective_from="2030-04-01")
    with pytest.raises(ValidationFailed) as failure:
        catalog.add_price_change(manager, "VPN", price="10", effective_from=same_moment)
    assert list(failure.value.fields) == ["effective_from"]
    db.session.commit()
    assert count(PriceChange) == 1


@pytest.mark.parametrize(
    ("price", "effective_from", "field"),
    [
        ("-1", "2030-04-01", "price"),
        ("", "2030-04-01", "price"),
        ("1.999", "2030-04-01", "price"),
        ("9", None, "effective_from"),
        ("9", "soon", "effective_from"),
    ],
)
def test_bad_price_changes_are_refused(make_offer, users, manager, price, effective_from, field):
    make_offer("VPN")
    notifications, audit_count = count(Notification), count(AuditEvent)
    with pytest.raises(ValidationFailed) as failure:
        catalog.add_price_change(manager, "VPN", price=price, effective_from=effective_from)
    assert list(failure.value.fields) == [field]
    db.session.commit()
    assert count(PriceChange) == 0
    assert (count(Notification), count(AuditEvent)) == (notifications, audit_count)


def test_a_price_change_of_an_unknown_offer_is_not_found(manager, catalog_setup):
    with pytest.raises(NotFound):
        catalog.add_price_change(manager, "NOPE", price="1", effective_from=NOW)


def test_the_audience_hears_of_a_published_offers_price_change(make_offer, users, groups, manager):
    make_offer("PAYROLL", group_ids=[groups["Finance"]])
    catalog.add_price_change(manager, "PAYROLL", price="8.00", effective_from="2030-05-01")
    assert inbox(users["consumer"])[-1] == "Price change: VPN access"
    body = db.session.scalars(sa.select(Notification.body).order_by(Notification.id.desc())).first()
    assert "2030-05-01" in body and "8.00 EUR" in body
    assert inbox(users["other_consumer"]) == []


def test_a_draft_offers_price_change_tells_nobody(make_offer, manager):
    make_offer("VPN", publish=False)
    catalog.add_price_change(manager, "VPN", price="8.00", effective_from="2030-05-01")
    assert count(Notification) == 0


# --- bundles -----------------------------------------------------------------------------


@pytest.fixture
def bundle(make_offer, manager):
    make_offer("MEMBER-A", price="10.00")
    make_offer("MEMBER-B", price="5.50")
    make_offer("MEMBER-C", price="1.00")
    return make_offer("KIT", publish=False, kind="bundle", price="14.00")


def member_codes(bundle: ServiceOffer) -> list[str]:
    db.session.expire_all()
    return [m.member_code for m in db.session.get(ServiceOffer, bundle.id).members]


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["MEMBER-A", "DRAFT-ONE"], "DRAFT-ONE is not a published offer."),
        (["MEMBER-A", "NOPE"], "NOPE is not a published offer."),
        (["MEMBER-A", "OTHER-KIT"], "OTHER-KIT is itself a bundle"),
        (["MEMBER-A", "KIT"], "A bundle cannot contain itself."),
        (["MEMBER-A", "MEMBER-A"], "Each offer can be in the bundle once."),
        (["MEMBER-A", "member-a "], "Each offer can be in the bundle once."),
        (["RETIRED-ONE"], "RETIRED-ONE is not a published offer."),
    ],
)
def test_bad_members_are_refused(bundle, make_offer, manager, codes, message):
    make_offer("DRAFT-ONE", publish=False)
    other_kit = make_offer("OTHER-KIT", kind="bundle", publish=False)
    catalog.set_bundle_members(manager, other_kit.id, ["MEMBER-B", "MEMBER-C"])
    assert advance(manager, other_kit, "planned", "ready", "published").status == "published"
    retired = make_offer("RETIRED-ONE")
    catalog.transition_offer(manager, retired.id, "retired", end_date=NOW + timedelta(days=3))
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-B"])
    version = reload(bundle).version
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_bundle_members(manager, bundle.id, codes)
    assert list(failure.value.fields) == ["members"]
    assert any(message in text for text in failure.value.fields["members"])
    assert member_codes(bundle) == ["MEMBER-B"]
    assert reload(bundle).version == version
    assert count(BundleMember, BundleMember.bundle_id == bundle.id) == 1


def test_only_a_bundle_has_members(make_offer, manager):
    make_offer("MEMBER-A")
    plain = make_offer("PLAIN", publish=False)
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_bundle_members(manager, plain.id, ["MEMBER-A"])
    assert list(failure.value.fields) == ["kind"]


def test_bundle_validity_cannot_reach_beyond_its_members(make_offer, manager):
    starts, ends = NOW - timedelta(days=10), NOW + timedelta(days=100)
    make_offer("MEMBER-A", valid_from=starts, valid_to=ends)
    make_offer("MEMBER-B")
    kit = make_offer("KIT", publish=False, kind="bundle")
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_bundle_members(manager, kit.id, ["MEMBER-A", "MEMBER-B"])
    assert set(failure.value.fields) == {"valid_from", "valid_to"}
    assert "MEMBER-A" in failure.value.fields["valid_to"][0]
    assert member_codes(kit) == []
    assert count(BundleMember) == 0

    catalog.update_offer(
        manager, kit.id, {"valid_from": starts, "valid_to": ends}, expected_version=1
    )
    catalog.set_bundle_members(manager, kit.id, ["MEMBER-A", "MEMBER-B"])
    kit = reload(kit)
    version = kit.version
    for data, field in (
        ({"valid_from": starts - timedelta(days=1)}, "valid_from"),
        ({"valid_to": ends + timedelta(days=1)}, "valid_to"),
        ({"valid_to": None}, "valid_to"),
    ):
        with pytest.raises(ValidationFailed) as failure:
            catalog.update_offer(manager, kit.id, data, expected_version=version)
        assert list(failure.value.fields) == [field]
        kit = reload(kit)
        assert (kit.valid_from, kit.valid_to, kit.version) == (starts, ends, version)
    # Narrower is fine.
    catalog.update_offer(
        manager, kit.id, {"valid_to": ends - timedelta(days=1)}, expected_version=version
    )


def test_retiring_a_member_flags_the_bundle(bundle, users, manager):
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A", "MEMBER-B"])
    kit = advance(manager, bundle, "planned", "ready", "published")
    assert catalog.bundle_problems(kit) == []
    member = catalog.live_revision("MEMBER-A")
    catalog.transition_offer(manager, member.id, "retired", end_date=NOW + timedelta(days=1))
    assert catalog.bundle_problems(kit) == ["MEMBER-A is retired."]
    assert [b.code for b in catalog.bundles_containing("MEMBER-A")] == ["KIT"]
    assert inbox(users["catalog_manager"])[-1] == "Bundle member retired: MEMBER-A"
    assert "Bundle member retired: MEMBER-A" not in inbox(users["consumer"])
    link = db.session.scalar(
        sa.select(Notification.link).where(Notification.subject.like("Bundle member retired%"))
    )
    assert link == f"/catalog/manage/offers/{kit.id}"


def test_a_bundle_with_a_retired_member_cannot_be_published(bundle, manager):
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A", "MEMBER-B"])
    kit = advance(manager, bundle, "planned", "ready")
    catalog.transition_offer(
        manager, catalog.live_revision("MEMBER-B").id, "retired", end_date=NOW + timedelta(days=1)
    )
    with pytest.raises(InvalidTransition) as failure:
        catalog.transition_offer(manager, kit.id, "published")
    assert failure.value.fields == {"members": ["MEMBER-B is retired."]}
    assert reload(kit).status == "ready"


def test_members_move_up_and_down_and_are_removed(bundle, manager):
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A", "MEMBER-B", "MEMBER-C"])
    catalog.move_bundle_member(manager, bundle.id, "MEMBER-C", "up")
    assert member_codes(bundle) == ["MEMBER-A", "MEMBER-C", "MEMBER-B"]
    catalog.move_bundle_member(manager, bundle.id, "MEMBER-A", "down")
    assert member_codes(bundle) == ["MEMBER-C", "MEMBER-A", "MEMBER-B"]
    catalog.move_bundle_member(manager, bundle.id, "MEMBER-A", "remove")
    assert member_codes(bundle) == ["MEMBER-C", "MEMBER-B"]
    positions = [m.position for m in db.session.get(ServiceOffer, bundle.id).members]
    assert positions == [0, 1]
    for code, direction in (("MEMBER-C", "up"), ("MEMBER-B", "down"), ("MEMBER-B", "sideways")):
        with pytest.raises(ValidationFailed):
            catalog.move_bundle_member(manager, bundle.id, code, direction)
    with pytest.raises(NotFound):
        catalog.move_bundle_member(manager, bundle.id, "MEMBER-A", "up")
    assert member_codes(bundle) == ["MEMBER-C", "MEMBER-B"]
    moves = [
        e for e in events(AuditEvent.object_id == str(bundle.id)) if e.action == "members_changed"
    ]
    assert len(moves) == 4


def test_the_member_total_uses_current_prices(bundle, manager):
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A", "MEMBER-B"])
    assert catalog.bundle_member_total(bundle) == {"monthly": Decimal("15.50")}
    catalog.add_price_change(
        manager, "MEMBER-A", price="12.00", effective_from=NOW + timedelta(days=1)
    )
    assert catalog.bundle_member_total(bundle) == {"monthly": Decimal("15.50")}
    clock.freeze(NOW + timedelta(days=1))
    assert catalog.bundle_member_total(bundle) == {"monthly": Decimal("17.50")}
    assert bundle.price == Decimal("14.00")  # the bundle's own price is separate


# --- retirement --------------------------------------------------------------------------


def test_retiring_sets_the_end_and_points_to_the_replacement(make_offer, users, manager):
    old = make_offer("VPN")
    make_offer("VPN-2", name="VPN next generation")
    end = NOW + timedelta(days=30)
    old = catalog.transition_offer(
        manager, old.id, "retired", end_date=end, replacement_code="vpn-2"
    )
    old = reload(old)
    assert (old.status, old.valid_to, old.replacement_code, old.retired_at) == (
        "retired",
        end,
        "VPN-2",
        NOW,
    )
    assert old.display_status() == "retiring"
    assert old.is_orderable()  # until the end date
    notification = db.session.scalar(
        sa.select(Notification)
        .where(Notification.user_id == users["consumer"].id)
        .order_by(Notification.id.desc())
    )
    assert notification.subject == "Retiring: VPN access"
    assert "2030-03-31" in notification.body and "VPN next generation" in notification.body
    clock.freeze(end)
    assert old.display_status() == "retired"
    assert not old.is_orderable()
    assert not catalog.live_revision("VPN").is_orderable()


def test_retiring_without_an_end_date_ends_orders_now(make_offer, manager):
    offer = catalog.transition_offer(manager, make_offer("VPN").id, "retired")
    assert offer.valid_to == NOW
    assert not offer.is_orderable()


def test_the_end_date_is_capped_by_the_validity(make_offer, manager):
    offer = make_offer("VPN", valid_to=NOW + timedelta(days=5))
    offer = catalog.transition_offer(
        manager, offer.id, "retired", end_date=NOW + timedelta(days=50)
    )
    assert offer.valid_to == NOW + timedelta(days=5)


@pytest.mark.parametrize(
    ("end_date", "replacement", "field", "message"),
    [
        (NOW - timedelta(days=1), None, "end_date", "cannot be in the past"),
        ("2030-02-28", None, "end_date", "cannot be in the past"),
        ("tomorrow", None, "end_date", "YYYY-MM-DD"),
        (None, "VPN", "replacement_code", "cannot replace itself"),
        (None, "DRAFT-ONE", "replacement_code", "not a published offer"),
        (None, "NOPE", "replacement_code", "not a published offer"),
        (None, "GONE", "replacement_code", "not a published offer"),
        (None, 42, "replacement_code", "not a published offer"),
    ],
)
def test_bad_retirements_are_refused_and_change_nothing(
    make_offer, users, manager, end_date, replacement, field, message
):
    offer = make_offer("VPN")
    make_offer("DRAFT-ONE", publish=False)
    gone = make_offer("GONE")
    catalog.transition_offer(manager, gone.id, "retired", end_date=NOW + timedelta(days=1))
    version = offer.version
    notifications, audit_count = count(Notification), count(AuditEvent)
    with pytest.raises(ValidationFailed) as failure:
        catalog.transition_offer(
            manager, offer.id, "retired", end_date=end_date, replacement_code=replacement
        )
    assert list(failure.value.fields) == [field]
    assert message in failure.value.fields[field][0]
    offer = reload(offer)
    assert (offer.status, offer.version, offer.valid_to, offer.retired_at) == (
        "published",
        version,
        None,
        None,
    )
    assert (count(Notification), count(AuditEvent)) == (notifications, audit_count)


def test_a_scheduled_offer_is_retired_after_it_starts(make_offer, manager):
    offer = make_offer("SOON", valid_from=NOW + timedelta(days=10))
    with pytest.raises(ValidationFailed) as failure:
        catalog.transition_offer(manager, offer.id, "retired", end_date=NOW + timedelta(days=2))
    assert list(failure.value.fields) == ["end_date"]
    assert reload(offer).status == "published"


# --- categories --------------------------------------------------------------------------


@pytest.fixture
def tree(manager):
    """Devices (Laptops, Phones), Cloud (Compute)."""
    devices = catalog.save_category(manager, name="Devices")
    cloud = catalog.save_category(manager, name="Cloud")
    laptops = catalog.save_category(manager, name="Laptops", parent_id=devices.id)
    phones = catalog.save_category(manager, name="Phones", parent_id=devices.id)
    compute = catalog.save_category(manager, name="Compute", parent_id=cloud.id)
    return {c.name: c for c in (devices, cloud, laptops, phones, compute)}


def shape() -> list[tuple[str, int]]:
    db.session.expire_all()
    return [(c.name, depth) for c, depth in catalog.category_tree()]


def test_the_tree_lists_parents_before_children_in_order(tree):
    assert shape() == [
        ("Devices", 0),
        ("Laptops", 1),
        ("Phones", 1),
        ("Cloud", 0),
        ("Compute", 1),
    ]
    assert tree["Laptops"].slug == "laptops"


def test_a_category_cannot_move_under_itself_or_its_descendants(tree, manager):
    devices, laptops = tree["Devices"], tree["Laptops"]
    for parent in (devices, laptops):
        with pytest.raises(ValidationFailed) as failure:
            catalog.save_category(
                manager, name="Devices", parent_id=parent.id, category_id=devices.id
            )
        assert list(failure.value.fields) == ["parent_id"]
    db.session.commit()
    assert shape()[0] == ("Devices", 0)
    catalog.save_category(
        manager, name="Laptops", parent_id=tree["Cloud"].id, category_id=laptops.id
    )
    assert shape() == [
        ("Devices", 0),
        ("Phones", 1),
        ("Cloud", 0),
        ("Compute", 1),
        ("Laptops", 1),
    ]


def test_sibling_names_are_unique(tree, manager):
    with pytest.raises(ValidationFailed) as failure:
        catalog.save_category(manager, name="Phones", parent_id=tree["Devices"].id)
    assert list(failure.value.fields) == ["name"]
    other = catalog.save_category(manager, name="Phones", parent_id=tree["Cloud"].id)
    assert other.slug == "phones-2"


def test_categories_move_up_and_down(tree, manager):
    catalog.move_category(manager, tree["Cloud"].id, "up")
    assert [name for name, depth in shape() if depth == 0] == ["Cloud", "Devices"]
    catalog.move_category(manager, tree["Laptops"].id, "down")
    assert shape() == [
        ("Cloud", 0),
        ("Compute", 1),
        ("Devices", 0),
        ("Phones", 1),
        ("Laptops", 1),
    ]
    audit_count = count(AuditEvent)
    for category, direction in (
        ("Cloud", "up"),
        ("Laptops", "down"),
        ("Compute", "up"),
        ("Phones", "left"),
    ):
        with pytest.raises(ValidationFailed):
            catalog.move_category(manager, tree[category].id, direction)
    db.session.commit()
    assert count(AuditEvent) == audit_count
    assert shape()[0] == ("Cloud", 0)


def test_archive_only_an_empty_category(tree, make_offer, manager):
    with pytest.raises(ValidationFailed) as failure:
        catalog.archive_category(manager, tree["Devices"].id)
    assert "2 subcategories and 0 offers" in failure.value.message
    assert failure.value.fields == {"category": ["Only an empty category can be archived."]}
    make_offer("LAPTOP", publish=False, category_id=tree["Laptops"].id)
    with pytest.raises(ValidationFailed) as failure:
        catalog.archive_category(manager, tree["Laptops"].id)
    assert "1 offers" in failure.value.message
    db.session.commit()
    assert count(Category, Category.archived_at.is_not(None)) == 0
    catalog.archive_category(manager, tree["Phones"].id)
    assert ("Phones", 1) not in shape()
    assert ("Phones", 1) in [(c.name, d) for c, d in catalog.category_tree(include_archived=True)]
    # An archived category is no parent, and it does not move.
    with pytest.raises(ValidationFailed):
        catalog.save_category(manager, name="Tablets", parent_id=tree["Phones"].id)
    with pytest.raises(ValidationFailed):
        catalog.move_category(manager, tree["Phones"].id, "up")


# --- the audit trail ---------------------------------------------------------------------


def test_each_state_change_writes_one_event(make_offer, users, groups, manager):
    pm = users["product_manager"]
    steps = [
        (lambda: catalog.save_product(pm, name="Mail"), "product", "created"),
        (
            lambda: catalog.create_release(pm, catalog.list_products()[0].id, version="1"),
            "release",
            "created",
        ),
        (
            lambda: catalog.transition_release(pm, catalog.list_releases()[0].id, "accepted"),
            "release",
            "transition",
        ),
        (lambda: catalog.save_category(manager, name="Mail"), "category", "created"),
        (lambda: catalog.create_offer(manager, complete_offer_data("MAIL")), "offer", "created"),
        (
            lambda: catalog.update_offer(
                manager, catalog.draft_revision("MAIL").id, {"price": "8"}, expected_version=1
            ),
            "offer",
            "updated",
        ),
        (lambda: knowledge.save_article(manager, title="Mail", body="Read"), "article", "created"),
        (
            lambda: knowledge.link_articles(manager, "MAIL", [knowledge.list_articles()[0].id]),
            "offer_articles",
            "articles_changed",
        ),
        (
            lambda: catalog.set_audience(manager, "MAIL", group_ids=[groups["Finance"]]),
            "offer_audience",
            "audience_changed",
        ),
        (lambda: catalog.set_featured(manager, "MAIL", True), "offer_settings", "featured"),
        (
            lambda: catalog.transition_offer(manager, catalog.draft_revision("MAIL").id, "planned"),
            "offer",
            "transition",
        ),
        (
            lambda: catalog.add_price_change(manager, "MAIL", price="9", effective_from=NOW),
            "price_change",
            "created",
        ),
    ]
    for step, object_type, action in steps:
        before = count(AuditEvent)
        step()
        new = events(AuditEvent.id > 0)[before:]
        assert [(e.object_type, e.action) for e in new] == [(object_type, action)]
        assert new[0].occurred_at == NOW
        assert new[0].actor_id in (manager.id, pm.id)


def test_the_change_and_its_event_share_one_transaction(make_offer, manager):
    offer = make_offer("VPN", publish=False)
    audit_count = count(AuditEvent)
    catalog.update_offer(manager, offer.id, {"name": "Renamed"}, expected_version=1)
    catalog.transition_offer(manager, offer.id, "planned")
    assert count(AuditEvent) == audit_count + 2
    db.session.rollback()
    offer = reload(offer)
    assert (offer.name, offer.status, offer.version) == ("VPN access", "draft", 1)
    assert count(AuditEvent) == audit_count


def test_publishing_a_revision_records_the_superseded_one(make_offer, manager):
    first = make_offer("VPN")
    revision = catalog.create_revision(manager, first.id)
    before = count(AuditEvent)
    advance(manager, revision, "planned", "ready", "published")
    actions = [(e.object_id, e.action) for e in events(AuditEvent.id > 0)[before:]]
    assert (str(first.id), "superseded") in actions
    assert actions.count((str(revision.id), "transition")) == 3


# --- who may call what -------------------------------------------------------------------

CM, PM, SA = "catalog_manager", "product_manager", "support_agent"


@module_world
def world(make_offer, users, manager):
    pm = users[PM]
    product = catalog.save_product(pm, name="Mail")
    world = {
        "product": product,
        "release": catalog.create_release(pm, product.id, version="1.0"),
        "category": catalog.save_category(manager, name="Devices"),
        "second_category": catalog.save_category(manager, name="Cloud"),
        "draft": make_offer("DRAFT-ONE", publish=False),
        "published": make_offer("PUB"),
        "other": make_offer("PUB-2"),
        "bundle": make_offer("KIT", publish=False, kind="bundle"),
        "article": knowledge.save_article(manager, title="Hello", body="World"),
    }
    catalog.set_bundle_members(manager, world["bundle"].id, ["PUB", "PUB-2"])
    return world


SERVICES = {
    "save_product": ((PM,), lambda a, w: catalog.save_product(a, name="Chat")),
    "rename_product": (
        (PM,),
        lambda a, w: catalog.save_product(a, name="Mail 2", product_id=w["product"].id),
    ),
    "create_release": ((PM,), lambda a, w: catalog.create_release(a, w["product"].id, version="2")),
    "transition_release": (
        (PM,),
        lambda a, w: catalog.transition_release(a, w["release"].id, "accepted"),
    ),
    "save_category": ((CM,), lambda a, w: catalog.save_category(a, name="Phones")),
    "move_category": ((CM,), lambda a, w: catalog.move_category(a, w["second_category"].id, "up")),
    "archive_category": ((CM,), lambda a, w: catalog.archive_category(a, w["category"].id)),
    "create_offer": ((CM,), lambda a, w: catalog.create_offer(a, complete_offer_data("NEW"))),
    "update_offer": (
        (CM,),
        lambda a, w: catalog.update_offer(a, w["draft"].id, {"name": "X"}, expected_version=None),
    ),
    "transition_offer": ((CM,), lambda a, w: catalog.transition_offer(a, w["draft"].id, "planned")),
    "create_revision": ((CM,), lambda a, w: catalog.create_revision(a, w["published"].id)),
    "set_audience": ((CM,), lambda a, w: catalog.set_audience(a, "PUB", group_ids=[])),
    "set_featured": ((CM,), lambda a, w: catalog.set_featured(a, "PUB", True)),
    "link_articles": ((CM, SA), lambda a, w: knowledge.link_articles(a, "PUB", [w["article"].id])),
    "save_article": ((CM, SA), lambda a, w: knowledge.save_article(a, title="T", body="B")),
    "add_price_change": (
        (CM,),
        lambda a, w: catalog.add_price_change(a, "PUB", price="1", effective_from=NOW),
    ),
    "set_bundle_members": (
        (CM,),
        lambda a, w: catalog.set_bundle_members(a, w["bundle"].id, ["PUB-2", "PUB"]),
    ),
    "move_bundle_member": (
        (CM,),
        lambda a, w: catalog.move_bundle_member(a, w["bundle"].id, "PUB-2", "up"),
    ),
    "workspace_query": ((CM,), lambda a, w: catalog.workspace_query(a)),
    "status_counts": ((CM,), lambda a, w: catalog.status_counts(a)),
}
ROLES = ["consumer", CM, SA, PM, "admin"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", list(SERVICES))
def test_permission_matrix(world, users, role, service):
    allowed, call = SERVICES[service]
    audit_count = count(AuditEvent)
    if role in allowed:
        call(users[role], world)
        return
    with pytest.raises(NotAllowed):
        call(users[role], world)
    db.session.commit()
    assert count(AuditEvent) == audit_count


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_deactivated_manager_may_do_nothing(world, make_user, service):
    allowed, call = SERVICES[service]
    user = make_user(*allowed)
    user.active = False
    db.session.commit()
    with pytest.raises(NotAllowed):
        call(user, world)


def test_permission_is_checked_before_anything_is_revealed(world, users):
    for role in ("consumer", "admin"):
        with pytest.raises(NotAllowed):
            catalog.move_bundle_member(users[role], world["bundle"].id, "NOT-A-MEMBER", "up")
        with pytest.raises(NotAllowed):
            catalog.transition_offer(users[role], 987654, "planned")
        with pytest.raises(NotAllowed):
            catalog.set_featured(users[role], "NO-SUCH-CODE", True)


def test_offer_suggestions_put_the_same_product_first_and_stop_at_the_limit(
    make_offer, manager, users
):
    remote = catalog.save_product(users["product_manager"], name="Remote Access")
    vpn = make_offer("VPN-ACCESS", product_id=remote.id)
    make_offer("ZZ-TUNNEL", name="Zz tunnel", product_id=remote.id)
    make_offer("AA-LAPTOP", name="Aa laptop")
    make_offer("DRAFT-ONE", name="Aa draft", publish=False)
    kit = make_offer("BIG-KIT", name="Big kit", kind="bundle", fulfillment_plan=[], publish=False)
    catalog.set_bundle_members(manager, kit.id, ["AA-LAPTOP", "ZZ-TUNNEL"])
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, kit.id, status)
    codes = [code for code, _ in catalog.offer_suggestions(manager, vpn)]
    assert codes == ["ZZ-TUNNEL", "AA-LAPTOP", "BIG-KIT"]  # same product first; never itself
    assert [code for code, _ in catalog.offer_suggestions(manager, vpn, limit=1)] == ["ZZ-TUNNEL"]
    new_kit = make_offer("NEW-KIT", kind="bundle", fulfillment_plan=[], publish=False)
    members = catalog.offer_suggestions(manager, new_kit, for_bundle=True)
    assert [code for code, _ in members] == ["AA-LAPTOP", "VPN-ACCESS", "ZZ-TUNNEL"]  # no bundles
    catalog.set_bundle_members(manager, new_kit.id, ["AA-LAPTOP"])
    members = catalog.offer_suggestions(
        manager, db.session.get(ServiceOffer, new_kit.id), for_bundle=True
    )
    assert [code for code, _ in members] == ["VPN-ACCESS", "ZZ-TUNNEL"]  # nor its members
    with pytest.raises(NotAllowed):
        catalog.offer_suggestions(users["consumer"], vpn)
