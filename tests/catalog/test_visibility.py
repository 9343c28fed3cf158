"""Who sees which offer: audiences, canary publication, catalog managers, retired offers and
their replacements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.notifications.models import Notification

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(NOW)


@pytest.fixture
def groups(catalog_setup):
    return {
        name: accounts.find_group_by_name(name).id
        for name in ("Finance", "Engineering", "Support Desk")
    }


@pytest.fixture
def manager(catalog_setup):
    return catalog_setup["catalog_manager"]


def visible_codes(user) -> list[str]:
    return sorted(o.code for o in db.session.scalars(catalog.visible_offers_query(user)))


def can_open(user, offer) -> bool:
    try:
        return catalog.offer_for_viewer(user, offer.id).id == offer.id
    except NotFound:
        return False


def subjects(user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def test_no_audience_means_everyone(make_offer, users, make_user):
    offer = make_offer("VPN")
    loner = make_user("consumer")  # in no group at all
    for user in (users["consumer"], users["other_consumer"], loner, users["support_agent"]):
        assert visible_codes(user) == ["VPN"]
        assert can_open(user, offer)
        assert catalog.is_visible(user, offer)


def test_a_group_audience_hides_the_offer_from_other_consumers(
    make_offer, users, groups, make_user
):
    offer = make_offer("PAYROLL", group_ids=[groups["Finance"]])
    public = make_offer("VPN")
    both = make_user("consumer", groups=("Finance", "Engineering"))
    loner = make_user("consumer")
    assert visible_codes(users["consumer"]) == ["PAYROLL", "VPN"]
    assert visible_codes(both) == ["PAYROLL", "VPN"]  # once, though in two groups
    assert visible_codes(users["other_consumer"]) == ["VPN"]
    assert visible_codes(loner) == ["VPN"]
    assert visible_codes(users["admin"]) == ["VPN"]  # administrators are not catalog managers
    assert can_open(users["consumer"], offer)
    for outsider in (users["other_consumer"], loner, users["admin"], users["support_agent"]):
        with pytest.raises(NotFound):
            catalog.offer_for_viewer(outsider, offer.id)
        assert not catalog.is_visible(outsider, offer)
    assert can_open(users["other_consumer"], public)


def test_a_canary_elsewhere_does_not_hide_group_audiences(make_offer, users, groups):
    """Whether an offer is in canary is asked of that offer, not of the whole catalog."""
    make_offer("PAYROLL", group_ids=[groups["Finance"]])
    make_offer(
        "PILOT",
        group_ids=[groups["Finance"], groups["Engineering"]],
        pilot_ids=[groups["Engineering"]],
        canary=True,
    )
    assert visible_codes(users["consumer"]) == ["PAYROLL"]
    assert visible_codes(users["other_consumer"]) == ["PILOT"]


def test_audience_changes_take_effect_at_once(make_offer, users, groups, manager):
    offer = make_offer("VPN")
    assert can_open(users["other_consumer"], offer)
    catalog.set_audience(manager, "VPN", group_ids=[groups["Finance"]])
    assert not can_open(users["other_consumer"], offer)
    assert visible_codes(users["other_consumer"]) == []
    catalog.set_audience(manager, "VPN", group_ids=[])
    assert can_open(users["other_consumer"], offer)


def test_outsiders_cannot_open_retired_or_scheduled_offers(make_offer, users, groups, manager):
    retired = make_offer("OLD", group_ids=[groups["Finance"]])
    catalog.transition_offer(manager, retired.id, "retired")
    scheduled = make_offer(
        "SOON", group_ids=[groups["Finance"]], valid_from=NOW + timedelta(days=3)
    )
    for offer in (retired, scheduled):
        with pytest.raises(NotFound):
            catalog.offer_for_viewer(users["other_consumer"], offer.id)
    # The audience sees the retired one by its id, but not the scheduled one yet.
    assert can_open(users["consumer"], retired)
    assert not can_open(users["consumer"], scheduled)
    assert visible_codes(users["consumer"]) == []


def test_drafts_and_superseded_revisions_are_not_shown_to_consumers(make_offer, users, manager):
    draft = make_offer("DRAFT", publish=False)
    first = make_offer("VPN")
    second = catalog.create_revision(manager, first.id)
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, second.id, status)
    consumer = users["consumer"]
    assert not can_open(consumer, draft)
    assert not can_open(consumer, first)
    assert can_open(consumer, second)
    assert visible_codes(consumer) == ["VPN"]


def test_unknown_ids_are_not_found(users):
    with pytest.raises(NotFound):
        catalog.offer_for_viewer(users["consumer"], 424242)
    with pytest.raises(NotFound):
        catalog.offer_for_viewer(users["catalog_manager"], 424242)


def test_catalog_managers_see_everything(make_offer, users, groups, manager):
    hidden = make_offer("PAYROLL", group_ids=[groups["Finance"]])
    canary = make_offer("BETA", pilot_ids=[groups["Engineering"]])
    draft = make_offer("DRAFT", publish=False)
    scheduled = make_offer("SOON", valid_from=NOW + timedelta(days=1))
    for offer in (hidden, canary, draft, scheduled):
        assert can_open(manager, offer)
        assert catalog.is_visible(manager, offer)
    assert visible_codes(manager) == ["BETA", "PAYROLL"]  # orderable now, whatever the audience


def test_canary_shows_the_offer_to_pilots_only_until_widened(
    make_offer, users, groups, manager, make_user
):
    second_pilot = make_user("consumer", groups=("Finance",))
    offer = make_offer(
        "BETA",
        group_ids=[groups["Finance"], groups["Engineering"]],
        pilot_ids=[groups["Finance"]],
        canary=True,
    )
    pilot, other = users["consumer"], users["other_consumer"]
    assert visible_codes(pilot) == ["BETA"]
    assert visible_codes(other) == []
    assert not can_open(other, offer)
    # Publication told the pilots only.
    assert subjects(pilot) == ["New offer: VPN access"]
    assert subjects(second_pilot) == ["New offer: VPN access"]
    assert subjects(other) == []

    catalog.set_audience(
        manager,
        "BETA",
        group_ids=[groups["Finance"], groups["Engineering"]],
        pilot_group_ids=[groups["Finance"]],
        canary=False,
    )
    assert visible_codes(other) == ["BETA"]
    assert can_open(other, offer)
    assert visible_codes(pilot) == ["BETA"]
    # Widening tells the rest of the audience; the pilots already knew.
    assert subjects(other) == ["Now available: VPN access"]
    assert subjects(pilot) == ["New offer: VPN access"]
    assert subjects(second_pilot) == ["New offer: VPN access"]
    assert subjects(users["support_agent"]) == []


def test_a_canary_without_an_audience_beyond_the_pilots(make_offer, users, groups, manager):
    make_offer("BETA", pilot_ids=[groups["Finance"]], canary=True)
    assert visible_codes(users["consumer"]) == ["BETA"]
    assert visible_codes(users["other_consumer"]) == []


def test_widening_a_canary_for_everyone_shows_it_to_everyone_at_once(
    make_offer, users, groups, manager, make_user
):
    """The pilot rows must not outlive the canary: the audience "everyone" is no rows at all."""
    offer = make_offer("BETA", pilot_ids=[groups["Finance"]])
    pilot, outsider = users["consumer"], users["other_consumer"]
    nobody = make_user("consumer")  # in no group at all
    assert catalog.audience_of("BETA") == ([], [accounts.find_group_by_name("Finance")])
    assert not can_open(outsider, offer) and not can_open(nobody, offer)

    catalog.widen_audience(manager, "BETA")
    assert catalog.audience_of("BETA") == ([], [])
    assert not catalog.settings_for("BETA").canary
    for consumer in (pilot, outsider, nobody):
        assert visible_codes(consumer) == ["BETA"]
        assert can_open(consumer, offer)
    # The rest of the audience (here everyone) is told; the pilots already knew.
    assert subjects(outsider) == ["Now available: VPN access"]
    assert subjects(nobody) == ["Now available: VPN access"]
    assert subjects(pilot) == ["New offer: VPN access"]


def test_leaving_canary_keeps_only_the_audience_groups(make_offer, users, groups, manager):
    """Pilot groups sent along with canary off (as the editor's form does) are not kept."""
    offer = make_offer("BETA", pilot_ids=[groups["Finance"]])
    catalog.set_audience(
        manager, "BETA", group_ids=[], pilot_group_ids=[groups["Finance"]], canary=False
    )
    assert catalog.audience_of("BETA") == ([], [])
    assert can_open(users["other_consumer"], offer)

    catalog.set_audience(
        manager,
        "BETA",
        group_ids=[groups["Engineering"]],
        pilot_group_ids=[groups["Finance"]],
        canary=False,
    )
    assert [g.name for g in catalog.audience_of("BETA")[0]] == ["Engineering"]
    assert can_open(users["other_consumer"], offer)
    assert not can_open(users["consumer"], offer)  # Finance was a pilot, not the audience


def test_widening_a_canary_to_named_groups(make_offer, users, groups, manager, make_user):
    sales = accounts.save_group(SYSTEM, name="Sales")
    seller, nobody = make_user("consumer", groups=("Sales",)), make_user("consumer")
    offer = make_offer(
        "BETA",
        group_ids=[groups["Engineering"], groups["Finance"], sales.id],
        pilot_ids=[groups["Finance"]],
    )
    audience, pilots = catalog.audience_of("BETA")
    assert [g.name for g in audience] == ["Engineering", "Finance", "Sales"]
    assert [g.name for g in pilots] == ["Finance"]
    assert [can_open(u, offer) for u in (users["consumer"], users["other_consumer"], seller)] == [
        True,
        False,
        False,
    ]

    catalog.widen_audience(manager, "BETA")
    assert [g.name for g in catalog.audience_of("BETA")[0]] == ["Engineering", "Finance", "Sales"]
    assert catalog.audience_of("BETA")[1] == []
    for consumer in (users["consumer"], users["other_consumer"], seller):
        assert can_open(consumer, offer)
    assert not can_open(nobody, offer)
    assert visible_codes(nobody) == []


def test_a_named_audience_must_reach_beyond_its_pilots(make_offer, groups, manager):
    """Else widening could not tell "these groups" from "everyone"."""
    make_offer("BETA", group_ids=[groups["Engineering"]])
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_audience(
            manager,
            "BETA",
            group_ids=[groups["Finance"], groups["Engineering"]],
            pilot_group_ids=[groups["Finance"], groups["Engineering"]],
            canary=True,
        )
    assert list(failure.value.fields) == ["canary"]
    db.session.rollback()
    assert [g.name for g in catalog.audience_of("BETA")[0]] == ["Engineering"]
    assert not catalog.settings_for("BETA").canary


def test_a_canary_needs_a_pilot_group(make_offer, groups, manager):
    make_offer("BETA", group_ids=[groups["Finance"]])
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_audience(manager, "BETA", group_ids=[groups["Finance"]], canary=True)
    assert list(failure.value.fields) == ["pilot_group_ids"]
    with pytest.raises(ValidationFailed) as failure:
        catalog.set_audience(manager, "BETA", group_ids=[987654])
    assert list(failure.value.fields) == ["group_ids"]
    db.session.commit()
    assert catalog.audience_of("BETA")[0][0].name == "Finance"
    assert not catalog.settings_for("BETA").canary


def test_a_retired_offer_points_its_audience_to_a_visible_replacement(
    make_offer, users, groups, manager
):
    old = make_offer("VPN")
    finance_only = make_offer("VPN-2", group_ids=[groups["Finance"]])
    catalog.transition_offer(
        manager, old.id, "retired", end_date=NOW + timedelta(days=30), replacement_code="VPN-2"
    )
    consumer, other = users["consumer"], users["other_consumer"]
    assert can_open(consumer, old) and can_open(other, old)
    assert catalog.replacement_for(consumer, old).id == finance_only.id
    assert catalog.replacement_for(other, old) is None
    assert catalog.replacement_for(manager, old).id == finance_only.id

    # Once the end date passes the old offer is still found by id, and still points on.
    clock.freeze(NOW + timedelta(days=31))
    assert catalog.offer_for_viewer(consumer, old.id).display_status() == "retired"
    assert catalog.replacement_for(consumer, old).id == finance_only.id
    assert visible_codes(consumer) == ["VPN-2"]
    assert visible_codes(other) == []


def test_a_replacement_that_is_itself_retired_is_not_offered(make_offer, users, manager):
    old = make_offer("VPN")
    new = make_offer("VPN-2")
    catalog.transition_offer(manager, old.id, "retired", replacement_code="VPN-2")
    assert catalog.replacement_for(users["consumer"], old).id == new.id
    catalog.transition_offer(manager, new.id, "retired")
    clock.freeze(NOW + timedelta(minutes=1))
    assert catalog.replacement_for(users["consumer"], old) is None


def test_the_replacement_follows_the_live_revision(make_offer, users, manager):
    old = make_offer("VPN")
    new = make_offer("VPN-2")
    catalog.transition_offer(manager, old.id, "retired", replacement_code="VPN-2")
    revision = catalog.create_revision(manager, new.id)
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, revision.id, status)
    assert catalog.replacement_for(users["consumer"], old).id == revision.id


def test_scheduled_offers_become_visible_by_themselves(make_offer, users):
    offer = make_offer("SOON", valid_from=NOW + timedelta(days=2), valid_to=NOW + timedelta(days=9))
    consumer = users["consumer"]
    assert offer.display_status() == "scheduled"
    assert not offer.is_orderable()
    assert visible_codes(consumer) == []
    assert not can_open(consumer, offer)

    clock.freeze(NOW + timedelta(days=2))  # the very moment it starts
    assert offer.display_status() == "published"
    assert offer.is_orderable()
    assert visible_codes(consumer) == ["SOON"]
    assert can_open(consumer, offer)

    clock.freeze(NOW + timedelta(days=9))  # valid_to is exclusive
    assert offer.display_status() == "expired"
    assert not offer.is_orderable()
    assert visible_codes(consumer) == []
    assert visible_codes(users["catalog_manager"]) == []
