"""The consumer catalog: browsing, categories and the offer page."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...web import page_number
from .. import pages
from .blueprint import bp


@bp.route("/")
@login_required
def browse():
    args = request.args
    page = pages.browse_page(
        current_user,
        page_number(),
        sort=args.get("sort"),
        min_price=args.get("min_price"),
        max_price=args.get("max_price"),
    )
    return render_template("catalog/browse.html", **page), (422 if page["errors"] else 200)


@bp.route("/categories/<slug>")
@login_required
def category(slug: str):
    args = request.args
    page = pages.category_page(
        current_user,
        slug,
        page_number(),
        sort=args.get("sort"),
        min_price=args.get("min_price"),
        max_price=args.get("max_price"),
    )
    return render_template("catalog/category.html", **page), (422 if page["errors"] else 200)


@bp.route("/offers/<int:offer_id>")
@login_required
def offer(offer_id: int):
    page = pages.offer_page(current_user, offer_id)
    if page["newer"] is not None:
        return redirect(url_for(".offer", offer_id=page["newer"].id))
    return render_template("catalog/offer.html", **page)
