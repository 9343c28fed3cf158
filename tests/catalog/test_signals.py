"""The catalog's domain events: the services send them in their transaction, the listeners that
tell followers run in it too, and a listener that fails takes the whole change back with it."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog import signals
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.notifications.models import Notification


def subjects_for(user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def ready_offer(make_offer, users) -> ServiceOffer:
    offer = make_offer("VPN-ACCESS", publish=False)
    for status in ("planned", "ready"):
        offer = catalog.transition_offer(users["catalog_manager"], offer.id, status)
    db.session.commit()
    return offer


def test_publishing_sends_offer_published_once_with_the_offer(make_offer, users):
    offer = ready_offer(make_offer, users)
    published, changed = [], []

    def on_published(sender, **extra):
        published.append((sender.id, sender.status, extra))

    def on_changed(sender, **extra):
        changed.append(sender.id)

    with (
        signals.offer_published.connected_to(on_published),
        signals.offer_changed.connected_to(on_changed),
    ):
        catalog.transition_offer(users["catalog_manager"], offer.id, "published")

    assert published == [(offer.id, "published", {})]
    assert changed == []


def test_a_new_revision_sends_offer_changed_with_the_revision_it_superseded(make_offer, users):
    manager = users["catalog_manager"]
    first = make_offer("VPN-ACCESS")
    draft = catalog.create_revision(manager, first.id)
    for status in ("planned", "ready"):
        draft = catalog.transition_offer(manager, draft.id, status)
    changed = []

    def on_changed(sender, *, previous, **_):
        changed.append((sender.revision, previous.id, previous.status))

    with signals.offer_changed.connected_to(on_changed):
        catalog.transition_offer(manager, draft.id, "published")

    assert changed == [(2, first.id, "superseded")]
    assert subjects_for(users["consumer"])[-1] == "Changed: VPN access"


def test_followers_hear_of_publication_price_change_and_retirement(make_offer, users):
    manager, consumer = users["catalog_manager"], users["consumer"]
    offer = ready_offer(make_offer, users)
    assert subjects_for(consumer) == []

    catalog.transition_offer(manager, offer.id, "published")
    catalog.add_price_change(
        manager, "VPN-ACCESS", price="55.00", effective_from="2099-01-01T00:00"
    )
    catalog.transition_offer(manager, offer.id, "retired")

    assert subjects_for(consumer) == [
        "New offer: VPN access",
        "Price change: VPN access",
        "Retiring: VPN access",
    ]
    body = db.session.scalars(
        sa.select(Notification.body).where(
            Notification.user_id == consumer.id, Notification.subject.like("Price change%")
        )
    ).one()
    assert body == f"From 2099-01-01 the price of VPN access is {Decimal('55.00')} EUR."


def test_the_rest_of_the_audience_hears_when_a_canary_is_widened(make_offer, users):
    finance = users["consumer"].groups[0].id
    engineering = users["other_consumer"].groups[0].id
    make_offer("VPN-ACCESS", group_ids=[finance, engineering], pilot_ids=[finance], canary=True)
    pilot_heard = subjects_for(users["consumer"])
    assert subjects_for(users["other_consumer"]) == []
    heard = []

    def on_audience(sender, **extra):
        heard.append((sender, extra))

    with signals.audience_changed.connected_to(on_audience):
        catalog.widen_audience(users["catalog_manager"], "VPN-ACCESS")

    assert heard == [("VPN-ACCESS", {"canary_ended": True, "pilot_group_ids": [finance]})]
    assert subjects_for(users["other_consumer"]) == ["Now available: VPN access"]
    assert subjects_for(users["consumer"]) == pilot_heard  # the pilots were told already


def test_a_failing_listener_rolls_the_whole_request_back(client_as, make_offer, users):
    offer = ready_offer(make_offer, users)
    audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    def broken(sender, **_):
        raise RuntimeError("the listener broke")

    with signals.offer_published.connected_to(broken):
        response = client_as("catalog_manager").post(
            f"/catalog/manage/offers/{offer.id}/transition",
            data={"to": "published", "version": offer.version},
        )

    assert response.status_code == 500
    reread = db.session.get(ServiceOffer, offer.id)
    assert (reread.status, reread.published_at) == ("ready", None)
    assert subjects_for(users["consumer"]) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit_before
