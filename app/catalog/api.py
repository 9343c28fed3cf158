"""JSON routes of the catalog under /api/v1: load a schema, call the same service as the HTML
pages, dump a schema. Consumers get the consumer view of an offer (no cost, margin, plans or
audit data); catalog managers get everything. Errors are problem+json through the shared
handlers.

Offers are edited with optimistic locking: GET returns `ETag: "<version>"`; PATCH needs
`If-Match` with it (428 without, 412 when someone saved in between, naming what changed).
Transitions and bundle members take `If-Match` too, when it is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Response, current_app, jsonify, request, url_for
from marshmallow import Schema
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.services import require_role
from ..api.core import api_user, endpoint, int_arg, json_body, load
from ..errors import Conflict, DomainError, ValidationFailed
from ..extensions import db
from ..inputs import whole_number
from . import exchange
from . import services as catalog
from .models import OfferStatus, ServiceOffer
from .schemas import (
    MANAGER_SUMMARY_FIELDS,
    SUMMARY_FIELDS,
    AudienceSchema,
    AudienceWriteSchema,
    CatalogFileSchema,
    CategoryListSchema,
    CategorySchema,
    CategoryWriteSchema,
    ConsumerOfferSchema,
    ImportReportSchema,
    ManagerOfferSchema,
    MembersWriteSchema,
    OfferPageSchema,
    OfferPatchSchema,
    OfferTransitionSchema,
    OfferView,
    OfferWriteSchema,
    PriceChangeListSchema,
    PriceChangeSchema,
    PriceChangeWriteSchema,
    ProductListSchema,
    ProductSchema,
    ProductWriteSchema,
    ReadinessSchema,
    ReleaseSchema,
    ReleaseTransitionSchema,
    ReleaseWriteSchema,
)

TAG = "catalog"
LIST_STATUSES = [*(status.value for status in OfferStatus), "scheduled", "all"]


class PreconditionFailed(Conflict):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


# --- helpers -------------------------------------------------------------------------------


def _require_manager(user: User) -> None:
    """Route guard (the services check again): catalog managers only."""
    require_role(user, *catalog.CATALOG_ROLES, message="Only catalog managers may do this.")


def _require_product_roles(user: User) -> None:
    require_role(
        user, *catalog.PRODUCT_ROLES, message="Only product and catalog managers may do this."
    )


def _expected_version(*, required: bool) -> int | None:
    """The version in If-Match ("3", W/"3" or 3); None for `*` or, when optional, absent."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the offer's ETag from GET, so that an edit made in the "
                "meantime is not overwritten.",
                fields={"If-Match": ['Required, e.g. If-Match: "3".']},
            )
        return None
    if header == "*":
        return None
    version = whole_number(header.removeprefix("W/").strip().strip('"'))
    if version is None:
        raise PreconditionFailed(
            f"If-Match {header} is not an ETag of this offer.",
            fields={"If-Match": ['Use the ETag from GET, e.g. "3".']},
        )
    return version


@contextmanager
def _stale_is_412() -> Iterator[None]:
    """The services refuse a stale version with Conflict; over HTTP that is 412."""
    try:
        yield
    except Conflict as error:
        if "version" in error.fields:
            raise PreconditionFailed(error.message, fields=error.fields) from error
        raise


def _flag(name: str) -> bool:
    value = request.args.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValidationFailed(f"'{name}' is true or false.", fields={name: ["Use true or false."]})


def _views(offers: list[ServiceOffer], user: User) -> list[OfferView]:
    """Offers with the price in force and, for managers, audience and settings: in a fixed
    number of queries whatever the number of offers."""
    codes = [offer.code for offer in offers]
    prices = catalog.effective_prices(codes)
    settings = exchange.code_settings(codes)
    manager = catalog.can_manage_catalog(user)
    views = []
    for offer in offers:
        change = prices.get(offer.code)
        extra = {
            "current_price": change.price if change else offer.price,
            "current_cost": change.cost if change and change.cost is not None else offer.cost,
            "featured": settings[offer.code]["featured"],
        }
        if manager:
            extra.update(
                audience=settings[offer.code]["audience"],
                pilot_groups=settings[offer.code]["pilot_groups"],
                canary=settings[offer.code]["canary"],
                allowed_transitions=catalog.allowed_transitions(offer),
            )
        views.append(OfferView(offer, **extra))
    return views


def _offer_schema(user: User, **kwargs):
    if catalog.can_manage_catalog(user):
        return ManagerOfferSchema(**kwargs)
    return ConsumerOfferSchema(**kwargs)


def _offer_response(offer: ServiceOffer, user: User, status: int = 200) -> Response:
    response = jsonify(_offer_schema(user).dump(_views([offer], user)[0]))
    response.status_code = status
    response.headers["ETag"] = f'"{offer.version}"'
    if status == 201:
        response.headers["Location"] = url_for("api.catalog_offer", offer_id=offer.id)
    return response


def _locked_offer_write(
    schema: Schema,
    change: Callable[[User, dict, int | None], ServiceOffer],
    *,
    if_match_required: bool = False,
    partial: bool = False,
) -> Response:
    """A catalog manager's write to one offer under optimistic locking: the role, If-Match
    (428 when required and missing), the body (422; `partial` for a PATCH), then `change(user, data, expected
    version)`; a stale version is 412. Answers the offer as the manager sees it."""
    user = api_user()
    _require_manager(user)
    expected = _expected_version(required=if_match_required)
    data = load(schema, partial=partial)
    with _stale_is_412():
        offer = change(user, data, expected)
    return _offer_response(offer, user)


def _category_dump(category) -> dict:
    depth, parent = 0, category.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    body = CategorySchema().dump(category)
    body["depth"] = depth
    return body


# --- offers: everyone ----------------------------------------------------------------------


@endpoint(
    "/offers",
    summary="Offers the caller may see now. Catalog managers may list any status with "
    "?status= (and get the full view: cost, margin, audience, version).",
    tag=TAG,
    response=OfferPageSchema,
    query={
        "page": "Page number, from 1.",
        "per_page": "Offers per page, 1–100.",
        "status": "Catalog managers: draft, planned, ready, published, retired, superseded, "
        "scheduled or all.",
        "category_id": "Only offers in this category.",
    },
)
def catalog_offers():
    user = api_user()
    status = request.args.get("status", "").strip()
    category_id = int_arg("category_id", None)
    if status and status not in LIST_STATUSES:
        raise ValidationFailed(
            "Unknown status.", fields={"status": [f"Use one of: {', '.join(LIST_STATUSES)}."]}
        )
    if status:
        query = catalog.workspace_query(
            user, status="" if status == "all" else status, category_id=category_id
        )
    else:
        query = catalog.visible_offers_query(user).order_by(ServiceOffer.name, ServiceOffer.id)
        if category_id:
            query = query.where(ServiceOffer.category_id == category_id)
    page = db.paginate(
        query.options(selectinload(ServiceOffer.members)),
        page=int_arg("page", 1),
        per_page=int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100),
        error_out=False,
    )
    manager = catalog.can_manage_catalog(user)
    schema = _offer_schema(
        user, many=True, only=MANAGER_SUMMARY_FIELDS if manager else SUMMARY_FIELDS
    )
    return jsonify(
        {
            "items": schema.dump(_views(list(page.items), user)),
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
            "total": page.total,
        }
    )


@endpoint(
    "/offers/<int:offer_id>",
    summary="One offer, if the caller may see it (404 otherwise). ETag: its version.",
    tag=TAG,
    response=ManagerOfferSchema,
)
def catalog_offer(offer_id: int):
    user = api_user()
    return _offer_response(catalog.offer_for_viewer(user, offer_id), user)


# --- offers: catalog managers --------------------------------------------------------------


@endpoint(
    "/offers",
    "POST",
    summary="Create an offer (a draft, revision 1).",
    tag=TAG,
    body=OfferWriteSchema,
    response=ManagerOfferSchema,
    status=201,
)
def catalog_create_offer():
    user = api_user()
    _require_manager(user)
    data = load(OfferWriteSchema())
    return _offer_response(catalog.create_offer(user, data), user, 201)


@endpoint(
    "/offers/<int:offer_id>",
    "PATCH",
    summary="Edit a draft, planned or ready revision. Needs If-Match with the ETag from GET: "
    "428 without it, 412 when the offer changed since.",
    tag=TAG,
    body=OfferPatchSchema,
    response=ManagerOfferSchema,
)
def catalog_update_offer(offer_id: int):
    return _locked_offer_write(
        OfferPatchSchema(),
        lambda user, data, expected: catalog.update_offer(
            user, offer_id, data, expected_version=expected
        ),
        if_match_required=True,
        partial=True,
    )


@endpoint(
    "/offers/<int:offer_id>/transitions",
    "POST",
    summary="Move an offer through its lifecycle: draft → planned → ready → published → "
    "retired (with end_date and replacement_code). If-Match is checked when sent.",
    tag=TAG,
    body=OfferTransitionSchema,
    response=ManagerOfferSchema,
)
def catalog_transition_offer(offer_id: int):
    return _locked_offer_write(
        OfferTransitionSchema(),
        lambda user, data, expected: catalog.transition_offer(
            user,
            offer_id,
            data["to"],
            expected_version=expected,
            end_date=data.get("end_date"),
            replacement_code=data.get("replacement_code"),
        ),
    )


@endpoint(
    "/offers/<int:offer_id>/readiness",
    summary="The readiness checklist that gates `ready`, with what is missing.",
    tag=TAG,
    response=ReadinessSchema,
)
def catalog_offer_readiness(offer_id: int):
    user = api_user()
    _require_manager(user)
    offer = catalog.get_offer(offer_id)
    items = catalog.readiness(offer)
    return jsonify(
        ReadinessSchema().dump(
            {
                "offer_id": offer.id,
                "status": offer.status,
                "version": offer.version,
                "ready": all(item["ok"] for item in items),
                "items": items,
                "allowed_transitions": catalog.allowed_transitions(offer),
            }
        )
    )


@endpoint(
    "/offers/<int:offer_id>/revisions",
    "POST",
    summary="Start changing a published offer: a new draft revision copied from it.",
    tag=TAG,
    response=ManagerOfferSchema,
    status=201,
)
def catalog_create_revision(offer_id: int):
    user = api_user()
    _require_manager(user)
    return _offer_response(catalog.create_revision(user, offer_id), user, 201)


@endpoint(
    "/offers/<int:offer_id>/price-changes",
    summary="The offer's price history, newest first.",
    tag=TAG,
    response=PriceChangeListSchema,
)
def catalog_price_history(offer_id: int):
    user = api_user()
    _require_manager(user)
    history = catalog.price_history(catalog.get_offer(offer_id).code)
    return jsonify(PriceChangeListSchema().dump({"items": history}))


@endpoint(
    "/offers/<int:offer_id>/price-changes",
    "POST",
    summary="Add a price (and cost) that takes effect on a date.",
    tag=TAG,
    body=PriceChangeWriteSchema,
    response=PriceChangeSchema,
    status=201,
)
def catalog_add_price_change(offer_id: int):
    user = api_user()
    _require_manager(user)
    data = load(PriceChangeWriteSchema())
    change = catalog.add_price_change(user, catalog.get_offer(offer_id).code, **data)
    return jsonify(PriceChangeSchema().dump(change)), 201


@endpoint(
    "/offers/<int:offer_id>/audience",
    "PUT",
    summary="Who may see the offer (every revision, at once): groups (none: everyone), pilot "
    "groups and canary.",
    tag=TAG,
    body=AudienceWriteSchema,
    response=AudienceSchema,
)
def catalog_set_audience(offer_id: int):
    user = api_user()
    _require_manager(user)
    data = load(AudienceWriteSchema())
    code = catalog.get_offer(offer_id).code
    catalog.set_audience(
        user,
        code,
        group_ids=data["group_ids"],
        pilot_group_ids=data["pilot_group_ids"],
        canary=data["canary"],
    )
    groups, pilots = catalog.audience_of(code)
    return jsonify(
        AudienceSchema().dump(
            {
                "offer_code": code,
                "groups": groups,
                "pilot_groups": pilots,
                "canary": catalog.settings_for(code).canary,
            }
        )
    )


@endpoint(
    "/offers/<int:offer_id>/members",
    "PUT",
    summary="A bundle's members, in order (published single offers). If-Match is checked "
    "when sent.",
    tag=TAG,
    body=MembersWriteSchema,
    response=ManagerOfferSchema,
)
def catalog_set_members(offer_id: int):
    return _locked_offer_write(
        MembersWriteSchema(),
        lambda user, data, expected: catalog.set_bundle_members(
            user, offer_id, data["members"], expected_version=expected
        ),
    )


# --- catalog as code -----------------------------------------------------------------------


@endpoint(
    "/catalog/export",
    summary="The whole catalog as YAML (default) or JSON (?format=json), in the format "
    "that /catalog/import reads.",
    tag=TAG,
    response=CatalogFileSchema,
    query={"format": "yaml (default) or json."},
)
def catalog_export():
    user = api_user()
    _require_manager(user)
    fmt = request.args.get("format", "yaml").strip().lower()
    if fmt not in ("yaml", "json"):
        raise ValidationFailed("Unknown format.", fields={"format": ["Use yaml or json."]})
    data = exchange.export_catalog(user)
    if fmt == "json":
        return jsonify(data)
    return Response(
        exchange.dump_yaml(data),
        mimetype="application/yaml",
        headers={"Content-Disposition": 'inline; filename="catalog.yaml"'},
    )


@endpoint(
    "/catalog/import",
    "POST",
    summary="Create or update offers by code from a catalog document (YAML body, or JSON "
    "with Content-Type application/json). ?dry_run=true reports the differences and saves "
    "nothing. Problems are 422 with errors keyed by item path (offers[3].price).",
    tag=TAG,
    body=CatalogFileSchema,
    response=ImportReportSchema,
    query={"dry_run": "true: report what would change, save nothing."},
)
def catalog_import():
    user = api_user()
    _require_manager(user)
    dry_run = _flag("dry_run")
    if request.is_json:
        data, lines = json_body(), None
        if data is None:
            raise ValidationFailed(
                "The body is not valid JSON.", fields={"body": ["Send a JSON object."]}
            )
    else:
        text = request.get_data(as_text=True)
        if not text.strip():
            raise ValidationFailed(
                "The body is empty.", fields={"body": ["Send the catalog as YAML or JSON."]}
            )
        data, lines = exchange.parse_yaml(text)
    report = exchange.import_catalog(user, data, dry_run=dry_run, lines=lines)
    return jsonify(ImportReportSchema().dump(report))


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
    include_archived = _flag("include_archived")
    if include_archived:
        _require_manager(user)
    items = []
    for category, depth in catalog.category_tree(include_archived=include_archived):
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
    _require_manager(user)
    data = load(CategoryWriteSchema())
    return jsonify(_category_dump(catalog.save_category(user, **data))), 201


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
    _require_manager(user)
    data = load(CategoryWriteSchema(), partial=True)
    category = catalog.get_category(category_id)
    category = catalog.save_category(
        user,
        name=data.get("name", category.name),
        parent_id=data.get("parent_id", category.parent_id),
        description=data.get("description", category.description),
        category_id=category.id,
    )
    return jsonify(_category_dump(category))


# --- digital products and releases ---------------------------------------------------------


@endpoint(
    "/products",
    summary="Digital products and their releases.",
    tag=TAG,
    response=ProductListSchema,
)
def catalog_products():
    user = api_user()
    _require_product_roles(user)
    return jsonify(ProductListSchema().dump({"items": catalog.list_products()}))


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
    _require_product_roles(user)
    data = load(ProductWriteSchema())
    return jsonify(ProductSchema().dump(catalog.save_product(user, **data))), 201


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
    _require_product_roles(user)
    data = load(ReleaseWriteSchema())
    return jsonify(ReleaseSchema().dump(catalog.create_release(user, product_id, **data))), 201


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
    _require_product_roles(user)
    data = load(ReleaseTransitionSchema())
    return jsonify(ReleaseSchema().dump(catalog.transition_release(user, release_id, data["to"])))
