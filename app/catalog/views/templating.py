"""Template globals and filters of the catalog, for every template that shows offers."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask import g, url_for
from markupsafe import Markup, escape

from ...i18n import _, format_day, format_money, format_when
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


@bp.app_template_global()
def offer_href(offer_id: int) -> str:
    """url_for('catalog.offer', offer_id=...), built once per request: a list page has one per
    card, and only the id changes."""
    if "offer_href" not in g:
        g.offer_href = url_for("catalog.offer", offer_id=0).removesuffix("0")
    return f"{g.offer_href}{offer_id}"


@bp.app_template_global()
def offer_card_price(price, currency: str | None, billing_period: str) -> Markup:
    """An offer card's price line: the amount and its billing period (both as the locale writes
    them), or "no price"; the texts are translated once per request."""
    if "card_texts" not in g:
        g.card_texts = {"no price": Markup('<span class="muted">%s</span>') % _("no price")}
    texts = g.card_texts
    if price is None:
        return texts["no price"]
    if billing_period not in texts:
        texts[billing_period] = escape(
            str(BILLING_LABELS.get(billing_period, billing_period)).lower()
        )
    amount = escape(format_money(price, currency))
    return amount + Markup(' <span class="billing">') + texts[billing_period] + Markup("</span>")


bp.add_app_template_global(BILLING_LABELS, "billing_labels")
bp.add_app_template_global(KIND_LABELS, "kind_labels")


@bp.app_template_global("catalog_home")
def _catalog_home(user) -> dict:
    """What the home page shows of the catalog. Called from templates/main/home.html."""
    return pages.catalog_home(user)
