"""JSON routes of the knowledge base under /api/v1: they call the same services as the HTML
pages and dump a schema. Errors are problem+json through the shared handlers."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from ..api.core import api_user, endpoint, int_arg
from ..errors import ValidationFailed
from ..extensions import db
from ..i18n import _
from . import services
from .schemas import KnowledgeHitSchema, KnowledgePageSchema

TAG = "support"  # the OpenAPI document lists the knowledge base with Provide Service Support


@endpoint(
    "/knowledge",
    summary="Published knowledge articles matching a search",
    tag=TAG,
    response=KnowledgePageSchema,
    query={
        "q": "words to search for",
        "offer": "an offer code",
        "product": "a digital product id",
        "page": "page number, from 1",
        "per_page": "1–100",
    },
)
def knowledge_list():
    user = api_user()
    q = request.args.get("q", "")
    if len(q) > 200:
        raise ValidationFailed(
            _("Keep the search to 200 characters."), fields={"q": [_("Too long.")]}
        )
    query = services.search_articles(
        user,
        q,
        product_id=int_arg("product", None),
        offer_code=request.args.get("offer", "")[:40],
        published_only=True,
    )
    per_page = int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100)
    pagination = db.paginate(query, page=int_arg("page", 1), per_page=per_page, error_out=False)
    ratings = services.article_ratings([item.id for item in pagination.items])
    items = []
    for item in pagination.items:
        data = KnowledgeHitSchema().dump(item)
        data["helpful"], data["not_helpful"] = ratings[item.id]
        data["url"] = url_for("knowledge.article", article_id=item.id)
        items.append(data)
    return jsonify(
        {
            "items": items,
            "page": pagination.page,
            "per_page": pagination.per_page,
            "total": pagination.total,
            "pages": pagination.pages,
        }
    )
