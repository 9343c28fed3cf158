"""Knowledge base pages, under /support/knowledge: the list, an article, its vote, and writing
one. Each route parses input, calls the services and renders or redirects; refused input
re-renders the form with the writer's text kept."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..audit import readable
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..i18n import _, _l
from ..inputs import whole_number
from ..labels import label
from ..web import apply_field_errors, paginate, roles_required
from . import pages, services
from .forms import ArticleForm, FeedbackForm
from .models import KnowledgeArticle

bp = Blueprint("knowledge", __name__, url_prefix="/support/knowledge")


def _article_titles(ids: set[int]) -> dict[int, str]:
    """Articles' titles by id: how an offer's linked articles read in the audit trail."""
    return dict(
        db.session.execute(
            sa.select(KnowledgeArticle.id, KnowledgeArticle.title).where(
                KnowledgeArticle.id.in_(ids)
            )
        ).all()
    )


readable.register_labels({"articles": _l("Articles"), "title": _l("Title")})
readable.register_names("articles", _article_titles)


@bp.route("")
@login_required
def index():
    q = request.args.get("q", "")[:200]
    offer = request.args.get("offer", "").strip().upper()[:40]
    product_id = whole_number(request.args.get("product"))
    query = services.search_articles(current_user, q, product_id=product_id, offer_code=offer)
    pagination = paginate(query)
    return render_template(
        "knowledge/index.html",
        pagination=pagination,
        **pages.knowledge_page(current_user, pagination.items, offer=offer),
    )


@bp.route("/<int:article_id>")
@login_required
def article(article_id: int):
    return render_template(
        "knowledge/article.html",
        feedback_form=FeedbackForm(),
        **pages.article_page(current_user, article_id),
    )


@bp.route("/<int:article_id>/view", methods=["POST"])
@login_required
def article_view(article_id: int):
    """The article page posts here once it is shown (static/js/knowledge.js): the view count."""
    services.count_view(current_user, article_id)
    return "", 204


@bp.route("/<int:article_id>/feedback", methods=["POST"])
@login_required
def article_feedback(article_id: int):
    form = FeedbackForm()
    if not form.validate_on_submit() or form.helpful.data not in ("yes", "no"):
        abort(400, _("Answer yes or no."))
    services.rate_article(current_user, article_id, form.helpful.data == "yes")
    flash(_("Thank you for your feedback."), "success")
    return redirect(url_for("knowledge.article", article_id=article_id))


def _article_form(article_id: int | None):
    editor = pages.article_editor(current_user, article_id)
    existing = editor["article"]
    form = ArticleForm(obj=existing if request.method == "GET" else None)
    form.product_id.choices = editor["product_choices"]
    if request.method == "GET":
        if existing is not None:
            form.version.data = str(existing.version)
            form.product_id.data = str(existing.product_id or "")
            form.offer_codes.data = ", ".join(editor["offer_codes"])
        else:
            form.status.data = "draft"
            form.offer_codes.data = request.args.get("offer", "")[:40]
    status = 200
    if form.validate_on_submit():
        try:
            saved = services.save_article_with_offers(
                current_user,
                article_id=article_id,
                title=form.title.data,
                body=form.body.data,
                status=form.status.data,
                product_id=form.product_id.data,
                offer_codes=re.split(r"[\s,;]+", form.offer_codes.data or ""),
                expected_version=form.version.data if existing is not None else None,
            )
        except (ValidationFailed, Conflict) as error:
            apply_field_errors(form, error)
            status = error.status
        else:
            flash(
                _(
                    "Article “%(title)s” saved (%(status)s).",
                    title=saved.title,
                    status=label(saved.status),
                ),
                "success",
            )
            return redirect(url_for("knowledge.article", article_id=saved.id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "knowledge/article_form.html",
        form=form,
        article=existing,
        offer_suggestions=editor["offer_suggestions"],
    ), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)
def new_article():
    return _article_form(None)


@bp.route("/<int:article_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)
def edit_article(article_id: int):
    return _article_form(article_id)
