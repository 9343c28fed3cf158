"""Sign-in through the OpenID provider: who a set of verified claims is in Offerdesk.

Users are found by (issuer, subject). On the first sign-in of a subject, a local account with the
same e-mail is linked only when the provider says the e-mail is verified; otherwise a user is
created just in time. Every sign-in copies name, e-mail, roles and groups from the claims: the
provider is the source of truth for the roles and groups it grants (links with local=False), while
what an admin granted in Offerdesk (local=True) stays."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ... import clock
from ...audit import services as audit
from ...extensions import db
from ...i18n import _l
from ..models import (
    PROVIDER_ONLY_HASH,
    SYSTEM,
    ConsumerGroup,
    Role,
    User,
    UserIdentity,
    UserRole,
    group_members,
)
from . import (
    EMAIL_RE,
    _user_snapshot,
    find_group_by_name,
    find_user_by_email,
    normalise_email,
    openid,
    require_role,
)
from .openid import REFUSED, SignInRefused

log = logging.getLogger(__name__)

DEACTIVATED = _l(
    "Your Offerdesk account is deactivated. Ask an administrator to activate it again."
)
UNVERIFIED_CLASH = _l(
    "An Offerdesk account with your e-mail address already exists, and your identity provider "
    "has not verified that the address is yours, so the two cannot be joined. Ask an "
    "administrator."
)
NO_EMAIL = _l("Your identity provider did not tell Offerdesk your e-mail address.")


def complete(pending: dict | None, answer: dict, redirect_uri: str) -> tuple[User, str]:
    """The provider's answer at the callback → the signed-in user and the ID token. Refusals
    (SignInRefused) are logged here and leave nothing behind."""
    try:
        claims, id_token = openid.finish(pending, answer, redirect_uri)
        return sign_in(claims, issuer=openid.settings().issuer), id_token
    except SignInRefused as refusal:
        log.warning("OpenID Connect sign-in refused: %s", refusal.reason)
        raise


def sign_in(claims: dict, *, issuer: str) -> User:
    """Two first sign-ins of one person at once (two tabs) both create them; the unique e-mail
    and (issuer, subject) let one commit, and the other, rolled back to its SAVEPOINT, signs in
    again and finds the user the first created."""
    try:
        with db.session.begin_nested():
            user, identity = _sign_in(claims, issuer)
    except sa.exc.IntegrityError:
        log.info("A concurrent sign-in of %s created the user first", claims.get("sub"))
        user, identity = _sign_in(claims, issuer)
    # Written after the SAVEPOINT is released: its release fires after_commit, which the unit of
    # work takes for the end of the transaction; this flush marks the request as having written.
    audit.record(user, "user", user.id, "logged_in", summary=f"OpenID Connect: {issuer}")
    identity.last_signed_in_at = clock.now()
    db.session.flush()
    return user


def _sign_in(claims: dict, issuer: str) -> tuple[User, UserIdentity]:
    subject = str(claims["sub"])
    identity = db.session.scalar(
        sa.select(UserIdentity).where(
            UserIdentity.issuer == issuer, UserIdentity.subject == subject
        )
    )
    user = identity.user if identity is not None else _link_or_create(claims, issuer, subject)
    if not user.active:
        raise SignInRefused(DEACTIVATED, f"{user.email} is deactivated", status=403)
    before = _user_snapshot(user)
    _apply_claims(user, claims)
    changes = audit.diff(before, _user_snapshot(user))
    if changes:
        audit.record(user, "user", user.id, "updated_from_provider", changes=changes)
    db.session.flush()
    return user, identity or _identity_of(user, issuer, subject)


def _identity_of(user: User, issuer: str, subject: str) -> UserIdentity:
    return db.session.scalar(
        sa.select(UserIdentity).where(
            UserIdentity.user_id == user.id,
            UserIdentity.issuer == issuer,
            UserIdentity.subject == subject,
        )
    )


def _claimed_email(claims: dict) -> str:
    email = normalise_email(claims.get("email") or "")
    return email if EMAIL_RE.match(email) and len(email) <= 254 else ""


def _link_or_create(claims: dict, issuer: str, subject: str) -> User:
    email = _claimed_email(claims)
    if not email:
        raise SignInRefused(NO_EMAIL, f"subject {subject!r} has no usable e-mail claim")
    user = find_user_by_email(email)
    if user is not None:
        if claims.get("email_verified") is not True:
            raise SignInRefused(
                UNVERIFIED_CLASH,
                f"subject {subject!r} claims {email}, an existing account, without email_verified",
                status=403,
            )
        action = "identity_linked"
    else:
        user = User(
            email=email,
            name=_claimed_name(claims, email),
            password_hash=f"{PROVIDER_ONLY_HASH}{secrets.token_hex(8)}",
            created_at=clock.now(),
        )
        db.session.add(user)
        db.session.flush()
        audit.record(
            SYSTEM,
            "user",
            user.id,
            "created",
            summary=f"just in time, at the first sign-in through {issuer}",
            changes=audit.diff({}, {"email": user.email, "name": user.name}),
        )
        action = "identity_added"
    db.session.add(
        UserIdentity(user_id=user.id, issuer=issuer, subject=subject, created_at=clock.now())
    )
    db.session.flush()
    audit.record(SYSTEM, "user", user.id, action, summary=f"{issuer} subject {subject}")
    return user


def _claimed_name(claims: dict, fallback: str) -> str:
    name = str(claims.get("name") or "").strip()
    return name[:120] if name else fallback.split("@")[0]


def _claim_values(claims: dict) -> list[str]:
    value = claims.get(current_app.config["OIDC_GROUPS_CLAIM"]) or []
    values = [value] if isinstance(value, str) else value
    return [str(item).strip() for item in values if str(item).strip()] if values else []


def _apply_claims(user: User, claims: dict) -> None:
    user.name = _claimed_name(claims, user.name)
    email = _claimed_email(claims)
    if email and email != user.email:
        other = find_user_by_email(email)
        if other is None:
            user.email = email
        else:
            log.warning("Kept %s: the provider's %s belongs to another user", user.email, email)
    values = _claim_values(claims)
    _apply_roles(user, mapped_roles(values))
    _apply_groups(user, [_group_named(name) for name in mapped_group_names(values)])


def mapped_roles(values: list[str]) -> set[str]:
    """The Offerdesk roles the claim values grant; consumer when they grant none."""
    known = {role.value for role in Role}
    roles = {
        role for value in values for role in current_app.config["OIDC_ROLE_MAP"].get(value, [])
    }
    for unknown in sorted(roles - known):
        log.warning("OIDC_ROLE_MAP names %r, which is no Offerdesk role", unknown)
    return (roles & known) or {Role.CONSUMER.value}


def mapped_group_names(values: list[str]) -> set[str]:
    mapping = current_app.config["OIDC_GROUP_MAP"]
    if mapping == "*":
        return {value[:120] for value in values}
    return {name[:120] for value in values for name in mapping.get(value, [])}


def _apply_roles(user: User, granted: set[str]) -> None:
    kept = [link for link in user.roles if link.local or link.role in granted]
    held = {link.role for link in kept}
    user.roles = kept + [UserRole(role=role, local=False) for role in sorted(granted - held)]
    if Role.SUPPORT_AGENT.value in user.role_names and user.support_tier is None:
        user.support_tier = 1  # the help desk, until an admin says otherwise


def _group_named(name: str) -> ConsumerGroup:
    """The group of that name, created on first sight (two sign-ins racing to create it: the
    loser's SAVEPOINT rolls back and it reads the winner's)."""
    group = find_group_by_name(name)
    if group is not None:
        return group
    try:
        with db.session.begin_nested():
            group = ConsumerGroup(name=name, description="", created_at=clock.now())
            db.session.add(group)
    except sa.exc.IntegrityError:
        return find_group_by_name(name)
    audit.record(
        SYSTEM, "group", group.id, "created", summary="on first sight in the provider's claims"
    )
    return group


def _apply_groups(user: User, granted: list[ConsumerGroup]) -> None:
    """Memberships are rows of group_members; the provider's carry local=False."""
    granted_ids = {group.id for group in granted}
    rows = db.session.execute(
        sa.select(group_members.c.group_id, group_members.c.local).where(
            group_members.c.user_id == user.id
        )
    ).all()
    held = {row.group_id for row in rows}
    dropped = {row.group_id for row in rows if not row.local and row.group_id not in granted_ids}
    if dropped:
        db.session.execute(
            group_members.delete().where(
                group_members.c.user_id == user.id, group_members.c.group_id.in_(dropped)
            )
        )
    added = granted_ids - held
    if added:
        db.session.execute(
            group_members.insert(),
            [{"group_id": gid, "user_id": user.id, "local": False} for gid in sorted(added)],
        )
    if dropped or added:
        db.session.expire(user, ["groups"])


def signed_out(user: User, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Record the sign-out; where the browser goes to end the provider's session, if anywhere."""
    target = openid.end_session_url(id_token, post_logout_redirect_uri) if id_token else None
    if target and user is not None and getattr(user, "id", None):
        audit.record(user, "user", user.id, "logged_out", summary="and from the identity provider")
        db.session.flush()
    return target


__all__ = ["REFUSED", "SignInRefused", "complete", "sign_in", "signed_out"]


@dataclass(frozen=True)
class ProviderGrants:
    """What a user's sign-ins through the provider hold: their identities there, and the roles
    and groups the claims granted (which the next sign-in sets again, whatever an admin does)."""

    identities: list[UserIdentity]
    roles: list[str]
    groups: list[str]


def provider_grants(actor: User, user: User) -> ProviderGrants:
    require_role(actor, Role.ADMIN)
    identities = db.session.scalars(
        sa.select(UserIdentity)
        .where(UserIdentity.user_id == user.id)
        .order_by(UserIdentity.created_at, UserIdentity.id)
    ).all()
    groups = db.session.scalars(
        sa.select(ConsumerGroup.name)
        .join(group_members, group_members.c.group_id == ConsumerGroup.id)
        .where(group_members.c.user_id == user.id, group_members.c.local.is_(False))
        .order_by(ConsumerGroup.name)
    ).all()
    roles = sorted(link.role for link in user.roles if not link.local)
    return ProviderGrants(identities=list(identities), roles=roles, groups=list(groups))
