"""GET /api/v1/search: offers and knowledge articles from the same search service as the search
page, with facets and highlighted fragments, for the caller the token belongs to."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from marshmallow import Schema, fields

from ..api.core import api_user, endpoint, int_arg
from .services import search_offers

TAG = "search"
MARKED = "HTML: escaped text with <mark> around the matched words."


class FacetValueSchema(Schema):
    value = fields.Str(metadata={"description": "The filter's value (a category slug ...)."})
    label = fields.Str()
    count = fields.Int(metadata={"description": "Matching offers with this value."})
    selected = fields.Bool()


class SearchCategorySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    slug = fields.Str()


class SearchOfferSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    summary = fields.Str()
    title_html = fields.Str(metadata={"description": "The name. " + MARKED})
    snippet_html = fields.Str(metadata={"description": "The matching fragment. " + MARKED})
    price = fields.Str(allow_none=True, metadata={"description": "In force now."})
    currency = fields.Str()
    billing_period = fields.Str()
    kind = fields.Str()
    category = fields.Nested(SearchCategorySchema, allow_none=True)
    published_at = fields.Str(allow_none=True)
    status = fields.Str()
    score = fields.Float(allow_none=True, metadata={"description": "Relevance; higher first."})
    url = fields.Str()


class SearchArticleSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    title_html = fields.Str(metadata={"description": MARKED})
    snippet_html = fields.Str(metadata={"description": MARKED})
    url = fields.Str()


class FacetsSchema(Schema):
    category = fields.List(fields.Nested(FacetValueSchema))
    billing = fields.List(fields.Nested(FacetValueSchema))
    kind = fields.List(fields.Nested(FacetValueSchema))
    price = fields.List(fields.Nested(FacetValueSchema))


class SearchPageSchema(Schema):
    query = fields.Str()
    total = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    pages = fields.Int()
    sort = fields.Str()
    filters = fields.Dict()
    source = fields.Str(metadata={"description": "index, or database when the index is down."})
    degraded = fields.Bool()
    suggestion = fields.Str(allow_none=True, metadata={"description": "Did you mean ..."})
    items = fields.List(fields.Nested(SearchOfferSchema), metadata={"description": "Offers."})
    facets = fields.Nested(FacetsSchema, metadata={"description": "Counts over all matches."})
    articles = fields.List(
        fields.Nested(SearchArticleSchema),
        metadata={"description": "The best five published knowledge articles that match."},
    )


@endpoint(
    "/search",
    summary="Search offers and knowledge articles the caller may see: ranked offers (paged) "
    "with facets and highlighted fragments, and the best matching articles.",
    tag=TAG,
    response=SearchPageSchema,
    query={
        "q": "Search words, at most 200 characters; empty lists every offer.",
        "category": "A category slug or id.",
        "billing": "one_time, monthly or yearly.",
        "kind": "new_instance, modification, termination, support or bundle.",
        "price": "A price facet value: under_10, 10_50, 50_200 or 200_plus.",
        "min_price": "The price in force now at least this amount.",
        "max_price": "The price in force now at most this amount.",
        "sort": "relevance (default), price_asc, price_desc or newest.",
        "page": "Page number, from 1.",
        "per_page": "Offers per page, 1–100.",
    },
)
def search():
    user = api_user()
    args = request.args
    result = search_offers(
        user,
        args.get("q", ""),
        category=args.get("category"),
        billing=args.get("billing"),
        kind=args.get("kind"),
        min_price=args.get("min_price"),
        max_price=args.get("max_price"),
        price_range=args.get("price"),
        sort=args.get("sort") or "relevance",
        page=int_arg("page", 1, maximum=100_000),
        per_page=int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100),
    )
    data = result.to_dict()
    for article in data["articles"]:
        article["url"] = url_for("knowledge.article", article_id=article["id"])
    return jsonify(data)
