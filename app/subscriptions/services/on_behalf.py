"""Ordering on behalf of someone: a group's managers, and members an admin gave the
orders_for_others grant for the group, order for the group's other members. The beneficiary
owns the subscription (sees it, uses it, changes it, and approvals and quotas apply to the
beneficiary's group); `requested_by` keeps who ordered. Both are told.

Who may order for whom is decided here, before anything is written: a person outside the
actor's groups is not found (404), one in a shared group the actor may not order for is not
allowed (403). Several beneficiaries at once (up to MAX_BENEFICIARIES) get one subscription
each, all or none, with idempotency keys derived per beneficiary (`key`, `key#2`, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...accounts.models import ConsumerGroup, Role, User
from ...accounts.services import find_user_by_email
from ...accounts.services import groups as group_rules
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import get_by_id
from ...i18n import _, _l
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ..models import Subscription

MAX_BENEFICIARIES = 20


def beneficiary_choices(actor: User) -> list[tuple[ConsumerGroup, list[User]]]:
    """The groups `actor` may order for, each with its other members who may hold a
    subscription (active consumers), by name: the "Order for" field's choices."""
    choices = []
    for group in group_rules.groups_ordered_for(actor):
        others = [
            member
            for member in sorted(group.members, key=lambda user: (user.name, user.id))
            if member.id != actor.id and member.active and member.has_role(Role.CONSUMER)
        ]
        if others:
            choices.append((group, others))
    return choices


def find_beneficiary(actor: User, person: User | str | int) -> User:
    """The person `actor` orders for, given as a user, an e-mail address or an id. NotFound
    for someone who shares none of the actor's groups (or does not exist), NotAllowed for a
    colleague in groups the actor may not order for."""
    user = _person(person)
    if user is not None and user.id == actor.id:
        return user
    shared = [] if user is None else [g for g in user.groups if g.id in actor.group_ids]
    if not shared:
        raise NotFound(
            _("No such person in your groups."),
            fields={"requested_for": [_("No such person in your groups.")]},
        )
    if not any(group_rules.may_order_for_others(actor, group) for group in shared):
        raise NotAllowed(
            _(
                "You may not order for %(name)s: only the group's managers and people an "
                "admin allowed to order for others may.",
                name=user.name,
            )
        )
    if not user.active or not user.has_role(Role.CONSUMER):
        raise ValidationFailed(
            _("%(name)s cannot hold subscriptions.", name=user.name),
            fields={"requested_for": [_("Choose a colleague who is a consumer.")]},
        )
    return user


def _person(person: User | str | int) -> User | None:
    if isinstance(person, User):
        return person
    if isinstance(person, int):
        return get_by_id(User, person)
    if isinstance(person, str) and person.strip():
        return find_user_by_email(person)
    return None


def order_group(actor: User, beneficiary: User, group_id: Any) -> ConsumerGroup | None:
    """The group an order for `beneficiary` is placed in: the one chosen (`group_id`), which
    both share and the actor may order for, else the first such group by name. None when the
    actor orders for themselves (the usual group choice applies)."""
    if beneficiary.id == actor.id:
        return None
    allowed = [
        group
        for group in sorted(beneficiary.groups, key=lambda g: g.name)
        if group_rules.may_order_for_others(actor, group)
    ]
    if group_id in (None, ""):
        if not allowed:
            raise NotAllowed(_("You may not order for %(name)s.", name=beneficiary.name))
        return allowed[0]
    chosen = next((group for group in allowed if str(group.id) == str(group_id).strip()), None)
    if chosen is None:
        raise ValidationFailed(
            _("Choose a group you may order for %(name)s in.", name=beneficiary.name),
            fields={
                "group_id": [
                    _("Choose a group you may order for %(name)s in.", name=beneficiary.name)
                ]
            },
        )
    return chosen


def derived_key(key: str, position: int) -> str:
    """The idempotency key of the n-th beneficiary's order (1: the key itself)."""
    return key if position == 1 else f"{key[:96]}#{position}"


def beneficiaries_from(actor: User, people: Iterable[User | str | int]) -> list[User]:
    """The distinct beneficiaries, checked, in the order given; at most MAX_BENEFICIARIES."""
    found: list[User] = []
    for person in people:
        user = find_beneficiary(actor, person)
        if all(user.id != other.id for other in found):
            found.append(user)
    if not found:
        raise ValidationFailed(
            _("Choose whom to order for."),
            fields={"requested_for": [_("Choose at least one person.")]},
        )
    if len(found) > MAX_BENEFICIARIES:
        raise ValidationFailed(
            _("Order for at most %(count)d people at once.", count=MAX_BENEFICIARIES),
            fields={
                "requested_for": [_("Choose at most %(count)d people.", count=MAX_BENEFICIARIES)]
            },
        )
    return found


def tell_both(actor: User, subscription: Subscription) -> None:
    """An order placed for someone else: the beneficiary and the one who ordered are told."""
    owner = subscription.owner
    if owner is None or owner.id == actor.id:
        return
    link = f"/subscriptions/{subscription.id}"
    name = subscription.offer.name
    notify(
        [owner],
        _l("%(actor)s ordered %(name)s for you", actor=actor.name, name=name),
        _l(
            "%(actor)s ordered %(name)s for you in %(group)s. It is yours: follow it, use it "
            "and ask for support from its page.",
            actor=actor.name,
            name=name,
            group=subscription.group.name,
        ),
        link,
        kind=NotificationKind.ORDER_UPDATES,
    )
    notify(
        [actor],
        _l("You ordered %(name)s for %(owner)s", name=name, owner=owner.name),
        _l(
            "%(owner)s owns the subscription and was told; you follow it on My groups.",
            owner=owner.name,
        ),
        link,
        kind=NotificationKind.ORDER_UPDATES,
    )
