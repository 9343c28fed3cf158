from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user

from ..extensions import db
from ..i18n import _l
from ..roles import Role
from ..web import csv_response, paginate, roles_required
from . import readable, services

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

readable.register_labels(
    {
        "version": _l("Version"),
        "status": _l("Status"),
        "name": _l("Name"),
        "description": _l("Description"),
        "roles": _l("Roles"),
        "members": _l("Members"),
    }
)
readable.register_values("roles", {role.value: role.label for role in Role})


@bp.app_template_global("describe_changes")
def describe_changes(events) -> dict:
    """{event id: [Change(label, before, after)]}: a page of audit events in words."""
    return readable.describe(events)


def _date_arg(name: str) -> datetime | None:
    value = request.args.get(name, "")
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def _filtered_query():
    until = _date_arg("until")
    return services.audit_query(
        current_user,
        object_type=request.args.get("object_type") or None,
        object_id=request.args.get("object_id") or None,
        action=request.args.get("action") or None,
        actor_email=request.args.get("actor") or None,
        since=_date_arg("since"),
        # the end day is included; after 9999-12-31 there is no day to stop before
        until=until + timedelta(days=1) if until and until.date() < date.max else None,
    )


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return render_template(
        "audit/index.html",
        pagination=paginate(_filtered_query()),
        object_types=services.object_types(),
    )


@bp.route("/export.csv")
@roles_required(Role.ADMIN)
def export():
    events = db.session.scalars(_filtered_query().limit(50_000))
    rows = (
        (
            e.occurred_at.isoformat(),
            e.actor.email if e.actor else "system",
            e.object_type,
            e.object_id,
            e.action,
            e.summary,
        )
        for e in events
    )
    return csv_response(
        "audit.csv", ["occurred_at", "actor", "object_type", "object_id", "action", "summary"], rows
    )
