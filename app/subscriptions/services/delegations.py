"""Delegation of approvals: an approver hands their approvals to another user for a date range
(out of office). The delegate decides "on behalf of" the approver. No cascading: what was
delegated to someone is not passed on by that person's own delegation."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from ... import clock
from ...accounts import services as accounts
from ...accounts.models import User
from ...audit import services as audit
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import ApprovalDelegation


def today() -> date:
    return clock.now().date()


def _day(errors: dict, field: str, value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors.setdefault(field, []).append(_("Give a date as YYYY-MM-DD."))
        return None


def delegate(actor: User, *, to: Any, starts_on: Any, ends_on: Any) -> ApprovalDelegation:
    """Hand the actor's approvals to the user with e-mail `to` from `starts_on` to `ends_on`
    (both days included)."""
    if actor is None or getattr(actor, "id", None) is None:
        raise NotAllowed(_("Sign in to delegate your approvals."))
    errors: dict[str, list[str]] = {}
    email = str(to or "").strip().lower()
    delegate_user = accounts.find_user_by_email(email) if email else None
    if delegate_user is None or not delegate_user.active:
        errors.setdefault("to", []).append(_("No active user has this e-mail."))
    elif delegate_user.id == actor.id:
        errors.setdefault("to", []).append(_("Choose someone other than yourself."))
    start, end = _day(errors, "starts_on", starts_on), _day(errors, "ends_on", ends_on)
    if start and end and end < start:
        errors.setdefault("ends_on", []).append(_("The last day is on or after the first."))
    if end and end < today():
        errors.setdefault("ends_on", []).append(_("The last day cannot be in the past."))
    if errors:
        raise ValidationFailed(_("The delegation was not saved."), fields=errors)
    delegation = ApprovalDelegation(
        delegator_id=actor.id,
        delegate_id=delegate_user.id,
        starts_on=start,
        ends_on=end,
        created_at=clock.now(),
    )
    db.session.add(delegation)
    db.session.flush()
    audit.record(
        actor,
        "approval_delegation",
        delegation.id,
        "delegated",
        summary=f"to {delegate_user.email} {start.isoformat()}..{end.isoformat()}",
    )
    return delegation


def revoke(actor: User, delegation_id: Any) -> ApprovalDelegation:
    delegation = get_by_id(ApprovalDelegation, delegation_id)
    if delegation is None or delegation.delegator_id != getattr(actor, "id", None):
        raise NotFound(_("No such delegation of yours."))
    if delegation.revoked_at is None:
        delegation.revoked_at = clock.now()
        db.session.flush()
        audit.record(
            actor,
            "approval_delegation",
            delegation.id,
            "revoked",
            summary=f"to {delegation.delegate.email}",
        )
    return delegation


def delegations_of(user: User) -> list[ApprovalDelegation]:
    """What the user delegated, and what was delegated to them, newest first."""
    return list(
        db.session.scalars(
            sa.select(ApprovalDelegation)
            .where(
                sa.or_(
                    ApprovalDelegation.delegator_id == user.id,
                    ApprovalDelegation.delegate_id == user.id,
                )
            )
            .order_by(ApprovalDelegation.starts_on.desc(), ApprovalDelegation.id.desc())
        )
    )


def _active(on: date | None = None):
    on = on or today()
    return (
        ApprovalDelegation.revoked_at.is_(None),
        ApprovalDelegation.starts_on <= on,
        ApprovalDelegation.ends_on >= on,
    )


def delegators_of(user: User, on: date | None = None) -> set[int]:
    """Who delegated their approvals to `user` today (directly: never passed on)."""
    if getattr(user, "id", None) is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(ApprovalDelegation.delegator_id).where(
                ApprovalDelegation.delegate_id == user.id, *_active(on)
            )
        )
    )


def delegates_for(user_ids: list[int], on: date | None = None) -> dict[int, list[User]]:
    """Today's delegates of each approver."""
    found: dict[int, list[User]] = {}
    if user_ids:
        for delegation in db.session.scalars(
            sa.select(ApprovalDelegation).where(
                ApprovalDelegation.delegator_id.in_(user_ids), *_active(on)
            )
        ):
            found.setdefault(delegation.delegator_id, []).append(delegation.delegate)
    return found
