"""Who is asked to approve a step: the listed approvers resolved to people (the beneficiary's
group managers, an approver group's members, a named user), never the requester or the
beneficiary (an approver never approves their own order: the step goes to the next listed
approver, then to its fallback, then to the catalog managers), and whom a person may stand in
for today (their delegators)."""

from __future__ import annotations

import sqlalchemy as sa

from ...accounts import services as accounts
from ...accounts.models import ConsumerGroup, Role, User, UserRole
from ...accounts.services.groups import managers_of
from ...extensions import db
from ...i18n import _
from ..models import ApprovalStep, Order
from . import delegations


def _group_managers(group: ConsumerGroup | None) -> list[User]:
    return list(managers_of(group)) if group is not None else []


def people(entry: dict, group: ConsumerGroup | None) -> list[User]:
    """The active people one listed approver stands for."""
    kind = entry.get("kind")
    if kind == "group_managers":
        found = _group_managers(group)
    elif kind == "approver_group":
        named = accounts.find_group_by_name(entry.get("group") or "")
        found = list(named.members) if named is not None else []
    elif kind == "user":
        user = accounts.find_user_by_email(entry.get("email") or "")
        found = [user] if user is not None else []
    else:
        found = []
    return sorted((user for user in found if user.active), key=lambda user: user.name)


def excluded(order: Order) -> set[int]:
    """Who may never decide this order: its requester and its beneficiary."""
    return {
        user_id
        for user_id in (order.requested_by_id, order.subscription.owner_id)
        if user_id is not None
    }


def _ids(users: list[User], skip: set[int]) -> list[int]:
    return [user.id for user in users if user.id not in skip]


def first_asked(step: ApprovalStep, order: Order) -> tuple[list[int], int, str]:
    """(who is asked, how many listed approvers that reached, a note on the routing). A step
    that needs one approval asks the first listed approver that has someone other than the
    requester; one that needs all asks every listed approver."""
    group, skip = order.subscription.group, excluded(order)
    entries = step.approvers or []
    if step.mode == "all":
        asked = list(
            dict.fromkeys(i for entry in entries for i in _ids(people(entry, group), skip))
        )
        reached = len(entries)
    else:
        asked, reached = [], 0
        for entry in entries:
            reached += 1
            asked = _ids(people(entry, group), skip)
            if asked:
                break
    note = ""
    if not asked and step.fallback:
        asked = _ids(people(step.fallback, group), skip)
        note = _("No listed approver other than the requester: the step's fallback is asked.")
    if not asked:
        asked = _ids(_catalog_managers(), skip)
        note = _("No listed approver other than the requester: the catalog managers are asked.")
    elif reached > 1 and step.mode == "one" and not note:
        note = _("The first listed approver cannot approve this order: the next one is asked.")
    return asked, reached, note


def escalated(step: ApprovalStep, order: Order) -> list[int]:
    """Who is asked once the step escalates: the next listed approver (past the ones reached)
    with someone new, else the fallback; [] if there is no one further."""
    group, skip = order.subscription.group, excluded(order) | set(step.asked or [])
    entries = step.approvers or []
    while step.reached < len(entries):
        step.reached += 1
        more = _ids(people(entries[step.reached - 1], group), skip)
        if more:
            return more
    if step.fallback:
        return _ids(people(step.fallback, group), skip)
    return []


def _catalog_managers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.CATALOG_MANAGER.value, User.active.is_(True))
            .order_by(User.name)
        )
    )


def standing_for(
    user: User, step: ApprovalStep, order: Order, delegators: set[int] | None = None
) -> int | None:
    """The asked approver `user` decides for: themselves, or (today) a delegator of theirs
    (`delegators`, when the caller has read them already); None when the step is not theirs to
    decide, or the order is their own."""
    if getattr(user, "id", None) is None or user.id in excluded(order):
        return None
    asked = step.asked or []
    if user.id in asked:
        return user.id
    decided = {decision.for_user_id for decision in step.decisions}
    if delegators is None:
        delegators = delegations.delegators_of(user)
    for delegator in sorted(delegators):
        if delegator in asked and delegator not in decided:
            return delegator
    return None


def asked_people(step: ApprovalStep) -> list[dict]:
    """The people asked, each with today's delegates (for "who can approve it now")."""
    ids = list(step.asked or [])
    users = {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    delegates = delegations.delegates_for(ids)
    decided = {decision.for_user_id for decision in step.decisions}
    return [
        {"user": users[i], "delegates": delegates.get(i, []), "decided": i in decided}
        for i in ids
        if i in users
    ]


def recipients(user_ids: list[int]) -> list[User]:
    """The people to tell: the asked and their delegates of today."""
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(user_ids or [-1]))))
    for delegates in delegations.delegates_for(list(user_ids)).values():
        users.extend(delegates)
    return users


def takes_part(user: User, subscription_id: int) -> bool:
    """Whether `user` is (or was) asked to approve an order of the subscription, decided one, or
    stands in today for someone asked: approvers see the subscription they decide on."""
    if getattr(user, "id", None) is None:
        return False
    steps = db.session.scalars(
        sa.select(ApprovalStep)
        .join(Order, Order.id == ApprovalStep.order_id)
        .where(Order.subscription_id == subscription_id)
    ).all()
    if not steps:
        return False
    stands_for = delegations.delegators_of(user) | {user.id}
    return any(
        stands_for & set(step.asked or [])
        or any(decision.decided_by_id == user.id for decision in step.decisions)
        for step in steps
    )
