"""Support pages: asking for help (with suggested articles), my requests, the request thread,
the tiered queue, incidents and the backlog. Each route parses input, calls one service and
renders or redirects; refused input re-renders the form with the user's text kept."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
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
from ..errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed
from ..extensions import db
from ..inputs import whole_number
from ..knowledge import services as knowledge
from ..web import apply_field_errors, csv_response, paginate, roles_required
from . import services
from .forms import (
    PRIORITY_HINT_TEXT,
    AssignForm,
    BacklogForm,
    BacklogLinkForm,
    DeflectionForm,
    EscalateForm,
    IncidentForm,
    IncidentTransitionForm,
    RateForm,
    ReplyForm,
    RequestForm,
    TakeForm,
    TransitionForm,
)
from .models import IncidentStatus, Priority, RequestStatus

bp = Blueprint("support", __name__, url_prefix="/support")

STATUS_LABELS = {
    "new": "new",
    "in_progress": "in progress",
    "waiting_on_consumer": "waiting on consumer",
    "resolved": "resolved",
    "closed": "closed",
}
# (who acts, to) → button label on the request page
TRANSITION_LABELS = {
    ("agent", "in_progress"): "Start work",
    ("agent", "waiting_on_consumer"): "Ask for more information",
    ("agent", "resolved"): "Resolve",
    ("consumer", "closed"): "Accept resolution",
    ("consumer", "in_progress"): "Reopen",
}


def sla_text(seconds: int | None) -> str:
    """'3 h 05 min left' or '1 h 10 min late'."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {mins:02d} min"
    else:
        text = f"{mins} min"
    return f"{text} late" if late else f"{text} left"


@bp.context_processor
def support_helpers() -> dict:
    return {
        "sla_text": sla_text,
        "request_status_label": lambda status: STATUS_LABELS.get(status, status),
    }


def _int(value) -> int | None:
    return whole_number(value)


def _arg_choice(name: str, allowed) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))


def _failed(form, error: DomainError) -> int:
    """Put a refused service call's messages on the form; the caller re-renders it (text kept)."""
    db.session.rollback()
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


def _subscription_label(subscription) -> str:
    return f"{subscription.offer.name} — {subscription.group.name} (#{subscription.id}, {subscription.status})"


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.CONSUMER)
def new_request():
    form = RequestForm()
    choices = services.requestable_subscriptions(current_user)
    form.subscription_id.choices = [("", "— choose a subscription —")] + [
        (str(s.id), _subscription_label(s)) for s in choices
    ]
    if request.method == "GET":
        wanted = request.args.get("subscription", "")
        form.subscription_id.data = wanted if any(str(s.id) == wanted for s in choices) else ""
    suggestions: list = []
    status = 200
    subscription_id = _int(form.subscription_id.data)
    if form.validate_on_submit():
        if request.form.get("action") == "find":
            if subscription_id is None:
                form.subscription_id.errors = ["Choose a subscription to find its articles."]
            else:
                text = f"{form.subject.data or ''} {form.description.data or ''}"
                try:
                    suggestions = services.suggest_articles(current_user, subscription_id, text)
                except NotFound:
                    form.subscription_id.errors = ["Choose one of your subscriptions."]
                if not suggestions and not form.subscription_id.errors:
                    flash("No article matches yet: send your request and we will help.", "info")
        else:
            try:
                created = services.open_request(
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
                db.session.rollback()
                form.subscription_id.errors = ["Choose one of your subscriptions."]
                flash("The request could not be sent.", "error")
                status = 422
            except (ValidationFailed, Conflict) as error:
                status = _failed(form, error)
            else:
                flash(
                    f"Request {created.id} sent. We will answer here and by notification.",
                    "success",
                )
                return redirect(url_for("support.request_detail", request_id=created.id))
    elif request.method == "POST":
        status = 400
    elif subscription_id is not None:
        suggestions = services.suggest_articles(current_user, subscription_id, "")
    return render_template(
        "support/new_request.html",
        form=form,
        suggestions=suggestions,
        hints=PRIORITY_HINT_TEXT,
        deflection_form=DeflectionForm(formdata=None),
        excerpts={item.id: knowledge.article_excerpt(item.body) for item in suggestions},
        max_bytes=_max_bytes(),
        max_size=services.size_text(_max_bytes()),
        allowed=sorted(services.ALLOWED_ATTACHMENTS),
        has_subscriptions=bool(choices),
    ), status


@bp.route("/suggestions")
@roles_required(Role.CONSUMER)
def suggestions():
    """JSON for the live suggestions while typing (static/js/support.js)."""
    subscription_id = _int(request.args.get("subscription"))
    if subscription_id is None:
        return jsonify(articles=[])
    found = services.suggest_articles(
        current_user, subscription_id, request.args.get("q", "")[:2000]
    )
    return jsonify(
        articles=[
            {
                "id": item.id,
                "title": item.title,
                "url": url_for("knowledge.article", article_id=item.id),
                "excerpt": knowledge.article_excerpt(item.body),
            }
            for item in found
        ]
    )


@bp.route("/deflect", methods=["POST"])
@roles_required(Role.CONSUMER)
def deflect():
    form = DeflectionForm()
    subscription_id = _int(form.subscription_id.data)
    if not form.validate_on_submit() or subscription_id is None:
        abort(400, "Choose the subscription and the article that answered your question.")
    services.record_deflection(
        current_user, subscription_id, _int(form.article_id.data), form.q.data or ""
    )
    flash("Thank you! Glad the article answered your question; no request was opened.", "success")
    return redirect(url_for("support.my_requests"))


# --- my requests and the request page ---------------------------------------------------------


@bp.route("/requests")
@login_required
def my_requests():
    status = _arg_choice("status", [s.value for s in RequestStatus])
    pagination = paginate(services.my_requests_query(current_user, status=status))
    return render_template(
        "support/my_requests.html",
        pagination=pagination,
        subscriptions=services.subscriptions_of(pagination.items),
        sla={item.id: services.sla_state(item) for item in pagination.items},
        statuses=list(STATUS_LABELS.items()),
        status=status,
        can_ask=current_user.has_role(Role.CONSUMER),
    )


FORM_PREFIXES = {
    "reply": (ReplyForm, "reply"),
    "status": (TransitionForm, "status"),
    "take": (TakeForm, "take"),
    "assign": (AssignForm, "assign"),
    "escalate": (EscalateForm, "esc"),
    "incident": (IncidentForm, "inc"),
    "backlog": (BacklogForm, "bl"),
    "link": (BacklogLinkForm, "bll"),
    "rate": (RateForm, "rate"),
}


def _bound(name: str):
    cls, prefix = FORM_PREFIXES[name]
    return cls(prefix=prefix)


def _set_hidden(field, value) -> None:
    field.data = value
    field.raw_data = [str(value)]


def _render_request(request_id: int, failing: tuple[str, object] | None = None, status: int = 200):
    view = services.request_view(current_user, request_id)
    item = view["request"]
    forms = {}
    for name, (cls, prefix) in FORM_PREFIXES.items():
        if failing is not None and failing[0] == name:
            forms[name] = failing[1]
        else:
            forms[name] = cls(formdata=None, prefix=prefix)
    for form in forms.values():
        if hasattr(form, "version"):
            _set_hidden(form.version, item.version)  # the page now shows this version
    actions = view["actions"]
    staff = actions["agent"] or actions["backlog"]
    product_choices = (
        [("", "— choose —")] + [(str(p.id), p.name) for p in services.products()] if staff else []
    )
    default_product = services.default_product_id(view["subscription"])
    forms["assign"].assignee_id.choices = (
        [("", "— choose an agent —")]
        + [
            (str(agent.id), f"{agent.name} (tier {agent.support_tier})")
            for agent in services.assignable_agents(item)
        ]
        if actions["assign"]
        else []
    )
    forms["incident"].product_id.choices = product_choices
    forms["backlog"].product_id.choices = product_choices
    if failing is None or failing[0] != "incident":
        forms["incident"].product_id.data = str(default_product or "")
        forms["incident"].title.data = item.subject
    if failing is None or failing[0] != "backlog":
        forms["backlog"].product_id.data = str(default_product or "")
        forms["backlog"].title.data = item.subject
    linked_ids = {backlog.id for backlog in view["backlog_items"]}
    forms["link"].item_id.choices = (
        [("", "— choose an item —")]
        + [
            (str(backlog.id), f"#{backlog.id} {backlog.kind}: {backlog.title}")
            for backlog in services.open_backlog_items(default_product)
            if backlog.id not in linked_ids
        ]
        if actions["backlog"]
        else []
    )
    role = "agent" if view["actions"]["agent"] else "consumer"
    buttons = [
        (to, TRANSITION_LABELS.get((role, to), STATUS_LABELS.get(to, to)))
        for to in view["actions"]["transitions"]
        if not (role == "consumer" and item.status == RequestStatus.WAITING_ON_CONSUMER)
    ]
    context = {
        key: value for key, value in view.items() if key != "request"
    }  # `request` stays Flask's
    return render_template(
        "support/request.html",
        req=item,
        forms=forms,
        buttons=buttons,
        max_bytes=_max_bytes(),
        max_size=services.size_text(_max_bytes()),
        allowed=sorted(services.ALLOWED_ATTACHMENTS),
        **context,
    ), status


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
    except (ValidationFailed, Conflict, InvalidTransition) as error:
        code = _failed(form, error)
        return _render_request(request_id, (name, form), code)
    flash(success, "success")
    return redirect(url_for("support.request_detail", request_id=request_id))


@bp.route("/requests/<int:request_id>/reply", methods=["POST"])
@login_required
def reply(request_id: int):
    internal = request.form.get("reply-kind") == "note"

    def call(form):
        services.add_message(
            current_user,
            request_id,
            form.body.data,
            internal=internal,
            files=request.files.getlist(form.attachments.name),
        )

    return _post(request_id, "reply", call, "Internal note added." if internal else "Reply sent.")


@bp.route("/requests/<int:request_id>/status", methods=["POST"])
@login_required
def transition(request_id: int):
    to = request.form.get("status-to", "")

    def call(form):
        services.transition_request(
            current_user,
            request_id,
            form.to.data or "",
            expected_version=form.version.data,
            reason=form.reason.data,
        )

    return _post(request_id, "status", call, f"Request is now {STATUS_LABELS.get(to, to)}.")


@bp.route("/requests/<int:request_id>/take", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def take(request_id: int):
    def call(form):
        services.assign(
            current_user, request_id, current_user.id, expected_version=form.version.data
        )

    return _post(request_id, "take", call, "You took this request.")


@bp.route("/requests/<int:request_id>/assign", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def assign(request_id: int):
    def call(form):
        services.assign(
            current_user, request_id, form.assignee_id.data, expected_version=form.version.data
        )

    return _post(request_id, "assign", call, "Request assigned.")


@bp.route("/requests/<int:request_id>/escalate", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def escalate(request_id: int):
    def call(form):
        done = services.escalate(
            current_user, request_id, form.reason.data, expected_version=form.version.data
        )
        flash(f"Escalated to tier {done.tier}.", "info")

    return _post(request_id, "escalate", call, "The next tier has been told.")


@bp.route("/requests/<int:request_id>/incident", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def raise_incident(request_id: int):
    def call(form):
        services.raise_incident(
            current_user,
            request_id,
            product_id=form.product_id.data,
            severity=form.severity.data,
            title=form.title.data,
            description=form.description.data,
        )

    return _post(request_id, "incident", call, "Incident raised and linked to this request.")


@bp.route("/requests/<int:request_id>/backlog", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER)
def raise_backlog_item(request_id: int):
    def call(form):
        services.raise_backlog_item(
            current_user,
            request_id,
            product_id=form.product_id.data,
            kind=form.kind.data,
            title=form.title.data,
            description=form.description.data,
        )

    return _post(request_id, "backlog", call, "Backlog item raised for the product team.")


@bp.route("/requests/<int:request_id>/backlog/link", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER)
def link_backlog_item(request_id: int):
    def call(form):
        services.link_backlog_item(current_user, form.item_id.data, request_id)

    return _post(request_id, "link", call, "Request added to the backlog item.")


@bp.route("/requests/<int:request_id>/rate", methods=["POST"])
@login_required
def rate(request_id: int):
    def call(form):
        services.rate(
            current_user, request_id, form.satisfaction.data, form.satisfaction_comment.data
        )

    return _post(request_id, "rate", call, "Thank you for rating our support.")


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    item, path = services.attachment_for(current_user, attachment_id)
    if not Path(path).is_file():
        abort(404, "The file is missing.")
    response = send_file(
        path,
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


@bp.route("/queue")
@roles_required(Role.SUPPORT_AGENT)
def queue():
    services.sla_check()  # records breaches and closes requests resolved a week ago
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
    pagination = paginate(services.queue_query(current_user, tier=tier, **filters))
    return render_template(
        "support/queue.html",
        pagination=pagination,
        subscriptions=services.subscriptions_of(pagination.items),
        sla={item.id: services.sla_state(item) for item in pagination.items},
        tier=tier,
        filters=filters,
        statuses=list(STATUS_LABELS.items()),
        priorities=[p.value for p in Priority],
        offer_suggestions=knowledge.offer_choices(limit=knowledge.OFFER_MATCHES),
        products=services.products(),
        take_form=TakeForm(formdata=None, prefix="take"),
    )


def _render_incidents(failing: tuple[int, IncidentTransitionForm] | None = None, code: int = 200):
    status = _arg_choice("status", [s.value for s in IncidentStatus])
    pagination = paginate(services.incidents_query(current_user, status=status))
    ids = [incident.id for incident in pagination.items]
    forms = {}
    for incident in pagination.items:
        if failing is not None and failing[0] == incident.id:
            form = failing[1]
        else:
            form = IncidentTransitionForm(formdata=None, prefix=f"i{incident.id}")
        form.to.choices = [
            (to, to) for to in sorted(services.INCIDENT_TRANSITIONS.get(incident.status, set()))
        ]
        _set_hidden(form.version, incident.version)
        forms[incident.id] = form
    return render_template(
        "support/incidents.html",
        pagination=pagination,
        linked=services.requests_of_incidents(ids),
        products={p.id: p.name for p in services.products()},
        forms=forms,
        can_work=services.can_work_incidents(current_user),
        statuses=[s.value for s in IncidentStatus],
        status=status,
    ), code


@bp.route("/incidents")
@login_required
def incidents():
    return _render_incidents()


@bp.route("/incidents/<int:incident_id>/transition", methods=["POST"])
@login_required
def incident_transition(incident_id: int):
    form = IncidentTransitionForm(prefix=f"i{incident_id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        incident = services.transition_incident(
            current_user,
            incident_id,
            form.to.data,
            note=form.note.data,
            expected_version=form.version.data,
        )
    except (ValidationFailed, Conflict, InvalidTransition) as error:
        code = _failed(form, error)
        return _render_incidents((incident_id, form), code)
    flash(f"Incident {incident.id} is now {incident.status}.", "success")
    return redirect(url_for("support.incidents"))


@bp.route("/backlog")
@roles_required(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT)
def backlog():
    product_id = _int(request.args.get("product"))
    items = list(db.session.scalars(services.backlog_query(current_user, product_id=product_id)))
    by_product: dict[int, list] = {}
    for item in items:
        by_product.setdefault(item.product_id, []).append(item)
    return render_template(
        "support/backlog.html",
        counts=services.backlog_counts(current_user),
        by_product=by_product,
        products={p.id: p.name for p in services.products()},
        product_id=product_id,
    )


@bp.route("/backlog.csv")
@roles_required(Role.PRODUCT_MANAGER, Role.SUPPORT_AGENT)
def backlog_csv():
    rows = services.backlog_export_rows(current_user, product_id=_int(request.args.get("product")))
    header = ["product", "kind", "title", "status", "created", "source requests", "request count"]
    return csv_response("backlog.csv", header, rows)
