"""The words people read for stored values (statuses, kinds, priorities), in their language.

Templates write `{{ offer.status|label }}`; a value without a label here is shown with its
underscores as spaces."""

from __future__ import annotations

from flask_babel import LazyString

from .i18n import _l

LABELS = {
    # statuses of offers, releases, articles and contracts
    "draft": _l("draft"),
    "planned": _l("planned"),
    "ready": _l("ready"),
    "published": _l("published"),
    "scheduled": _l("scheduled"),
    "retiring": _l("retiring"),
    "retired": _l("retired"),
    "expired": _l("expired"),
    "superseded": _l("superseded"),
    "accepted": _l("accepted"),
    "deployed": _l("deployed"),
    "ended": _l("ended"),
    # subscriptions, orders and fulfillment tasks
    "requested": _l("requested"),
    "fulfilling": _l("fulfilling"),
    "active": _l("active"),
    "modifying": _l("modifying"),
    "terminating": _l("terminating"),
    "terminated": _l("terminated"),
    "failed": _l("failed"),
    "completed": _l("completed"),
    "in_progress": _l("in progress"),
    "queued": _l("queued"),
    "waiting": _l("waiting"),
    "done": _l("done"),
    "pending": _l("pending"),
    "delivered": _l("delivered"),
    "running": _l("running"),
    # approvals
    "awaiting_approval": _l("awaiting approval"),
    "rejected": _l("rejected"),
    "cancelled": _l("withdrawn"),
    "approved": _l("approved"),
    "skipped": _l("skipped"),
    "auto_approved": _l("auto-approved"),
    # support requests, incidents and backlog items
    "new": _l("new"),
    "waiting_on_consumer": _l("waiting on consumer"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
    "open": _l("open"),
    "investigating": _l("investigating"),
    "mitigated": _l("mitigated"),
    "declined": _l("declined"),
    "question": _l("question"),
    "issue": _l("issue"),
    "critical": _l("critical"),
    "high": _l("high"),
    "medium": _l("medium"),
    "low": _l("low"),
    "defect": _l("defect"),
    "feature": _l("feature"),
    # order types, notice kinds, job triggers
    "modify": _l("modify"),
    "terminate": _l("terminate"),
    "outage": _l("outage"),
    "degradation": _l("degradation"),
    "maintenance": _l("maintenance"),
    "schedule": _l("schedule"),
    "manual": _l("manual"),
    "automatic": _l("automatic"),
    "task": _l("task"),
    # roles and support channels
    "consumer": _l("consumer"),
    "catalog_manager": _l("catalog manager"),
    "support_agent": _l("support agent"),
    "product_manager": _l("product manager"),
    "admin": _l("admin"),
    "portal": _l("portal"),
    "email": _l("e-mail"),
    "phone": _l("phone"),
    "chat": _l("chat"),
    "support_hours": _l("support hours"),
}


def lazy_label(value):
    """The label, translated when the text holding it is (a notification: in its recipient's
    language)."""
    key = str(getattr(value, "value", value))
    return LABELS.get(key, key.replace("_", " "))


def capital_label(value) -> str:
    """The label with a capital first letter, for a choice or a heading: "In progress"."""
    text = label(value)
    return text[:1].upper() + text[1:]


def lazy_capital_label(value) -> LazyString:
    """`capital_label`, worked out where it is shown (module-level form choices)."""
    return LazyString(capital_label, value)


def label(value) -> str:
    """The label of a stored value, in the user's language."""
    if value is None:
        return ""
    key = str(getattr(value, "value", value))
    found = LABELS.get(key)
    return str(found) if found is not None else key.replace("_", " ")
