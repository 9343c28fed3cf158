"""Digital products and their releases."""

from __future__ import annotations

from flask import jsonify

from ...api.core import api_user, endpoint, load
from ..schemas import (
    ProductListSchema,
    ProductSchema,
    ProductWriteSchema,
    ReleaseSchema,
    ReleaseTransitionSchema,
    ReleaseWriteSchema,
)
from ..services import (
    products,
)
from .common import (
    TAG,
    require_product_roles,
)

# --- digital products and releases ---------------------------------------------------------


@endpoint(
    "/products",
    summary="Digital products and their releases.",
    tag=TAG,
    response=ProductListSchema,
)
def catalog_products():
    user = api_user()
    require_product_roles(user)
    return jsonify(ProductListSchema().dump({"items": products.list_products()}))


@endpoint(
    "/products",
    "POST",
    summary="Create a digital product (product managers).",
    tag=TAG,
    body=ProductWriteSchema,
    response=ProductSchema,
    status=201,
)
def catalog_create_product():
    user = api_user()
    require_product_roles(user)
    data = load(ProductWriteSchema())
    return jsonify(ProductSchema().dump(products.save_product(user, **data))), 201


@endpoint(
    "/products/<int:product_id>/releases",
    "POST",
    summary="Add a release to a digital product (product managers).",
    tag=TAG,
    body=ReleaseWriteSchema,
    response=ReleaseSchema,
    status=201,
)
def catalog_create_release(product_id: int):
    user = api_user()
    require_product_roles(user)
    data = load(ReleaseWriteSchema())
    return jsonify(ReleaseSchema().dump(products.create_release(user, product_id, **data))), 201


@endpoint(
    "/releases/<int:release_id>/transitions",
    "POST",
    summary="Move a release: planned → accepted → deployed → retired (product managers).",
    tag=TAG,
    body=ReleaseTransitionSchema,
    response=ReleaseSchema,
)
def catalog_transition_release(release_id: int):
    user = api_user()
    require_product_roles(user)
    data = load(ReleaseTransitionSchema())
    return jsonify(ReleaseSchema().dump(products.transition_release(user, release_id, data["to"])))
