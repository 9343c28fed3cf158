"""Template globals and filters of the catalog, for every template that shows offers."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from ...i18n import _, format_day, format_when
from .. import pages
from ..models import BILLING_LABELS, KIND_LABELS
from .blueprint import bp

STATUS_CLASSES = {
    "published": "ok",
    "ready": "ok",
    "scheduled": "warn",
    "retiring": "warn",
    "planned": "",
    "draft": "muted",
    "retired": "muted",
    "expired": "muted",
    "superseded": "muted",
}


@bp.app_template_global()
def offer_status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "")


@bp.app_template_filter("plain")
def plain_value(value) -> str:
    """A stored value as readable text (diffs, audit history)."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, date):
        return format_day(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return str(value)


bp.add_app_template_global(BILLING_LABELS, "billing_labels")
bp.add_app_template_global(KIND_LABELS, "kind_labels")


@bp.app_template_global("catalog_home")
def _catalog_home(user) -> dict:
    """What the home page shows of the catalog. Called from templates/main/home.html."""
    return pages.catalog_home(user)
