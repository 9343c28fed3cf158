"""Template globals and filters of the catalog, for every template that shows offers."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask import g, url_for
from markupsafe import Markup, escape

from ...i18n import _, format_day, format_money, format_when
from ...subscriptions.views.compare_links import compare_toggle_html
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
    return Markup(f'{amount} <span class="billing">{texts[billing_period]}</span>')


def _card_tags() -> dict:
    if "card_tags" not in g:
        g.card_tags = {
            "bundle": f'<span class="tag">{escape(_("bundle"))}</span>',
            "retiring": f'<span class="tag warn">{escape(_("retiring"))}</span>',
        }
    return g.card_tags


@bp.app_template_global()
def offer_card_html(offer, price, heading: str = "h3", compare: bool = False) -> Markup:
    """An offer card (catalog, category, home page): a function, not a Jinja macro, since a
    list page shows a few dozen and a macro call cost more than the card's own work. Writes
    what the former macro in templates/catalog/_macros.html wrote, whitespace included."""
    tags = _card_tags()
    category = offer.category
    name = escape(offer.name)
    meta = f'<span class="tag muted">{escape(category.name)}</span>' if category else ""
    summary = offer.summary
    summary = f'<p class="offer-card-summary">{escape(summary)}</p>' if summary else ""
    price_line = offer_card_price(price, offer.currency, offer.billing_period)
    toggle = compare_toggle_html(offer.id, offer.name) if compare else ""
    return Markup(
        f'\n<article class="offer-card" id="offer-card-{offer.id}"'
        f' data-offer-code="{escape(offer.code)}">\n'
        f'  <{heading} class="offer-card-title"><a href="{escape(offer_href(offer.id))}">{name}</a>'
        f"</{heading}>\n"
        f'  <p class="offer-card-meta">\n    {meta}\n'
        f"    {tags['bundle'] if offer.is_bundle else ''}\n"
        f"    {tags['retiring'] if offer.display_status() == 'retiring' else ''}\n  </p>\n"
        f'  {summary}\n  <p class="price">{price_line}</p>\n  {toggle}\n</article>'
    )


bp.add_app_template_global(BILLING_LABELS, "billing_labels")
bp.add_app_template_global(KIND_LABELS, "kind_labels")


@bp.app_template_global("catalog_home")
def _catalog_home(user) -> dict:
    """What the home page shows of the catalog. Called from templates/main/home.html."""
    return pages.catalog_home(user)
