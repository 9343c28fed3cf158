"""The category tree."""

from __future__ import annotations

from flask import jsonify

from ...api.core import api_user, endpoint, load
from ..schemas import (
    CategoryListSchema,
    CategorySchema,
    CategoryWriteSchema,
)
from ..services import (
    categories,
)
from .common import (
    TAG,
    category_dump,
    flag,
    require_manager,
)

# --- categories ----------------------------------------------------------------------------


@endpoint(
    "/categories",
    summary="The category tree, parents before children (catalog managers: "
    "?include_archived=true).",
    tag=TAG,
    response=CategoryListSchema,
    query={"include_archived": "Catalog managers: true to include archived categories."},
)
def catalog_categories():
    user = api_user()
    include_archived = flag("include_archived")
    if include_archived:
        require_manager(user)
    items = []
    for category, depth in categories.category_tree(include_archived=include_archived):
        body = CategorySchema().dump(category)
        body["depth"] = depth
        items.append(body)
    return jsonify({"items": items})


@endpoint(
    "/categories",
    "POST",
    summary="Create a category (under parent_id, or at the top).",
    tag=TAG,
    body=CategoryWriteSchema,
    response=CategorySchema,
    status=201,
)
def catalog_create_category():
    user = api_user()
    require_manager(user)
    data = load(CategoryWriteSchema())
    return jsonify(category_dump(categories.save_category(user, **data))), 201


@endpoint(
    "/categories/<int:category_id>",
    "PATCH",
    summary="Rename, describe or move a category (missing fields keep their value).",
    tag=TAG,
    body=CategoryWriteSchema,
    response=CategorySchema,
)
def catalog_update_category(category_id: int):
    user = api_user()
    require_manager(user)
    data = load(CategoryWriteSchema(), partial=True)
    category = categories.get_category(category_id)
    category = categories.save_category(
        user,
        name=data.get("name", category.name),
        parent_id=data.get("parent_id", category.parent_id),
        description=data.get("description", category.description),
        category_id=category.id,
    )
    return jsonify(category_dump(category))
