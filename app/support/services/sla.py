"""SLA clocks: working-time arithmetic, the first-response and resolution due times taken from
the contract's service levels, the clock paused while the request waits on the consumer, and
the SLA check that records breaches and closes requests resolved a week ago.

Support hours are either "24x7" or "business": Monday to Friday, 08:00 to 18:00 UTC.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...extensions import db
from ...i18n import _
from ...notifications.models import NotificationKind
from ...notifications.services import notify_each
from ...subscriptions import services as subscriptions
from ...subscriptions.models import Subscription
from .. import signals
from ..models import RequestStatus, SupportRequest
from ..states import REQUESTS
from . import agents
from .agents import is_agent

_tier_agents = agents.tier_agents  # the name the SLA check's helpers were written with

R = RequestStatus
AUTO_CLOSE_AFTER = timedelta(days=7)
DEFAULT_TARGETS = {"critical": (1, 4), "high": (4, 8), "medium": (8, 24), "low": (24, 72)}
PAUSED_STATUSES = (R.WAITING_ON_CONSUMER, R.RESOLVED)

BUSINESS_START = time(8, 0)
BUSINESS_END = time(18, 0)


def _day_window(moment: datetime) -> tuple[datetime, datetime] | None:
    if moment.weekday() >= 5:
        return None
    start = moment.replace(hour=BUSINESS_START.hour, minute=0, second=0, microsecond=0)
    end = moment.replace(hour=BUSINESS_END.hour, minute=0, second=0, microsecond=0)
    return start, end


def add_working_time(start: datetime, seconds: float, business_only: bool) -> datetime:
    """The moment `seconds` of working time after `start`."""
    if not business_only:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    cursor = start
    while True:
        window = _day_window(cursor)
        if window is None or cursor >= window[1]:
            cursor = (cursor + timedelta(days=1)).replace(
                hour=BUSINESS_START.hour, minute=0, second=0, microsecond=0
            )
            continue
        open_at, close_at = window
        cursor = max(cursor, open_at)
        available = close_at - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = close_at


def working_seconds_between(start: datetime, end: datetime, business_only: bool) -> int:
    """Working seconds in [start, end)."""
    if end <= start:
        return 0
    if not business_only:
        return int((end - start).total_seconds())
    total = timedelta()
    cursor = start
    while cursor < end:
        window = _day_window(cursor)
        next_day = (cursor + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if window is not None:
            open_at, close_at = window
            low, high = max(cursor, open_at), min(end, close_at)
            if high > low:
                total += high - low
        cursor = next_day
    return int(total.total_seconds())


def sla_state(request: SupportRequest, now: datetime | None = None) -> dict:
    """Time left (seconds, negative when late) for response and resolution, or 'paused'."""
    now = now or clock.now()
    paused = request.status in PAUSED_STATUSES or request.paused_since is not None

    def left(due: datetime | None, done: datetime | None) -> int | None:
        if due is None or done is not None:
            return None
        return int((due - now).total_seconds())

    return {
        "paused": paused,
        "response_left": None
        if paused
        else left(request.first_response_due, request.first_response_at),
        "resolution_left": None if paused else left(request.resolution_due, request.resolved_at),
        "response_breached": request.response_breached_at is not None,
        "resolution_breached": request.resolution_breached_at is not None,
    }


def targets(subscription: Subscription, priority: str) -> tuple[float, float, bool]:
    contract = subscriptions.current_contract(subscription)
    levels = (contract.snapshot if contract else {}).get("service_levels") or {}
    response = (levels.get("response_hours") or {}).get(priority) or DEFAULT_TARGETS[priority][0]
    resolution = (levels.get("resolution_hours") or {}).get(priority) or DEFAULT_TARGETS[priority][
        1
    ]
    return float(response), float(resolution), levels.get("support_hours") == "business"


def recompute_due(request: SupportRequest) -> None:
    start, paused, business = (
        request.created_at,
        request.paused_seconds,
        request.business_hours_only,
    )
    request.first_response_due = add_working_time(
        start, request.response_target_hours * 3600 + paused, business
    )
    request.resolution_due = add_working_time(
        start, request.resolution_target_hours * 3600 + paused, business
    )


def pause(request: SupportRequest) -> None:
    if request.paused_since is None:
        request.paused_since = clock.now()


def resume(request: SupportRequest) -> None:
    if request.paused_since is not None:
        request.paused_seconds += working_seconds_between(
            request.paused_since, clock.now(), request.business_hours_only
        )
        request.paused_since = None
        recompute_due(request)


def mark_first_response(request: SupportRequest, actor: User) -> None:
    if request.first_response_at is None and is_agent(actor):
        now = clock.now()
        request.first_response_at = now
        if (
            request.first_response_due is not None
            and now > request.first_response_due
            and request.response_breached_at is None
        ):
            request.response_breached_at = request.first_response_due


def sla_check(actor: User, now: datetime | None = None) -> dict:
    """Record breaches (and tell the assignee, or the tier), and close requests resolved 7 days
    ago. Run by the system (the periodic job, `flask support sla-check`) in its unit of work."""
    require_role(actor, Role.ADMIN, message=_("Only the system runs the SLA check."))
    now = now or clock.now()
    late_response, late_resolution = _late_requests(now)
    agents_of_tier: dict[int, list[User]] = {}  # read once per tier, not once per breach
    # Guarded "not marked yet": of two checks racing, only the one that marks a breach tells.
    late_response = _mark(
        late_response,
        SupportRequest.response_breached_at.is_(None),
        response_breached_at=SupportRequest.first_response_due,
    )
    late_resolution = _mark(
        late_resolution,
        SupportRequest.resolution_breached_at.is_(None),
        resolution_breached_at=SupportRequest.resolution_due,
    )
    breaches = [("first response", late_response), ("resolution", late_resolution)]
    for which, late in breaches:
        if late:
            signals.sla_breached.send(which, requests=late)
    notify_each(
        (
            _breach_message(request, which, agents_of_tier)
            for which, late in breaches
            for request in late
        ),
        kind=NotificationKind.SUPPORT_REPLIES,
    )
    for which, late in breaches:
        audit.record_many(
            actor, "support_request", "sla_breached", dict.fromkeys((r.id for r in late), which)
        )
    closed = _close_stale(actor, now)
    return {
        "response_breaches": len(late_response),
        "resolution_breaches": len(late_resolution),
        "closed": closed,
    }


def _late_requests(now: datetime) -> tuple[list[SupportRequest], list[SupportRequest]]:
    """Running requests past their first-response and their resolution due time, not yet
    marked as breached (paused clocks are not late)."""
    with_assignee = selectinload(SupportRequest.assignee)
    late_response = db.session.scalars(
        sa.select(SupportRequest)
        .options(with_assignee)
        .where(
            SupportRequest.status.in_([R.NEW, R.IN_PROGRESS]),
            SupportRequest.first_response_at.is_(None),
            SupportRequest.response_breached_at.is_(None),
            SupportRequest.first_response_due < now,
            SupportRequest.paused_since.is_(None),
        )
    ).all()
    late_resolution = db.session.scalars(
        sa.select(SupportRequest)
        .options(with_assignee)
        .where(
            SupportRequest.status.in_([R.NEW, R.IN_PROGRESS]),
            SupportRequest.resolution_breached_at.is_(None),
            SupportRequest.resolution_due < now,
            SupportRequest.paused_since.is_(None),
        )
    ).all()
    return late_response, late_resolution


def _close_stale(actor: User, now: datetime) -> int:
    """Close requests resolved for AUTO_CLOSE_AFTER, in one UPDATE guarded by the machine (only
    a request still resolved is closed, once). It bumps the version too, so an agent's form
    from before the close is refused as stale."""
    closed = db.session.scalars(
        REQUESTS.guarded_update(
            SupportRequest,
            R.CLOSED,
            SupportRequest.resolved_at <= now - AUTO_CLOSE_AFTER,
        )
        .values(closed_at=now, version=SupportRequest.version + 1)
        .returning(SupportRequest.id)
    ).all()
    for request_id in closed:
        request = db.session.identity_map.get(db.session.identity_key(SupportRequest, request_id))
        if request is not None:
            db.session.expire(request, ["status", "closed_at", "version"])
    audit.record_many(
        actor,
        "support_request",
        "auto_closed",
        dict.fromkeys(closed, "resolved for 7 days"),
    )
    return len(closed)


def _mark(
    requests: list[SupportRequest], guard: sa.ColumnElement[bool], **values: Any
) -> list[SupportRequest]:
    """One UPDATE for all of `requests` still matching `guard` (row by row, SQLite would run one
    per request); returns those it changed. The objects are refreshed when next read."""
    if not requests:
        return []
    changed = set(
        db.session.scalars(
            sa.update(SupportRequest)
            .where(SupportRequest.id.in_([request.id for request in requests]), guard)
            .values(**values)
            .returning(SupportRequest.id)
            .execution_options(synchronize_session=False)
        )
    )
    for request in requests:
        db.session.expire(request, list(values))
    return [request for request in requests if request.id in changed]


def _breach_message(
    request: SupportRequest, which: str, agents_of_tier: dict[int, list[User]]
) -> tuple[list[User], str, str, str]:
    """To the assignee, or else to the request's tier."""
    if request.assignee is not None:
        recipients = [request.assignee]
    else:
        if request.tier not in agents_of_tier:
            agents_of_tier[request.tier] = _tier_agents(request.tier)
        recipients = agents_of_tier[request.tier]
    return (
        recipients,
        f"SLA breached ({which}): request {request.id}",
        request.subject,
        f"/support/requests/{request.id}",
    )
