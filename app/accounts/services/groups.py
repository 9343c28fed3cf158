"""Group managers: the members who manage a consumer group. A manager sees the group's
subscriptions and requests, may order for its members, and is the approver of steps that name
"the requester's group managers". Only an admin chooses them; a manager is always a member."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ...audit import services as audit
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import ConsumerGroup, Role, User, group_managers
from . import get_group, normalise_email, require_role


def managers_of(group: ConsumerGroup) -> list[User]:
    """The group's managers, by name."""
    return sorted(group.managers, key=lambda user: (user.name, user.id))


def is_group_manager(user: User | None, group: ConsumerGroup | int) -> bool:
    """Whether `user` manages the group (a group or its id). The system actor manages none."""
    if user is None or getattr(user, "is_system", False) or user.id is None:
        return False
    group_id = group if isinstance(group, int) else group.id
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(group_managers)
            .where(group_managers.c.group_id == group_id, group_managers.c.user_id == user.id)
        )
        > 0
    )


def managed_groups(user: User | None) -> list[ConsumerGroup]:
    """The groups `user` manages, by name (none for no one and for the system actor)."""
    if user is None or getattr(user, "is_system", False) or user.id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(ConsumerGroup)
            .join(group_managers, group_managers.c.group_id == ConsumerGroup.id)
            .where(group_managers.c.user_id == user.id)
            .order_by(ConsumerGroup.name)
        )
    )


def managed_group_ids(user: User | None) -> set[int]:
    return {group.id for group in managed_groups(user)}


def set_managers(actor: User | None, group: ConsumerGroup, users: Iterable[User]) -> ConsumerGroup:
    """Make exactly `users` the group's managers (admins only, audited). Everyone named must be
    a member of the group: a non-member is refused by name and nothing changes."""
    require_role(actor, Role.ADMIN)
    chosen = {user.id: user for user in users}
    member_ids = {member.id for member in group.members}
    outsiders = sorted(
        (user for user in chosen.values() if user.id not in member_ids), key=lambda u: u.email
    )
    if outsiders:
        names = ", ".join(user.email for user in outsiders)
        raise ValidationFailed(
            _("A manager must be a member of the group."),
            fields={
                "managers": [
                    _(
                        "Not a member of %(group)s: %(people)s. Add them as members first.",
                        people=names,
                        group=group.name,
                    )
                ]
            },
        )
    before = sorted(user.email for user in group.managers)
    group.managers = sorted(chosen.values(), key=lambda user: (user.name, user.id))
    after = sorted(user.email for user in group.managers)
    if before != after:
        audit.record(
            actor,
            "group",
            group.id,
            "managers_changed",
            changes=audit.diff({"managers": before}, {"managers": after}),
        )
    db.session.flush()
    return group


def set_managers_by_ids(
    actor: User | None, group_id: int, user_ids: Iterable[int]
) -> ConsumerGroup:
    """set_managers with users chosen by id (the admin page)."""
    require_role(actor, Role.ADMIN)
    group = get_group(group_id)
    ids = set(user_ids)
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
    if len(users) != len(ids):
        raise ValidationFailed(
            _("Unknown user."), fields={"managers": [_("Choose existing users.")]}
        )
    return set_managers(actor, group, users)


def set_managers_by_email(
    actor: User | None, group_id: int, emails: Iterable[str]
) -> ConsumerGroup:
    """set_managers with users named by e-mail (the API); an unknown address is named."""
    require_role(actor, Role.ADMIN)
    group = get_group(group_id)
    wanted = {normalise_email(email) for email in emails}
    users = (
        list(db.session.scalars(sa.select(User).where(sa.func.lower(User.email).in_(wanted))))
        if wanted
        else []
    )
    unknown = sorted(wanted - {user.email.lower() for user in users})
    if unknown:
        raise ValidationFailed(
            _("Unknown user."),
            fields={"managers": [_("No user has the e-mail %(email)s.", email=", ".join(unknown))]},
        )
    return set_managers(actor, group, users)


def drop_managers_who_left(group: ConsumerGroup) -> list[str]:
    """After a change of members: managers who are no longer members stop managing the group.
    Returns their e-mail addresses (for the caller's audit event)."""
    member_ids = {member.id for member in group.members}
    gone = [user for user in group.managers if user.id not in member_ids]
    if gone:
        group.managers = [user for user in group.managers if user.id in member_ids]
    return sorted(user.email for user in gone)


def visible_groups(actor: User | None) -> list[ConsumerGroup]:
    """The groups `actor` may look at: all of them for an admin, else the actor's own."""
    _require_actor(actor)
    if actor.has_role(Role.ADMIN):
        return list(db.session.scalars(sa.select(ConsumerGroup).order_by(ConsumerGroup.name)))
    return sorted(actor.groups, key=lambda group: group.name)


def group_for(actor: User | None, group_id: int) -> ConsumerGroup:
    """One group, for an admin or one of its members; anyone else is told there is none."""
    _require_actor(actor)
    group = get_by_id(ConsumerGroup, group_id)
    if group is None or not (actor.has_role(Role.ADMIN) or group.id in actor.group_ids):
        raise NotFound(_("No such group."))
    return group


def _require_actor(actor: User | None) -> None:
    if actor is None or not actor.is_active:
        raise NotAllowed(_("You do not have permission to do that."))
