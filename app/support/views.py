"""Support pages: asking for help (with suggested articles), my requests, the request thread,
the tiered queue, incidents and the backlog. Each route parses input, calls one service and
renders or redirects; refused input re-renders the form with the user's text kept."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    Unavailable,
    ValidationFailed,
)
from ..i18n import _
from ..inputs import whole_number
from ..knowledge import services as knowledge
from ..web import apply_field_errors, csv_response, roles_required
from . import pages
from .forms import DeflectionForm, IncidentTransitionForm
from .models import IncidentStatus, Priority, RequestStatus
from .pages import FORM_PREFIXES, STATUS_LABELS
from .services import (
    backlog,
    deflection,
    incidents,
    messages,
    opening,
    queue,
    satisfaction,
    transitions,
)
from .services.attachments import attachment_for

bp = Blueprint("support", __name__, url_prefix="/support")


def sla_text(seconds: int | None) -> str:
    """'3 h 05 min left' or '1 h 10 min late'."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = _("%(days)s d %(hours)s h", days=days, hours=hours)
    elif hours:
        text = _("%(hours)s h %(mins)02d min", hours=hours, mins=mins)
    else:
        text = _("%(mins)s min", mins=mins)
    return _("%(time)s late", time=text) if late else _("%(time)s left", time=text)


@bp.context_processor
def support_helpers() -> dict:
    return {
        "sla_text": sla_text,
        "request_status_label": lambda status: str(STATUS_LABELS.get(status, status)),
    }


def _int(value) -> int | None:
    return whole_number(value)


def _arg_choice(name: str, allowed) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def _failed(form, error: DomainError) -> int:
    """Put a refused service call's messages on the form; the caller re-renders it (text kept)
    with the refusal's status, so the request boundary rolls back whatever the call began."""
    if isinstance(error, ValidationFailed):
        apply_field_errors(form, error)
    else:
        placed = ValidationFailed(error.message, fields=error.fields)
        apply_field_errors(form, placed)
    return error.status


# --- offer suggestions -------------------------------------------------------------------


@bp.route("/offer-codes")
@login_required
def offer_codes():
    """Offers whose code or name holds `q`, for the offer fields' suggestions (JSON)."""
    matches = knowledge.offer_choices(
        current_user, matching=request.args.get("q", ""), limit=knowledge.OFFER_MATCHES
    )
    return jsonify([{"code": code, "name": name} for code, name in matches])


# --- asking for help ------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.CONSUMER)
def new_request():
    wanted = request.args.get("subscription", "") if request.method == "GET" else None
    form, has_subscriptions = pages.request_form(current_user, wanted=wanted)
    suggestions: list = []
    status = 200
    if form.validate_on_submit():
        if request.form.get("action") == "find":
            suggestions, status = _find_articles(form)
        else:
            created, status = _send_request(form)
            if created is not None:
                flash(
                    _(
                        "Request %(id)s sent. We will answer here and by notification.",
                        id=created.id,
                    ),
                    "success",
                )
                return redirect(url_for("support.request_detail", request_id=created.id))
    elif request.method == "POST":
        status = 400
    elif (subscription_id := _int(form.subscription_id.data)) is not None:
        suggestions = deflection.suggest_articles(current_user, subscription_id, "")
    return render_template(
        "support/new_request.html", form=form, **pages.ask_page(suggestions, has_subscriptions)
    ), status


def _find_articles(form) -> tuple[list, int]:
    """The articles that may answer what is typed so far (the form without JavaScript)."""
    subscription_id = _int(form.subscription_id.data)
    if subscription_id is None:
        form.subscription_id.errors = [_("Choose a subscription to find its articles.")]
        return [], 422
    text = f"{form.subject.data or ''} {form.description.data or ''}"
    try:
        suggestions = deflection.suggest_articles(current_user, subscription_id, text)
    except NotFound:
        form.subscription_id.errors = [_("Choose one of your subscriptions.")]
        return [], 422
    if not suggestions:
        flash(_("No article matches yet: send your request and we will help."), "info")
    return suggestions, 200


def _send_request(form):
    """(the opened request, 302) or (None, the status of the refusal shown on the form)."""
    try:
        created = opening.open_request(
            current_user,
            form.subscription_id.data,
            request_type=form.request_type.data,
            priority=form.priority.data,
            subject=form.subject.data,
            description=form.description.data,
            files=request.files.getlist(form.attachments.name),
            idempotency_key=form.idempotency_key.data,
        )
    except NotFound:
        form.subscription_id.errors = [_("Choose one of your subscriptions.")]
        flash(_("The request could not be sent."), "error")
        return None, 422
    except (ValidationFailed, Conflict, Unavailable) as error:
        return None, _failed(form, error)
    return created, 302


@bp.route("/suggestions")
@roles_required(Role.CONSUMER)
def suggestions():
    """JSON for the live suggestions while typing (static/js/support.js)."""
    subscription_id = _int(request.args.get("subscription"))
    if subscription_id is None:
        return jsonify(articles=[])
    found = pages.suggestion_list(current_user, subscription_id, request.args.get("q", "")[:2000])
    return jsonify(articles=found)


@bp.route("/deflect", methods=["POST"])
@roles_required(Role.CONSUMER)
def deflect():
    form = DeflectionForm()
    subscription_id = _int(form.subscription_id.data)
    if not form.validate_on_submit() or subscription_id is None:
        abort(400, _("Choose the subscription and the article that answered your question."))
    deflection.record_deflection(
        current_user, subscription_id, _int(form.article_id.data), form.q.data or ""
    )
    flash(
        _("Thank you! Glad the article answered your question; no request was opened."), "success"
    )
    return redirect(url_for("support.my_requests"))


# --- my requests and the request page ---------------------------------------------------------


@bp.route("/requests")
@login_required
def my_requests():
    status = _arg_choice("status", [s.value for s in RequestStatus])
    whose = "group" if request.args.get("whose") == "group" else "mine"
    return render_template(
        "support/my_requests.html", **pages.my_requests_page(current_user, status, whose)
    )


@bp.route("/my-groups")
@login_required
def my_groups():
    """The groups the user manages; with exactly one, that group's page."""
    page = pages.managed_groups_page(current_user)
    if len(page["groups"]) == 1:
        return redirect(url_for("support.my_group", group_id=page["groups"][0].id))
    return render_template("support/my_groups.html", **page)


@bp.route("/my-groups/<int:group_id>")
@login_required
def my_group(group_id: int):
    owner_id = whole_number(request.args.get("member", ""))
    return render_template(
        "support/my_group.html", **pages.group_page(current_user, group_id, owner_id)
    )


def _bound(name: str):
    cls, prefix = FORM_PREFIXES[name]
    return cls(prefix=prefix)


def _render_request(request_id: int, failing: tuple[str, object] | None = None, status: int = 200):
    page = pages.request_page(current_user, request_id, failing)
    return render_template("support/request.html", **page), status


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    return _render_request(request_id)


def _post(request_id: int, name: str, call, success: str):
    """Run one service call for the named form; on refusal re-render the page with its text."""
    form = _bound(name)
    if not form.validate_on_submit():
        return _render_request(request_id, (name, form), 400)
    try:
        call(form)
    except (ValidationFailed, Conflict, InvalidTransition, Unavailable) as error:
        code = _failed(form, error)
        return _render_request(request_id, (name, form), code)
    flash(success, "success")
    return redirect(url_for("support.request_detail", request_id=request_id))


@bp.route("/requests/<int:request_id>/reply", methods=["POST"])
@login_required
def reply(request_id: int):
    internal = request.form.get("reply-kind") == "note"

    def call(form):
        messages.add_message(
            current_user,
            request_id,
            form.body.data,
            internal=internal,
            files=request.files.getlist(form.attachments.name),
        )

    return _post(
        request_id, "reply", call, _("Internal note added.") if internal else _("Reply sent.")
    )


@bp.route("/requests/<int:request_id>/status", methods=["POST"])
@login_required
def transition(request_id: int):
    to = request.form.get("status-to", "")

    def call(form):
        transitions.transition_request(
            current_user,
            request_id,
            form.to.data or "",
            expected_version=form.version.data,
            reason=form.reason.data,
        )

    return _post(
        request_id, "status", call, _("Request is now %(value)s.", value=STATUS_LABELS.get(to, to))
    )


@bp.route("/requests/<int:request_id>/take", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def take(request_id: int):
    def call(form):
        queue.assign(current_user, request_id, current_user.id, expected_version=form.version.data)

    return _post(request_id, "take", call, _("You took this request."))


@bp.route("/requests/<int:request_id>/assign", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def assign(request_id: int):
    def call(form):
        queue.assign(
            current_user, request_id, form.assignee_id.data, expected_version=form.version.data
        )

    return _post(request_id, "assign", call, _("Request assigned."))


@bp.route("/requests/<int:request_id>/escalate", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def escalate(request_id: int):
    def call(form):
        done = queue.escalate(
            current_user, request_id, form.reason.data, expected_version=form.version.data
        )
        flash(_("Escalated to tier %(tier)s.", tier=done.tier), "info")

    return _post(request_id, "escalate", call, _("The next tier has been told."))


@bp.route("/requests/<int:request_id>/incident", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def raise_incident(request_id: int):
    def call(form):
        incidents.raise_incident(
            current_user,
            request_id,
            product_id=form.product_id.data,
            severity=form.severity.data,
            title=form.title.data,
            description=form.description.data,
        )

    return _post(request_id, "incident", call, _("Incident raised and linked to this request."))


@bp.route("/requests/<int:request_id>/backlog", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER)
def raise_backlog_item(request_id: int):
    def call(form):
        backlog.raise_backlog_item(
            current_user,
            request_id,
            product_id=form.product_id.data,
            kind=form.kind.data,
            title=form.title.data,
            description=form.description.data,
        )

    return _post(request_id, "backlog", call, _("Backlog item raised for the product team."))


@bp.route("/requests/<int:request_id>/backlog/link", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER)
def link_backlog_item(request_id: int):
    def call(form):
        backlog.link_backlog_item(current_user, form.item_id.data, request_id)

    return _post(request_id, "link", call, _("Request added to the backlog item."))


@bp.route("/requests/<int:request_id>/rate", methods=["POST"])
@login_required
def rate(request_id: int):
    def call(form):
        satisfaction.rate(
            current_user, request_id, form.satisfaction.data, form.satisfaction_comment.data
        )

    return _post(request_id, "rate", call, _("Thank you for rating our support."))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    """Streamed from the file store through this route, so the permission check stays."""
    item, stream = attachment_for(current_user, attachment_id)
    response = send_file(
        stream,
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the agents' queue, incidents, backlog ------------------------------------------------------


@bp.route("/queue", endpoint="queue")
@roles_required(Role.SUPPORT_AGENT)
def queue_page():
    tier = _int(request.args.get("tier"))
    tier = tier if tier in (1, 2, 3) else (current_user.support_tier or 1)
    filters = {
        "status": _arg_choice("status", [s.value for s in RequestStatus]),
        "priority": _arg_choice("priority", [p.value for p in Priority]),
        "offer_code": request.args.get("offer", "").strip().upper()[:40],
        "product_id": _int(request.args.get("product")),
        "assignee": _arg_choice("assignee", ["me", "none"]),
        "breached": request.args.get("breached") == "1",
    }
    return render_template("support/queue.html", **pages.queue_page(current_user, tier, filters))


def _render_incidents(failing: tuple[int, IncidentTransitionForm] | None = None, code: int = 200):
    status = _arg_choice("status", [s.value for s in IncidentStatus])
    page = pages.incidents_page(current_user, status, failing)
    return render_template("support/incidents.html", **page), code


@bp.route("/incidents", endpoint="incidents")
@login_required
def incidents_page():
    return _render_incidents()


@bp.route("/incidents/<int:incident_id>/transition", methods=["POST"])
@login_required
def incident_transition(incident_id: int):
    form = IncidentTransitionForm(prefix=f"i{incident_id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        incident = incidents.transition_incident(
            current_user,
            incident_id,
            form.to.data,
            note=form.note.data,
            expected_version=form.version.data,
        )
    except (ValidationFailed, Conflict, InvalidTransition, Unavailable) as error:
        code = _failed(form, error)
        return _render_incidents((incident_id, form), code)
    flash(
        _("Incident %(id)s is now %(status)s.", id=incident.id, status=incident.status), "success"
    )
    return redirect(url_for("support.incidents"))


@bp.route("/backlog", endpoint="backlog")
@roles_required(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT)
def backlog_page():
    page = pages.backlog_page(current_user, _int(request.args.get("product")))
    return render_template("support/backlog.html", **page)


@bp.route("/backlog.csv")
@roles_required(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT)
def backlog_csv():
    rows = backlog.backlog_export_rows(current_user, product_id=_int(request.args.get("product")))
    header = ["product", "kind", "title", "status", "created", "source requests", "request count"]
    return csv_response("backlog.csv", header, rows)
