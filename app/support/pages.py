"""What the support pages show, where a page needs several services: the ask-for-help form and
its suggestions, the request lists, the request page with its forms, the incidents and the
backlog."""

from __future__ import annotations

from flask import current_app, url_for

from ..accounts.models import Role, User
from ..i18n import _, _l
from ..knowledge import services as knowledge
from ..web import paginate
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
from .services import (
    agents,
    backlog,
    deflection,
    incidents,
    products,
    queue,
    request_view,
    requests,
    sla,
)
from .services.attachments import ALLOWED_ATTACHMENTS, size_text
from .states import INCIDENTS

STATUS_LABELS = {
    "new": _l("new"),
    "in_progress": _l("in progress"),
    "waiting_on_consumer": _l("waiting on consumer"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
}
# (who acts, to) → button label on the request page
TRANSITION_LABELS = {
    ("agent", "in_progress"): _l("Start work"),
    ("agent", "waiting_on_consumer"): _l("Ask for more information"),
    ("agent", "resolved"): _l("Resolve"),
    ("consumer", "closed"): _l("Accept resolution"),
    ("consumer", "in_progress"): _l("Reopen"),
}
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


def _subscription_label(subscription) -> str:
    return f"{subscription.offer.name} — {subscription.group.name} (#{subscription.id}, {subscription.status})"


def _set_hidden(field, value) -> None:
    field.data = value
    field.raw_data = [str(value)]


def _upload_limits() -> dict:
    max_bytes = int(current_app.config.get("MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))
    return {
        "max_bytes": max_bytes,
        "max_size": size_text(max_bytes),
        "allowed": sorted(ALLOWED_ATTACHMENTS),
    }


# --- asking for help ------------------------------------------------------------------------


def request_form(user: User, *, wanted: str | None = None) -> tuple[RequestForm, bool]:
    """The ask-for-help form, its choices the user's subscriptions (and whether there are any);
    `wanted` preselects one of them on a first visit."""
    form = RequestForm()
    choices = requests.requestable_subscriptions(user)
    form.subscription_id.choices = [("", "— choose a subscription —")] + [
        (str(s.id), _subscription_label(s)) for s in choices
    ]
    if wanted is not None:
        form.subscription_id.data = wanted if any(str(s.id) == wanted for s in choices) else ""
    return form, bool(choices)


def ask_page(suggestions: list, has_subscriptions: bool) -> dict:
    """Around the form: the suggested articles, the priority hints and the upload limits."""
    return {
        "suggestions": suggestions,
        "hints": PRIORITY_HINT_TEXT,
        "deflection_form": DeflectionForm(formdata=None),
        "excerpts": {item.id: knowledge.article_excerpt(item.body) for item in suggestions},
        "has_subscriptions": has_subscriptions,
        **_upload_limits(),
    }


def suggestion_list(user: User, subscription_id: int, text: str) -> list[dict]:
    """The live suggestions while a request is typed, as JSON objects."""
    return [
        {
            "id": item.id,
            "title": item.title,
            "url": url_for("knowledge.article", article_id=item.id),
            "excerpt": knowledge.article_excerpt(item.body),
        }
        for item in deflection.suggest_articles(user, subscription_id, text)
    ]


# --- lists ------------------------------------------------------------------------------------


def _request_list(pagination) -> dict:
    return {
        "pagination": pagination,
        "subscriptions": requests.subscriptions_of(pagination.items),
        "sla": {item.id: sla.sla_state(item) for item in pagination.items},
        "statuses": list(STATUS_LABELS.items()),
    }


def my_requests_page(user: User, status: str, whose: str = "mine") -> dict:
    """The requests the user opened, or (whose="group") all of their groups', saying whose."""
    pagination = paginate(requests.my_requests_query(user, status=status, whose=whose))
    return {
        **_request_list(pagination),
        "status": status,
        "whose": whose,
        "can_ask": user.has_role(Role.CONSUMER),
    }


def queue_page(user: User, tier: int, filters: dict) -> dict:
    """The tier's queue. Breaches are recorded by the SLA job, never by loading the page."""
    pagination = paginate(queue.queue_query(user, tier=tier, **filters))
    return {
        **_request_list(pagination),
        "tier": tier,
        "filters": filters,
        "priorities": [p.value for p in Priority],
        "offer_suggestions": knowledge.offer_choices(limit=knowledge.OFFER_MATCHES),
        "products": products.products(),
        "take_form": TakeForm(formdata=None, prefix="take"),
    }


# --- the request page -------------------------------------------------------------------------


def request_page(user: User, request_id: int, failing: tuple[str, object] | None = None) -> dict:
    """The request as this user may see it, with one form per action: `failing` is the
    (name, form) refused just now, shown again with its text and errors."""
    page = request_view(user, request_id)
    item, actions = page["request"], page["actions"]
    forms = {
        name: failing[1]
        if failing is not None and failing[0] == name
        else cls(formdata=None, prefix=prefix)
        for name, (cls, prefix) in FORM_PREFIXES.items()
    }
    for form in forms.values():
        if hasattr(form, "version"):
            _set_hidden(form.version, item.version)  # the page now shows this version
    _fill_choices(forms, page, failing[0] if failing else None)
    role = "agent" if actions["agent"] else "consumer"
    if role == "consumer":  # the requester's own decision: a message to us, not to themselves
        forms["status"].reason.label.text = _("Your message to the support team (optional)")
    buttons = [
        (to, TRANSITION_LABELS.get((role, to), STATUS_LABELS.get(to, to)))
        for to in actions["transitions"]
        if not (role == "consumer" and item.status == RequestStatus.WAITING_ON_CONSUMER)
    ]
    context = {key: value for key, value in page.items() if key != "request"}
    return {"req": item, "forms": forms, "buttons": buttons, **_upload_limits(), **context}


def _fill_choices(forms: dict, page: dict, failing: str | None) -> None:
    item, actions = page["request"], page["actions"]
    staff = actions["agent"] or actions["backlog"]
    product_choices = (
        [("", "— choose —")] + [(str(p.id), p.name) for p in products.products()] if staff else []
    )
    default_product = products.default_product_id(page["subscription"])
    forms["assign"].assignee_id.choices = (
        [("", "— choose an agent —")]
        + [
            (str(agent.id), f"{agent.name} (tier {agent.support_tier})")
            for agent in agents.assignable_agents(item)
        ]
        if actions["assign"]
        else []
    )
    for name in ("incident", "backlog"):
        forms[name].product_id.choices = product_choices
        if failing != name:
            forms[name].product_id.data = str(default_product or "")
            forms[name].title.data = item.subject
    linked_ids = {linked.id for linked in page["backlog_items"]}
    forms["link"].item_id.choices = (
        [("", "— choose an item —")]
        + [
            (str(open_item.id), f"#{open_item.id} {open_item.kind}: {open_item.title}")
            for open_item in backlog.open_backlog_items(default_product)
            if open_item.id not in linked_ids
        ]
        if actions["backlog"]
        else []
    )


# --- incidents and the backlog -----------------------------------------------------------------


def incidents_page(
    user: User, status: str, failing: tuple[int, IncidentTransitionForm] | None = None
) -> dict:
    """One page of incidents, each with its transition form (`failing`: the one refused just
    now, with its errors), the requests linked to them and the products' names."""
    pagination = paginate(incidents.incidents_query(user, status=status))
    forms = {}
    for incident in pagination.items:
        if failing is not None and failing[0] == incident.id:
            form = failing[1]
        else:
            form = IncidentTransitionForm(formdata=None, prefix=f"i{incident.id}")
        form.to.choices = [(to, to) for to in sorted(INCIDENTS.targets(incident.status))]
        _set_hidden(form.version, incident.version)
        forms[incident.id] = form
    return {
        "pagination": pagination,
        "linked": incidents.requests_of_incidents([incident.id for incident in pagination.items]),
        "products": {p.id: p.name for p in products.products()},
        "forms": forms,
        "can_work": incidents.can_work_incidents(user),
        "statuses": [s.value for s in IncidentStatus],
        "status": status,
    }


def backlog_page(user: User, product_id: int | None) -> dict:
    """The backlog items grouped by product, with each product's counts."""
    by_product: dict[int, list] = {}
    for item in backlog.backlog_items(user, product_id=product_id):
        by_product.setdefault(item.product_id, []).append(item)
    return {
        "counts": backlog.backlog_counts(user),
        "by_product": by_product,
        "products": {p.id: p.name for p in products.products()},
        "product_id": product_id,
    }


# --- a group as its managers see it -----------------------------------------------------------


def group_page(user: User, group_id: int, owner_id: int | None = None) -> dict:
    """A managed group: its managers and members (with how many subscriptions each owns), its
    subscriptions (one member's, given `owner_id`) and its newest support requests."""
    from ..accounts.services import groups
    from ..subscriptions.services import group_view

    pagination = paginate(group_view.group_subscriptions_query(user, group_id, owner_id=owner_id))
    group = group_view.overseen_group(user, group_id)
    items = requests.group_requests(user, group_id)
    return {
        "group": group,
        "managers": groups.managers_of(group),
        "counts": group_view.group_subscription_counts(user, group_id),
        "owner_id": owner_id,
        "pagination": pagination,
        "requests": items,
        "sla": {item.id: sla.sla_state(item) for item in items},
        "request_subscriptions": requests.subscriptions_of(items),
    }


def managed_groups_page(user: User) -> dict:
    from ..accounts.services import groups

    return {"groups": groups.managed_groups(user)}
