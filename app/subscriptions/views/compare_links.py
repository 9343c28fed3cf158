"""Choosing offers to compare from a list page (catalog, category, search): the choice so far
travels in ?compare=1,2 of the list's own URL. A list page shows one toggle per offer card, so
what is the same for every card (the chosen ids, the texts, the page's URL without `compare`)
is worked out once per request; each toggle then costs one string."""

from __future__ import annotations

from flask import g, request, url_for
from markupsafe import Markup, escape

from ...i18n import _
from ...web import query_args
from ..services import comparison
from . import bp


@bp.app_template_global()
def compared_ids() -> list[int]:
    """The offers chosen for a comparison on a list page (catalog, search): ?compare=1,2."""
    return list(_page()["chosen"])


def _page() -> dict:
    if "compare_links" not in g:
        chosen = comparison.chosen_ids(request.args.getlist("compare"))
        view_args = request.view_args or {}
        base = url_for(request.endpoint, **view_args, **query_args(*view_args, "compare"))
        g.compare_links = {
            "chosen": chosen,
            "base": base + ("&" if "?" in base else "?"),
            # as Jinja's i18n extension does: the translation is markup, its variables escaped
            "add": Markup(_("Add to comparison")),
            "remove": Markup(_("Remove from comparison")),
            "full": Markup(_("You can compare up to %(max)s offers. Remove one to add this one."))
            % {"max": comparison.MAX_COMPARED},
        }
    return g.compare_links


def _href(page: dict, ids: list[int]) -> str:
    """The page's URL with ?compare= these ids: what current_url(compare=...) gives (url_for
    puts a changed argument last; digits and commas are left as they are by werkzeug's
    encoder, so the ids need no encoding)."""
    if not ids:
        return page["base"][:-1]
    return page["base"] + "compare=" + ",".join(map(str, ids))


@bp.app_template_global()
def compare_toggle_html(offer_id: int, name: str) -> Markup:
    """One offer card's link to add it to the comparison or take it out (or why not)."""
    page = _page()
    chosen = page["chosen"]
    if offer_id in chosen:
        href = _href(page, [i for i in chosen if i != offer_id])
        text = page["remove"]
    elif len(chosen) >= comparison.MAX_COMPARED:
        # the leading newline keeps the page byte for byte as the former Jinja macro wrote it
        return Markup(
            f'\n<p class="compare-toggle"><span class="hint-inline">{page["full"]}</span></p>'
        )
    else:
        href = _href(page, [*chosen, offer_id])
        text = page["add"]
    return Markup(
        f'\n<p class="compare-toggle"><a href="{escape(href)}#offer-card-{offer_id}">{text}'
        f'<span class="visually-hidden">: {escape(name)}</span></a></p>'
    )
