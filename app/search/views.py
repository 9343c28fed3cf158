"""The search page: parse the query string, call the search service, render."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import ValidationFailed
from ..web import page_number
from .facets import FACET_LABELS
from .query import SORTS
from .services import search_offers

bp = Blueprint("search", __name__, url_prefix="/search")

FILTER_ARGS = ("category", "billing", "kind", "price", "min_price", "max_price")
SEARCH_ARGS = ("q", "sort", *FILTER_ARGS, "compare")  # compare: the offers chosen to compare


def search_url(**changes) -> str:
    """This search with some parameters changed (None removes one); back to page 1. Only the
    search's own parameters are carried over (never url_for's _external, _scheme ...)."""
    args = {
        key: value
        for key, value in request.args.items()
        if key in SEARCH_ARGS and value not in ("", None)
    }
    for key, value in changes.items():
        if value in (None, ""):
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("search.results", **args)


def facet_url(name: str, value: str, selected: bool) -> str:
    return search_url(**{name: None if selected else value})


def article_url(article_id: int) -> str:
    return url_for("knowledge.article", article_id=article_id)


@bp.route("", strict_slashes=False)
@login_required
def results():
    args = request.args
    errors: dict[str, list[str]] = {}
    try:
        result = search_offers(
            current_user,
            args.get("q", ""),
            category=args.get("category"),
            billing=args.get("billing"),
            kind=args.get("kind"),
            min_price=args.get("min_price"),
            max_price=args.get("max_price"),
            price_range=args.get("price"),
            sort=args.get("sort") or "relevance",
            page=page_number(),
        )
    except ValidationFailed as error:
        result, errors = None, error.fields
    return render_template(
        "search/results.html",
        result=result,
        errors=errors,
        q=args.get("q", ""),
        sorts=SORTS,
        facet_labels=FACET_LABELS,
        search_url=search_url,
        facet_url=facet_url,
        article_url=article_url,
        filter_args=FILTER_ARGS,
    ), (200 if result is not None else 422)
