"""Offers: reading them (everyone) and changing them (catalog managers)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request
from sqlalchemy.orm import selectinload

from ...api.core import api_user, endpoint, int_arg, load
from ...errors import ValidationFailed
from ...extensions import db
from ...i18n import _
from ...search.services import search_offers
from ..models import ServiceOffer
from ..schemas import (
    MANAGER_SUMMARY_FIELDS,
    SUMMARY_FIELDS,
    AudienceSchema,
    AudienceWriteSchema,
    ManagerOfferSchema,
    MembersWriteSchema,
    OfferPageSchema,
    OfferPatchSchema,
    OfferTransitionSchema,
    OfferWriteSchema,
    PriceChangeListSchema,
    PriceChangeSchema,
    PriceChangeWriteSchema,
    ReadinessSchema,
)
from ..services import (
    access,
    audiences,
    bundles,
    lifecycle,
    offers,
    pricing,
    revisions,
    visibility,
    workspace,
)
from .common import (
    LIST_STATUSES,
    TAG,
    locked_offer_write,
    offer_response,
    offer_schema,
    offer_views,
    require_manager,
)

# --- offers: everyone ----------------------------------------------------------------------


@endpoint(
    "/offers",
    summary="Offers the caller may see now. Catalog managers may list any status with "
    "?status= (and get the full view: cost, margin, audience, version). With ?q=, the offers "
    "that match, best first, from the same search as the search page.",
    tag=TAG,
    response=OfferPageSchema,
    query={
        "page": "Page number, from 1.",
        "per_page": "Offers per page, 1–100.",
        "status": "Catalog managers: draft, planned, ready, published, retired, superseded, "
        "scheduled or all.",
        "category_id": "Only offers in this category.",
        "q": "Search words (at most 200 characters): each must match the name, summary, "
        "description or code, stemmed, as a prefix or within a typo. Ranked, best first; "
        "not with ?status=.",
        "min_price": "With q: the price in force now at least this amount.",
        "max_price": "With q: the price in force now at most this amount.",
    },
)
def catalog_offers():
    user = api_user()
    status = request.args.get("status", "").strip()
    category_id = int_arg("category_id", None)
    if "q" in request.args:
        if status:
            raise ValidationFailed(
                _("Search and a status filter cannot be combined."),
                fields={"status": [_("Leave out status when searching with q.")]},
            )
        return _searched_offers(user, category_id)
    if status and status not in LIST_STATUSES:
        raise ValidationFailed(
            _("Unknown status."),
            fields={"status": [_("Use one of: %(names)s.", names=", ".join(LIST_STATUSES))]},
        )
    if status:
        query = workspace.workspace_query(
            user, status="" if status == "all" else status, category_id=category_id
        )
    else:
        query = visibility.visible_offers_query(user).order_by(ServiceOffer.name, ServiceOffer.id)
        if category_id:
            query = query.where(ServiceOffer.category_id == category_id)
    page = db.paginate(
        query.options(selectinload(ServiceOffer.members)),
        page=int_arg("page", 1),
        per_page=int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100),
        error_out=False,
    )
    manager = access.can_manage_catalog(user)
    schema = offer_schema(
        user, many=True, only=MANAGER_SUMMARY_FIELDS if manager else SUMMARY_FIELDS
    )
    return jsonify(
        {
            "items": schema.dump(offer_views(list(page.items), user)),
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
            "total": page.total,
        }
    )


def _searched_offers(user, category_id: int | None):
    """GET /offers?q=: the search service's ranked page, as the offers the listing shows."""
    result = search_offers(
        user,
        request.args.get("q", ""),
        category=category_id,
        min_price=request.args.get("min_price"),
        max_price=request.args.get("max_price"),
        page=int_arg("page", 1, maximum=100_000),
        per_page=int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100),
    )
    ids = [hit.id for hit in result.hits]
    found = db.session.scalars(
        sa.select(ServiceOffer)
        .where(ServiceOffer.id.in_(ids))
        .options(selectinload(ServiceOffer.members))
    ).all()
    by_id = {offer.id: offer for offer in found}
    ranked = [by_id[offer_id] for offer_id in ids if offer_id in by_id]
    manager = access.can_manage_catalog(user)
    schema = offer_schema(
        user, many=True, only=MANAGER_SUMMARY_FIELDS if manager else SUMMARY_FIELDS
    )
    return jsonify(
        {
            "items": schema.dump(offer_views(ranked, user)),
            "page": result.page,
            "per_page": result.per_page,
            "pages": result.pages,
            "total": result.total,
            "query": result.query,
            "suggestion": result.suggestion,
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
    return offer_response(visibility.offer_for_viewer(user, offer_id), user)


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
    require_manager(user)
    data = load(OfferWriteSchema())
    return offer_response(offers.create_offer(user, data), user, 201)


@endpoint(
    "/offers/<int:offer_id>",
    "PATCH",
    summary="Edit a draft, planned or ready revision. Needs If-Match with the ETag from GET: "
    "428 without it, 409 when the offer changed since (naming who and what).",
    tag=TAG,
    body=OfferPatchSchema,
    response=ManagerOfferSchema,
)
def catalog_update_offer(offer_id: int):
    return locked_offer_write(
        OfferPatchSchema(),
        lambda user, data, expected: offers.update_offer(
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
    return locked_offer_write(
        OfferTransitionSchema(),
        lambda user, data, expected: lifecycle.transition_offer(
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
    require_manager(user)
    offer = revisions.get_offer(offer_id)
    items = lifecycle.readiness(offer)
    return jsonify(
        ReadinessSchema().dump(
            {
                "offer_id": offer.id,
                "status": offer.status,
                "version": offer.version,
                "ready": all(item["ok"] for item in items),
                "items": items,
                "allowed_transitions": lifecycle.allowed_transitions(offer),
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
    require_manager(user)
    return offer_response(offers.create_revision(user, offer_id), user, 201)


@endpoint(
    "/offers/<int:offer_id>/price-changes",
    summary="The offer's price history, newest first.",
    tag=TAG,
    response=PriceChangeListSchema,
)
def catalog_price_history(offer_id: int):
    user = api_user()
    require_manager(user)
    history = pricing.price_history(revisions.get_offer(offer_id).code)
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
    require_manager(user)
    data = load(PriceChangeWriteSchema())
    change = pricing.add_price_change(user, revisions.get_offer(offer_id).code, **data)
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
    require_manager(user)
    data = load(AudienceWriteSchema())
    code = revisions.get_offer(offer_id).code
    audiences.set_audience(
        user,
        code,
        group_ids=data["group_ids"],
        pilot_group_ids=data["pilot_group_ids"],
        canary=data["canary"],
    )
    groups, pilots = audiences.audience_of(code)
    return jsonify(
        AudienceSchema().dump(
            {
                "offer_code": code,
                "groups": groups,
                "pilot_groups": pilots,
                "canary": revisions.settings_for(code).canary,
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
    return locked_offer_write(
        MembersWriteSchema(),
        lambda user, data, expected: bundles.set_bundle_members(
            user, offer_id, data["members"], expected_version=expected
        ),
    )
