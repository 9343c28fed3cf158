"""Service notices: outages, degradations and planned maintenance on a digital product, posted
and updated by product managers and senior support agents; the product's subscribers are
notified of each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User, group_members
from ...audit import services as audit
from ...catalog.models import DigitalProduct, ServiceOffer
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _, _l, format_when
from ...inputs import whole_number
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...subscriptions import services as subscriptions
from ...subscriptions.models import Subscription
from .. import signals
from ..models import NoticeKind, NoticeUpdate, ServiceNotice
from ..sqltime import at
from .periods import bounded_moment

NOTICE_LABELS = {
    "maintenance": _l("Planned maintenance"),
    "outage": _l("Outage"),
    "degradation": _l("Degraded service"),
}


def may_post_notices(actor: User) -> bool:
    """Product managers and support agents of tier 2 and up post and update service notices."""
    if actor.has_role(Role.PRODUCT_MANAGER):
        return True
    return actor.has_role(Role.SUPPORT_AGENT) and (actor.support_tier or 1) >= 2


def require_notice_author(actor: User) -> None:
    if not may_post_notices(actor):
        raise NotAllowed(
            _("Service notices are posted by product managers and support agents of tier 2 and up.")
        )


def subscribers_of_product(product_id: int) -> list[User]:
    """Owners and group members of open subscriptions of any offer (any revision) on the product."""
    codes = sa.select(ServiceOffer.code).where(ServiceOffer.product_id == product_id)
    open_subscriptions = sa.and_(
        Subscription.offer_code.in_(codes), Subscription.status.in_(subscriptions.OPEN_STATUSES)
    )
    group_ids = sa.select(Subscription.group_id).where(open_subscriptions)
    owner_ids = sa.select(Subscription.owner_id).where(open_subscriptions)
    member_ids = sa.select(group_members.c.user_id).where(group_members.c.group_id.in_(group_ids))
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.active.is_(True), sa.or_(User.id.in_(owner_ids), User.id.in_(member_ids)))
            .order_by(User.id)
        )
    )


def post_notice(
    actor: User,
    *,
    product_id: Any,
    kind: Any,
    title: Any,
    message: Any,
    starts_at: Any,
    ends_at: Any = None,
    critical: Any = False,
) -> ServiceNotice:
    require_notice_author(actor)
    product, kind, title, message, start, end = _checked_notice(
        product_id, kind, title, message, starts_at, ends_at, critical
    )
    notice = ServiceNotice(
        product_id=product.id,
        kind=kind,
        title=title,
        message=message,
        starts_at=start,
        ends_at=end,
        critical=critical,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(notice)
    db.session.flush()
    audit.record(actor, "notice", notice.id, "posted", summary=f"{kind}: {title}")
    signals.notice_published.send(notice, product=product)
    when = f"from {start:%Y-%m-%d %H:%M} UTC" + (f" to {end:%Y-%m-%d %H:%M} UTC" if end else "")
    notify(
        subscribers_of_product(product.id),
        _l("%(NOTICE_LABELS)s: %(name)s", NOTICE_LABELS=NOTICE_LABELS[kind], name=product.name),
        f"{title} — {when}. {message}".strip(),
        "/status/notices",
        kind=NotificationKind.SERVICE_NOTICES,
        critical=notice.critical,
    )
    db.session.flush()
    return notice


def _checked_notice(product_id, kind, title, message, starts_at, ends_at, critical) -> tuple:
    """(product, kind, title, message, start, end), or ValidationFailed under each bad field."""
    errors: check.Errors = {}
    product = (
        db.session.get(DigitalProduct, whole_number(product_id))
        if whole_number(product_id)
        else None
    )
    if product is None:
        check.add(errors, "product_id", _("Choose a digital product."))
    kind = check.choice(
        errors,
        "kind",
        kind if isinstance(kind, str) else None,
        [k.value for k in NoticeKind],
        "kind",
    )
    title = check.text(errors, "title", title, required=True, max_length=200)
    message = check.text(errors, "message", message, max_length=10_000)
    start = _notice_moment(errors, "starts_at", starts_at)
    end = _notice_moment(errors, "ends_at", ends_at)
    if start is None and "starts_at" not in errors:
        check.add(errors, "starts_at", _("Enter when it starts."))
    if start and end and end <= start:
        check.add(errors, "ends_at", _("The end must come after the start."))
    if not isinstance(critical, bool):
        check.add(errors, "critical", _("Say true or false."))
    if errors:
        raise ValidationFailed(_("The notice could not be posted."), fields=errors)
    return product, kind, title, message, start, end


def _notice_moment(errors: check.Errors, field: str, value: Any) -> datetime | None:
    return bounded_moment(
        errors, field, value, expected="a date and time as YYYY-MM-DD HH:MM", noun="a time"
    )


def get_notice(viewer: User, notice_id: Any) -> ServiceNotice:
    """A notice the viewer may see (staff: any; consumers: those on their subscriptions' products)."""
    notice = db.session.scalar(
        notices_for_user(viewer, current_only=False).where(
            ServiceNotice.id == (whole_number(notice_id) or -1)
        )
    )
    if notice is None:
        raise NotFound(_("No such notice."))
    return notice


def update_notice(
    actor: User, notice_id: int, *, message: Any, ends_at: Any = None, resolve: bool = False
) -> ServiceNotice:
    """Post an update (and optionally a new expected end), or resolve the notice: its end becomes
    the actual end (now, unless given). Resolving a notice that has not started cancels it."""
    require_notice_author(actor)
    notice = db.session.get(ServiceNotice, whole_number(notice_id) or -1)
    if notice is None:
        raise NotFound(_("No such notice."))
    errors: check.Errors = {}
    message = check.text(errors, "message", message, required=True, max_length=10_000)
    end = _notice_moment(errors, "ends_at", ends_at)
    now = clock.now()
    if notice.resolved_at is not None:
        check.add(errors, "message", _("This notice is resolved."))
    cancelled = bool(resolve) and end is None and now <= notice.starts_at
    if resolve and end is None and not cancelled:
        end = now
    if end is not None and end <= notice.starts_at:
        check.add(errors, "ends_at", _("The end must come after the start."))
    elif resolve and end is not None and end > now:
        check.add(
            errors,
            "ends_at",
            _("A resolved notice cannot end in the future; leave this empty to end it now."),
        )
    if errors:
        raise ValidationFailed(_("The notice could not be updated."), fields=errors)
    if cancelled:
        notice.ends_at = None  # it never happened: no outage minutes
    elif end is not None:
        notice.ends_at = end
    if resolve:
        notice.resolved_at = now
    db.session.add(
        NoticeUpdate(notice_id=notice.id, message=message, author_id=actor.id, created_at=now)
    )
    audit.record(
        actor, "notice", notice.id, "resolved" if resolve else "updated", summary=message[:200]
    )
    word = (_("Cancelled") if cancelled else _("Resolved")) if resolve else _("Update")
    notify(
        subscribers_of_product(notice.product_id),
        _l("%(word)s: %(title)s", word=word, title=notice.title),
        message,
        "/status/notices",
        kind=NotificationKind.SERVICE_NOTICES,
        critical=notice.critical,
    )
    db.session.flush()
    return notice


def notices_query(*, product_ids: list[int] | None = None, current_only: bool = False) -> sa.Select:
    query = sa.select(ServiceNotice).options(selectinload(ServiceNotice.updates))
    if product_ids is not None:
        query = query.where(ServiceNotice.product_id.in_(product_ids or [-1]))
    if current_only:
        now = clock.now()
        query = query.where(
            ServiceNotice.resolved_at.is_(None),
            sa.or_(ServiceNotice.ends_at.is_(None), ServiceNotice.ends_at > at(now)),
        )
    return query.order_by(ServiceNotice.starts_at.desc())


def notices_for_user(user: User, *, current_only: bool = True) -> sa.Select:
    """Staff see every notice; consumers those on the products of their groups' subscriptions."""
    if user.has_role(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT, Role.CATALOG_MANAGER, Role.ADMIN):
        return notices_query(current_only=current_only)
    products = (
        sa.select(ServiceOffer.product_id)
        .join(Subscription, Subscription.offer_id == ServiceOffer.id)
        .where(
            Subscription.group_id.in_(sorted(user.group_ids) or [-1]),
            ServiceOffer.product_id.is_not(None),
        )
    )
    return notices_query(current_only=current_only).where(ServiceNotice.product_id.in_(products))


def list_notices(
    viewer: User, *, current_only: bool = True, limit: int = 200
) -> list[ServiceNotice]:
    return list(
        db.session.scalars(notices_for_user(viewer, current_only=current_only).limit(limit))
    )


def current_notices(product_ids: list[int]) -> list[ServiceNotice]:
    """The products' current and upcoming notices, soonest first."""
    if not product_ids:
        return []
    return list(
        db.session.scalars(
            notices_query(product_ids=product_ids, current_only=True)
            .order_by(None)
            .order_by(ServiceNotice.starts_at, ServiceNotice.id)
        )
    )


def maintenance_warnings(notices: list[ServiceNotice], now: datetime) -> list[dict]:
    """A warning per planned maintenance among `notices` that has not started yet."""
    return [
        {
            "kind": "maintenance",
            "date": notice.starts_at.isoformat(),
            "notice_id": notice.id,
            "message": _(
                "Planned maintenance on %(when)s: %(title)s.",
                when=format_when(notice.starts_at),
                title=notice.title,
            ),
        }
        for notice in notices
        if notice.kind == NoticeKind.MAINTENANCE and notice.starts_at > now
    ]
