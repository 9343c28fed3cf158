"""What the catalog's JSON routes share: role guards, If-Match (428 without it, 409 when the
offer changed since), the offer as each role sees it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, jsonify, request, url_for
from marshmallow import Schema

from ...accounts.models import User
from ...accounts.services import require_role
from ...api.core import api_user, load
from ...errors import Conflict, DomainError, ValidationFailed
from ...i18n import _
from ...inputs import whole_number
from .. import exchange
from .. import prices as price_rule
from ..models import OfferStatus, ServiceOffer
from ..schemas import (
    CategorySchema,
    ConsumerOfferSchema,
    ManagerOfferSchema,
    OfferView,
)
from ..services import (
    access,
    lifecycle,
    pricing,
)

TAG = "catalog"
LIST_STATUSES = [*(status.value for status in OfferStatus), "scheduled", "all"]


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


# --- helpers -------------------------------------------------------------------------------


def require_manager(user: User) -> None:
    """Route guard (the services check again): catalog managers only."""
    require_role(user, *access.CATALOG_ROLES, message=_("Only catalog managers may do this."))


def require_product_roles(user: User) -> None:
    require_role(
        user, *access.PRODUCT_ROLES, message=_("Only product and catalog managers may do this.")
    )


def expected_version(*, required: bool) -> int | None:
    """The version in If-Match ("3", W/"3" or 3); None for `*` or, when optional, absent."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired(
                _(
                    "Send If-Match with the offer's ETag from GET, so that an edit made in the "
                    "meantime is not overwritten."
                ),
                fields={"If-Match": [_('Required, e.g. If-Match: "3".')]},
            )
        return None
    if header == "*":
        return None
    version = whole_number(header.removeprefix("W/").strip().strip('"'))
    if version is None:
        raise Conflict(
            _("If-Match %(header)s is not an ETag of this offer.", header=header),
            fields={"If-Match": [_('Use the ETag from GET, e.g. "3".')]},
        )
    return version


def flag(name: str) -> bool:
    value = request.args.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValidationFailed(
        _("'%(name)s' is true or false.", name=name), fields={name: [_("Use true or false.")]}
    )


def offer_views(offers: list[ServiceOffer], user: User) -> list[OfferView]:
    """Offers with the price in force and, for managers, audience and settings: in a fixed
    number of queries whatever the number of offers."""
    codes = [offer.code for offer in offers]
    prices = pricing.in_force_by_id(offers)
    settings = exchange.code_settings(codes)
    manager = access.can_manage_catalog(user)
    views = []
    for offer in offers:
        price, cost = prices[offer.id]
        margin, margin_pct = price_rule.margin(price, cost)
        extra = {
            "current_price": price,
            "current_cost": cost,
            "margin": margin,  # of the price and cost in force, not the revision's own
            "margin_pct": margin_pct,
            "featured": settings[offer.code]["featured"],
        }
        if manager:
            extra.update(
                audience=settings[offer.code]["audience"],
                pilot_groups=settings[offer.code]["pilot_groups"],
                canary=settings[offer.code]["canary"],
                allowed_transitions=lifecycle.allowed_transitions(offer),
            )
        views.append(OfferView(offer, **extra))
    return views


def offer_schema(user: User, **kwargs):
    if access.can_manage_catalog(user):
        return ManagerOfferSchema(**kwargs)
    return ConsumerOfferSchema(**kwargs)


def offer_response(offer: ServiceOffer, user: User, status: int = 200) -> Response:
    response = jsonify(offer_schema(user).dump(offer_views([offer], user)[0]))
    response.status_code = status
    response.headers["ETag"] = f'"{offer.version}"'
    if status == 201:
        response.headers["Location"] = url_for("api.catalog_offer", offer_id=offer.id)
    return response


def locked_offer_write(
    schema: Schema,
    change: Callable[[User, dict, int | None], ServiceOffer],
    *,
    if_match_required: bool = False,
    partial: bool = False,
) -> Response:
    """A catalog manager's write to one offer under optimistic locking: the role, If-Match
    (428 when required and missing), the body (422; `partial` for a PATCH), then `change(user, data, expected
    version)`; a stale version is 409, naming who saved in between and what they changed.
    Answers the offer as the manager sees it."""
    user = api_user()
    require_manager(user)
    expected = expected_version(required=if_match_required)
    data = load(schema, partial=partial)
    offer = change(user, data, expected)
    return offer_response(offer, user)


def category_dump(category) -> dict:
    depth, parent = 0, category.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    body = CategorySchema().dump(category)
    body["depth"] = depth
    return body
