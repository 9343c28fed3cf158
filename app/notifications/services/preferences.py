"""Notification preferences: per user and kind, a channel (in-app, e-mail, both, a daily
digest, none); an admin sets the default of each kind for those who have not chosen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ... import clock
from ...accounts.models import Role, User
from ...audit import services as audit
from ...errors import NotAllowed, ValidationFailed
from ...extensions import db
from ...i18n import _, _l
from ..models import Channel, NotificationDefault, NotificationKind, NotificationPreference

KINDS = [kind.value for kind in NotificationKind]
CHANNELS = [channel.value for channel in Channel]
KIND_LABELS = {
    NotificationKind.ORDER_UPDATES.value: _l("Order updates"),
    NotificationKind.APPROVALS.value: _l("Approvals"),
    NotificationKind.SUPPORT_REPLIES.value: _l("Support requests and replies"),
    NotificationKind.SERVICE_NOTICES.value: _l("Service notices"),
    NotificationKind.RELEASE_ANNOUNCEMENTS.value: _l("New and changed offers"),
}
KIND_HINTS = {
    NotificationKind.ORDER_UPDATES.value: _l(
        "Your orders and their delivery; tasks for your team."
    ),
    NotificationKind.APPROVALS.value: _l("Orders waiting for your approval, and the decisions."),
    NotificationKind.SUPPORT_REPLIES.value: _l("Answers and changes on support requests."),
    NotificationKind.SERVICE_NOTICES.value: _l(
        "Outages, maintenance and quota warnings. Critical notices always reach you in the "
        "portal and by e-mail at once."
    ),
    NotificationKind.RELEASE_ANNOUNCEMENTS.value: _l(
        "Offers published, changed, repriced or retired."
    ),
}
CHANNEL_LABELS = {
    Channel.IN_APP.value: _l("In the portal"),
    Channel.EMAIL.value: _l("By e-mail"),
    Channel.BOTH.value: _l("In the portal and by e-mail"),
    Channel.DIGEST.value: _l("One e-mail a day (digest)"),
    Channel.NONE.value: _l("Not at all"),
}
BUILT_IN_DEFAULT = Channel.BOTH.value  # what every kind does until an admin chooses


def defaults() -> dict[str, str]:
    """The default channel of every kind."""
    chosen = dict(
        db.session.execute(sa.select(NotificationDefault.kind, NotificationDefault.channel)).all()
    )
    return {kind: chosen.get(kind, BUILT_IN_DEFAULT) for kind in KINDS}


def preferences_of(user: User) -> dict[str, dict[str, Any]]:
    """Per kind: the channel in force, and whether it is the user's own choice."""
    own = dict(
        db.session.execute(
            sa.select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    fallback = defaults()
    return {kind: {"channel": own.get(kind, fallback[kind]), "own": kind in own} for kind in KINDS}


def channels_for(user_ids: Iterable[int], kind: str) -> dict[str, str]:
    """The channel in force for each user for one kind (keys: user ids), in two queries."""
    ids = sorted(set(user_ids))
    own = (
        dict(
            db.session.execute(
                sa.select(NotificationPreference.user_id, NotificationPreference.channel).where(
                    NotificationPreference.kind == kind, NotificationPreference.user_id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    fallback = defaults()[kind]
    return {user_id: own.get(user_id, fallback) for user_id in ids}


def _checked(choices: Any) -> dict[str, str]:
    """The kinds and channels of a submitted form or API body; every bad one named."""
    if not isinstance(choices, dict):
        raise ValidationFailed(
            _("Choose a channel per kind."), fields={"body": [_("Send an object.")]}
        )
    errors: dict[str, list[str]] = {}
    checked = {}
    for kind, channel in choices.items():
        if kind not in KINDS:
            errors[str(kind)[:60]] = [_("Not a kind of notification.")]
        elif channel not in CHANNELS:
            errors[kind] = [_("Choose one of: %(channels)s.", channels=", ".join(CHANNELS))]
        else:
            checked[kind] = channel
    if errors:
        raise ValidationFailed(_("The preferences could not be saved."), fields=errors)
    return checked


def save_preferences(actor: User, choices: Any) -> dict[str, dict[str, Any]]:
    """Set the actor's own channel for the kinds given; the others keep theirs."""
    checked = _checked(choices)
    now = clock.now()
    for kind, channel in checked.items():
        row = db.session.get(NotificationPreference, (actor.id, kind))
        if row is None:
            db.session.add(
                NotificationPreference(user_id=actor.id, kind=kind, channel=channel, updated_at=now)
            )
        elif row.channel != channel:
            row.channel, row.updated_at = channel, now
    db.session.flush()
    return preferences_of(actor)


def require_admin(actor: User | None, message: str | None = None) -> None:
    """No actor (or one without the admin role) is not allowed."""
    if actor is None or not actor.has_role(Role.ADMIN):
        raise NotAllowed(
            message or _("Only an administrator sets the default notification channels.")
        )


def save_defaults(actor: User, choices: Any) -> dict[str, str]:
    """An admin sets the default channel of the kinds given (audited)."""
    require_admin(actor)
    checked = _checked(choices)
    before = defaults()
    now = clock.now()
    for kind, channel in checked.items():
        row = db.session.get(NotificationDefault, kind)
        if row is None:
            db.session.add(NotificationDefault(kind=kind, channel=channel, updated_at=now))
        else:
            row.channel, row.updated_at = channel, now
    db.session.flush()
    changed = {kind: [before[kind], ch] for kind, ch in checked.items() if before[kind] != ch}
    if changed:
        audit.record(
            actor,
            "notification_defaults",
            "all",
            "changed",
            changes=changed,
            summary=", ".join(f"{kind}: {a} → {b}" for kind, (a, b) in changed.items()),
        )
    return defaults()
