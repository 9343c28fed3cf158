"""Accounts rules: users, roles, groups, log-in throttling and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ... import clock
from ...audit import services as audit
from ...errors import NotAllowed, NotFound, RateLimited, Unauthorized, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _, _l
from ...inputs import search_text, whole_number
from ..models import ApiToken, ConsumerGroup, LoginAttempt, Role, User, UserRole

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "odk_"


# --- helpers -----------------------------------------------------------------


def require_role(actor: User | None, *roles: Role | str, message: str | None = None) -> None:
    if actor is None or not actor.is_active or not actor.has_role(*roles):
        raise NotAllowed(message or _("You do not have permission to do that."))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(
        password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    )


def get_user(user_id: int) -> User:
    user = get_by_id(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _validate_user_fields(
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[str],
    tier: int | None,
    *,
    user_id: int | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = [_("Enter a valid e-mail address.")]
    else:
        clash = find_user_by_email(email)
        if clash is not None and clash.id != user_id:
            errors["email"] = [_("Another user already has this e-mail address.")]
    if not name.strip():
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 120:
        errors["name"] = [_("Keep the name to 120 characters.")]
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [
            _(
                "Use at least %(MIN_PASSWORD_LENGTH)s characters.",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            )
        ]
    unknown = set(roles) - {role.value for role in Role}
    if unknown:
        errors["roles"] = [_("Unknown role: %(names)s.", names=", ".join(sorted(unknown)))]
    if Role.SUPPORT_AGENT.value in roles and tier not in (1, 2, 3):
        errors["support_tier"] = [_("A support agent needs a tier: 1, 2 or 3.")]
    if tier is not None and tier not in (1, 2, 3):
        errors["support_tier"] = [_("The tier is 1, 2 or 3.")]
    return errors


def _groups_by_ids(group_ids: Iterable[int]) -> list[ConsumerGroup]:
    ids = set(group_ids)
    if not ids:
        return []
    groups = list(db.session.scalars(sa.select(ConsumerGroup).where(ConsumerGroup.id.in_(ids))))
    if len(groups) != len(ids):
        raise ValidationFailed(
            _("Unknown group."), fields={"groups": [_("Choose existing groups.")]}
        )
    return groups


def _user_snapshot(user: User) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "active": user.active,
        "roles": sorted(user.role_names),
        "groups": sorted(group.name for group in user.groups),
        "support_tier": user.support_tier,
    }


# --- users -------------------------------------------------------------------


def create_user(
    actor: User | None,
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[str] = (Role.CONSUMER,),
    group_ids: Iterable[int] = (),
    support_tier: int | None = None,
) -> User:
    """Create a user, as an admin or as the system (SYSTEM: the command line, the seed)."""
    require_role(actor, Role.ADMIN)
    email = normalise_email(email)
    roles = sorted({str(role) for role in roles})
    errors = _validate_user_fields(email, name, password, roles, support_tier, user_id=None)
    if errors:
        raise ValidationFailed(_("The user could not be saved."), fields=errors)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        support_tier=support_tier if Role.SUPPORT_AGENT.value in roles else None,
        created_at=clock.now(),
    )
    user.roles = [UserRole(role=role) for role in roles]
    user.groups = _groups_by_ids(group_ids)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user", user.id, "created", changes=audit.diff({}, _user_snapshot(user)))
    db.session.flush()
    return user


def update_user(
    actor: User | None,
    user_id: int,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    group_ids: Iterable[int],
    support_tier: int | None,
    password: str | None = None,
) -> User:
    require_role(actor, Role.ADMIN)
    user = get_user(user_id)
    email = normalise_email(email)
    roles = sorted({str(role) for role in roles})
    password = password or None
    errors = _validate_user_fields(email, name, password, roles, support_tier, user_id=user.id)
    if actor.id == user.id and Role.ADMIN.value not in roles:
        errors["roles"] = [_("You cannot remove your own admin role.")]
    if errors:
        raise ValidationFailed(_("The user could not be saved."), fields=errors)
    before = _user_snapshot(user)
    user.email = email
    user.name = name.strip()
    user.support_tier = support_tier if Role.SUPPORT_AGENT.value in roles else None
    current = {role.role: role for role in user.roles}
    user.roles = [current.get(role) or UserRole(role=role) for role in roles]
    user.groups = _groups_by_ids(group_ids)
    if password:
        user.password_hash = hash_password(password)
    changes = audit.diff(before, _user_snapshot(user))
    if password:
        changes["password"] = {"before": "***", "after": "***"}
    audit.record(actor, "user", user.id, "updated", changes=changes)
    db.session.flush()
    return user


def set_user_active(actor: User, user_id: int, active: bool) -> User:
    require_role(actor, Role.ADMIN)
    user = get_user(user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed(
            _("You cannot deactivate yourself."),
            fields={"active": [_("You cannot deactivate yourself.")]},
        )
    if user.active != active:
        audit.record(
            actor,
            "user",
            user.id,
            "activated" if active else "deactivated",
            changes=audit.diff({"active": user.active}, {"active": active}),
        )
        user.active = active
    db.session.flush()
    return user


def list_users(
    actor: User, *, search: str = "", role: str = "", group_id: int | None = None
) -> sa.Select:
    require_role(actor, Role.ADMIN)
    query = sa.select(User).order_by(User.name, User.id)
    search = search_text(search, 200)
    if search:  # literal text: % and _ match themselves
        query = query.where(
            sa.or_(
                User.email.icontains(search, autoescape=True),
                User.name.icontains(search, autoescape=True),
            )
        )
    if role:
        query = query.where(User.roles.any(UserRole.role == role))
    if group_id:
        query = query.where(User.groups.any(ConsumerGroup.id == group_id))
    return query


PROVIDER_PASSWORD = _l(
    "You sign in through your organisation's identity provider, so there is no Offerdesk "
    "password to change: change it at the provider."
)


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    if not user.has_password:
        raise ValidationFailed(
            _("Password not changed."), fields={"current_password": [PROVIDER_PASSWORD]}
        )
    if not check_password_hash(user.password_hash, current_password or ""):
        raise ValidationFailed(
            _("Password not changed."),
            fields={"current_password": [_("This is not your current password.")]},
        )
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("Password not changed."),
            fields={
                "new_password": [
                    _(
                        "Use at least %(MIN_PASSWORD_LENGTH)s characters.",
                        MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
                    )
                ]
            },
        )
    user.password_hash = hash_password(new_password)
    audit.record(user, "user", user.id, "password_changed")
    db.session.flush()


def set_language_and_timezone(user: User, locale: str | None, timezone: str | None) -> None:
    """The user's own language and time zone; empty means the browser's language, UTC."""
    from ...i18n import LANGUAGES, TIMEZONES

    locale, timezone = (locale or "").strip() or None, (timezone or "").strip() or None
    fields: dict[str, list[str]] = {}
    if locale is not None and locale not in LANGUAGES:
        fields["locale"] = [_("Choose one of the languages offered.")]
    if timezone is not None and timezone not in TIMEZONES:
        fields["timezone"] = [_("Choose a time zone from the list, e.g. Europe/Berlin.")]
    if fields:
        raise ValidationFailed(_("Preferences not saved."), fields=fields)
    changes = {
        name: {"before": old, "after": new}
        for name, old, new in (
            ("locale", user.locale, locale),
            ("timezone", user.timezone, timezone),
        )
        if old != new
    }
    user.locale, user.timezone = locale, timezone
    if changes:
        audit.record(user, "user", user.id, "preferences_changed", changes=changes)
    db.session.flush()


# --- log-in ------------------------------------------------------------------


def _recent_failures(column, value: str) -> int:
    window = timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    return (
        db.session.scalar(
            sa.select(sa.func.count(LoginAttempt.id)).where(
                column == value, LoginAttempt.attempted_at >= clock.now() - window
            )
        )
        or 0
    )


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash to check unknown e-mails against, so that they cost the same time as known ones
    and timing does not tell which addresses have accounts."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[method]


def _record_failure(email: str, address: str) -> None:
    now = clock.now()
    window = timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - window))
    db.session.add(LoginAttempt(email=email, address=address, attempted_at=now))


def authenticate(email: str, password: str, address: str) -> User:
    """Check credentials, refusing all attempts once an account or address has failed too often."""
    email = normalise_email(email)[:254]
    address = (address or "unknown")[:64]
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if (
        _recent_failures(LoginAttempt.email, email) >= limit
        or _recent_failures(LoginAttempt.address, address) >= limit
    ):
        minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
        raise RateLimited(
            _("Too many failed log-in attempts. Try again in %(minutes)s minutes.", minutes=minutes)
        )
    user = find_user_by_email(email)
    password_matches = check_password_hash(
        user.password_hash if user is not None else _dummy_hash(), password or ""
    )
    if user is None or not password_matches or not user.active:
        _record_failure(email, address)
        db.session.commit()  # the failure must outlive the 401's rollback
        raise Unauthorized(_("Invalid e-mail or password, or the account is deactivated."))
    if password_log_in_closed(user):
        raise Unauthorized(
            _(
                "Offerdesk signs you in through your identity provider: use the button on the "
                "log-in page. Password log-in is for administrators."
            )
        )
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == email))
    audit.record(user, "user", user.id, "logged_in")
    db.session.flush()
    return user


def password_log_in_closed(user: User) -> bool:
    """With OIDC_ONLY, only admins log in with a password (the way in when the provider fails)."""
    config = current_app.config
    return bool(
        config.get("OIDC_ONLY") and config.get("OIDC_ISSUER") and not user.has_role(Role.ADMIN)
    )


def load_user(user_id: str) -> User | None:
    """The signed-in user of a request, with the roles, groups and managed groups that every
    page's navigation and visibility rules read, in one statement instead of four."""
    number = whole_number(user_id)
    if number is None:
        return None
    user = (
        db.session.scalars(
            sa.select(User)
            .where(User.id == number)
            .options(
                joinedload(User.roles),
                joinedload(User.groups),
                joinedload(User.managed_groups),
            )
        )
        .unique()
        .first()
    )
    return user if user is not None and user.active else None


# --- groups ------------------------------------------------------------------


def list_groups() -> list[ConsumerGroup]:
    return list(db.session.scalars(sa.select(ConsumerGroup).order_by(ConsumerGroup.name)))


def get_group(group_id: int) -> ConsumerGroup:
    group = get_by_id(ConsumerGroup, group_id)
    if group is None:
        raise NotFound(_("No such group."))
    return group


def find_group_by_name(name: str) -> ConsumerGroup | None:
    return db.session.scalar(sa.select(ConsumerGroup).where(ConsumerGroup.name == name.strip()))


def save_group(
    actor: User | None,
    *,
    name: str,
    description: str = "",
    group_id: int | None = None,
) -> ConsumerGroup:
    require_role(actor, Role.ADMIN)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 120:
        errors["name"] = [_("Keep the name to 120 characters.")]
    else:
        clash = find_group_by_name(name)
        if clash is not None and clash.id != group_id:
            errors["name"] = [_("Another group already has this name.")]
    if errors:
        raise ValidationFailed(_("The group could not be saved."), fields=errors)
    if group_id is None:
        group = ConsumerGroup(name=name, description=description or "", created_at=clock.now())
        db.session.add(group)
        db.session.flush()
        audit.record(actor, "group", group.id, "created", changes=audit.diff({}, {"name": name}))
    else:
        group = get_group(group_id)
        before = {"name": group.name, "description": group.description}
        group.name, group.description = name, description or ""
        audit.record(
            actor,
            "group",
            group.id,
            "updated",
            changes=audit.diff(before, {"name": name, "description": group.description}),
        )
    db.session.flush()
    return group


MEMBER_CHOICES = 50


def member_choices(actor: User, group: ConsumerGroup, *, matching: str = "") -> list[User]:
    """The people the group page offers: its members, then at most MEMBER_CHOICES others whose
    name or e-mail holds `matching` (a directory of thousands is no list of checkboxes)."""
    members = sorted(group.members, key=lambda user: (user.name, user.id))
    others = list_users(actor, search=matching).where(User.id.not_in([user.id for user in members]))
    return members + list(db.session.scalars(others.limit(MEMBER_CHOICES)))


def set_group_members(actor: User, group_id: int, user_ids: Iterable[int]) -> ConsumerGroup:
    require_role(actor, Role.ADMIN)
    group = get_group(group_id)
    ids = set(user_ids)
    members = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
    if len(members) != len(ids):
        raise ValidationFailed(
            _("Unknown user."), fields={"members": [_("Choose existing users.")]}
        )
    from .groups import drop_managers_who_left

    before = sorted(user.email for user in group.members)
    group.members = members
    changes = audit.diff({"members": before}, {"members": sorted(u.email for u in members)})
    left = drop_managers_who_left(group)  # a manager who leaves the group stops managing it
    if left:
        changes["managers_removed"] = {"before": left, "after": []}
    audit.record(actor, "group", group.id, "members_changed", changes=changes)
    db.session.flush()
    return group


def delete_group(actor: User, group_id: int) -> None:
    require_role(actor, Role.ADMIN)
    group = get_group(group_id)
    if group.members:
        raise ValidationFailed(
            _("Remove the group's members before deleting it."),
            fields={"members": [_("The group still has members.")]},
        )
    audit.record(actor, "group", group.id, "deleted", changes=audit.diff({"name": group.name}, {}))
    db.session.delete(group)
    db.session.flush()


# --- API tokens --------------------------------------------------------------


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(actor: User | None, owner_id: int, label: str) -> tuple[ApiToken, str]:
    """Issue a token; the plaintext is returned once and only its hash is kept."""
    owner = get_user(owner_id)
    if actor is None or actor.id != owner.id:
        require_role(actor, Role.ADMIN, message=_("You may only create tokens for yourself."))
    label = (label or "").strip() or "API token"
    if len(label) > 120:
        raise ValidationFailed(
            _("The token could not be created."),
            fields={"label": [_("Keep the label to 120 characters.")]},
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=owner.id,
        label=label,
        prefix=plaintext[:12],
        token_hash=_digest(plaintext),
        created_at=clock.now(),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token", token.id, "created", summary=f"{label} for {owner.email}")
    db.session.flush()
    return token, plaintext


def list_tokens(actor: User, owner_id: int | None = None) -> list[ApiToken]:
    query = sa.select(ApiToken).order_by(ApiToken.created_at.desc())
    if owner_id is None or owner_id != actor.id:
        require_role(actor, Role.ADMIN)
    if owner_id is not None:
        query = query.where(ApiToken.user_id == owner_id)
    return list(db.session.scalars(query.options(joinedload(ApiToken.user))))


def revoke_token(actor: User, token_id: int) -> ApiToken:
    token = get_by_id(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and not actor.has_role(Role.ADMIN)):
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(actor, "api_token", token.id, "revoked", summary=token.label)
    db.session.flush()
    return token


TOKEN_USE_PRECISION = timedelta(minutes=1)  # a busy feed records its last use once a minute


def authenticate_token(
    plaintext: str, *, on_use: Callable[[int, datetime], object] | None = None
) -> User:
    """The user of a live token. Reading nothing but the token, it writes nothing: when the
    recorded last use is over a minute old, `on_use(token_id, now)` is called, and the caller
    records it off the request (app/api/jobs.py), so a GET through the API stays read-only."""
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _digest(plaintext or ""))
    )
    if token is None or token.is_revoked:
        raise Unauthorized(_("The API token is missing, unknown or revoked."))
    if not token.user.active:
        raise Unauthorized(_("The token's user is deactivated."))
    now = clock.now()
    if on_use is not None and (
        token.last_used_at is None or now - token.last_used_at > TOKEN_USE_PRECISION
    ):
        on_use(token.id, now)
    return token.user


def record_token_use(token_id: int, at: datetime) -> None:
    """A token was used at `at`: kept unless a later use is recorded already (jobs may run
    late and out of order)."""
    db.session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < at),
        )
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )
