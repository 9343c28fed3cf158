"""Selecting what to order: whether an offer may be ordered now, its quote, the options chosen
against the offer's definitions, and the offers a subscription may change to."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import conditions, order_options
from ... import validation as check
from ...accounts.models import User
from ...catalog import services as catalog
from ...catalog.models import OfferKind, ServiceOffer
from ...errors import InvalidTransition, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import search_text
from ..models import Subscription

CHANGE_TARGET_LIMIT = 300  # a choice list, not a catalog: past it the consumer searches
TRUE_WORDS = ("true", "on", "yes", "1", "y")
FALSE_WORDS = ("false", "off", "no", "0", "n")


def orderable_offer(user: User, offer_id: Any) -> ServiceOffer:
    """The offer if this user may order it now; otherwise a clear reason (and the replacement)."""
    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("Choose an offer."), fields={"offer_id": [_("Choose an offer.")]}
        ) from None
    offer = catalog.offer_for_viewer(user, offer_id)  # 404 for those outside the audience
    status = offer.display_status()
    if not catalog.in_consumer_audience(user, offer):
        raise NotFound(_("No such offer."))
    if not offer.is_orderable():
        reason = _not_orderable_reason(offer, status)
        replacement = catalog.replacement_for(user, offer)
        if replacement is not None:
            reason += " " + _(
                "Order its replacement, %(name)s (offer %(id)s), instead.",
                name=replacement.name,
                id=replacement.id,
            )
        raise InvalidTransition(reason.strip(), fields={"offer_id": [reason.strip()]})
    return offer


def _not_orderable_reason(offer: ServiceOffer, status: str) -> str:
    if status == "scheduled" and offer.valid_from:
        return _(
            "%(name)s can be ordered from %(day)s.",
            name=offer.name,
            day=f"{offer.valid_from:%Y-%m-%d}",
        )
    if status == "retired":
        return _("%(name)s is retired and takes no new orders.", name=offer.name)
    if status == "expired":
        return _("%(name)s is no longer offered.", name=offer.name)
    return _("%(name)s is not orderable (%(status)s).", name=offer.name, status=status)


def quote(offer: ServiceOffer, options: dict | None = None) -> dict:
    price, cost = catalog.current_price(offer)
    return {
        "offer_id": offer.id,
        "offer_code": offer.code,
        "name": offer.name,
        "price": price or Decimal("0.00"),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "options": options or {},
        "members": [member.member_code for member in offer.members] if offer.is_bundle else [],
    }


def priced(offer: ServiceOffer, options: dict | None, price: Decimal | None = None) -> dict:
    """The priced breakdown of ordering `offer` with (cleaned) `options`: its price in force
    (read unless given) and what each chosen value adds (app/order_options.py holds the one
    computation)."""
    if price is None:
        price, _cost = catalog.current_price(offer)
    return order_options.priced(
        offer.options or [], options or {}, price or Decimal("0.00"), offer.billing_period
    )


def tentative_options(offer: ServiceOffer, raw: Any) -> dict:
    """The options as they would be cleaned, leaving out the ones not valid yet (for a page's
    price summary as the form stands; ordering cleans them for real)."""
    return clean_options(offer, raw, strict=False)


# --- what a subscription may change to ---------------------------------------------------------


def change_paths(subscription: Subscription) -> tuple[dict[str, str], set[int]]:
    """Where a subscription may go: (offer code → how it relates, products). The codes are the
    replacement of its offer and the upgrades and downgrades the catalog manager marked on it,
    read from the revision the subscription has and the offer's live one; any offer of the same
    digital product may be had too."""
    sources = [subscription.offer]
    live = catalog.live_revision(subscription.offer_code)
    if live is not None and live.id != subscription.offer_id:
        sources.append(live)
    paths: dict[str, str] = {}
    for source in sources:
        if source.replacement_code:
            paths.setdefault(source.replacement_code, "replacement")
        for code in source.upgrade_codes or []:
            paths.setdefault(code, "upgrade")
        for code in source.downgrade_codes or []:
            paths.setdefault(code, "downgrade")
    paths.pop(subscription.offer_code, None)
    return paths, {source.product_id for source in sources if source.product_id is not None}


def relations(subscription: Subscription, offers: list[ServiceOffer]) -> dict[int, str]:
    """How each offer relates to the subscription's: new_revision (of its own offer),
    replacement, upgrade, downgrade, same_product, or "" when it is no change the subscription
    may make."""
    paths, products = change_paths(subscription)

    def how(offer: ServiceOffer) -> str:
        if offer.code == subscription.offer_code:
            return "new_revision"
        if offer.code in paths:
            return paths[offer.code]
        return "same_product" if offer.product_id in products else ""

    return {offer.id: how(offer) for offer in offers}


def _eligible(query: sa.Select, subscription: Subscription) -> sa.Select:
    paths, products = change_paths(subscription)
    reachable = [ServiceOffer.code == subscription.offer_code]  # its newer revision
    if paths:
        reachable.append(ServiceOffer.code.in_(sorted(paths)))
    if products:
        reachable.append(ServiceOffer.product_id.in_(sorted(products)))
    return query.where(
        sa.or_(*reachable),
        ServiceOffer.id != subscription.offer_id,
        ServiceOffer.kind != OfferKind.BUNDLE.value,
    )


def change_targets(
    user: User, subscription: Subscription, *, matching: str = "", limit: int = CHANGE_TARGET_LIMIT
) -> tuple[list[ServiceOffer], bool]:
    """The offers a subscription may move to (see `change_paths`), by name: visible to the user
    (so live and inside their validity, which is what orderable means), not bundles, not the
    offer it has, and, when `matching` is given, with it in their name or code. All of it in
    SQL, then at most `limit`; the flag says whether more were left out."""
    if subscription.offer.is_bundle:
        return [], False
    query = _eligible(catalog.visible_offers_query(user), subscription)
    text = search_text(matching)
    if text:
        query = query.where(
            sa.or_(
                ServiceOffer.name.icontains(text, autoescape=True),
                ServiceOffer.code.icontains(text, autoescape=True),
            )
        )
    offers = list(
        db.session.scalars(query.order_by(ServiceOffer.name, ServiceOffer.id).limit(limit + 1))
    )
    return offers[:limit], len(offers) > limit


def change_target(user: User, subscription: Subscription, offer_id: Any) -> ServiceOffer:
    """The offer the subscription would move to, if the user may order it now and it is one the
    subscription may change to; otherwise a field error on target_offer_id."""
    target = orderable_offer(user, offer_id)
    if target.is_bundle or subscription.offer.is_bundle:
        raise ValidationFailed(
            _("Bundles cannot be swapped; end the bundle and order anew."),
            fields={"target_offer_id": [_("Not for bundles.")]},
        )
    if not relations(subscription, [target])[target.id]:
        message = _(
            "%(name)s is not a change of %(current)s: choose its replacement, an upgrade or "
            "downgrade, or another offer of the same product.",
            name=target.name,
            current=subscription.offer.name,
        )
        raise ValidationFailed(message, fields={"target_offer_id": [message]})
    return target


def clean_options(offer: ServiceOffer, raw: Any, *, strict: bool = True) -> dict:
    """Check chosen options against the offer's definitions; errors keyed options.<key>.
    Fields are settled in order (app/order_options.py): a field whose `visible_when` does not
    hold is hidden, and its value dropped unseen; `required_when` makes a shown field required;
    a dependent choice takes the choices of its parent's value, a sourced one its list's."""
    raw = {} if raw is None else raw
    errors: check.Errors = {}
    if not isinstance(raw, dict):
        if not strict:
            return {}
        raise ValidationFailed(
            _("Options must be an object."),
            fields={"options": [_("Send the options as an object.")]},
        )
    definitions = offer.options or []
    unknown = sorted(set(raw) - {option["key"] for option in definitions})
    if unknown:
        check.add(errors, "options", _("Unknown option: %(names)s.", names=", ".join(unknown)))
    cleaned: dict = {}
    for option in order_options.settling_order(definitions):
        if not conditions.evaluate(option.get("visible_when"), cleaned):
            continue  # hidden: whatever was sent for it is ignored
        value = _settled_value(errors, option, raw.get(option["key"]), cleaned)
        if value is not None:
            cleaned[option["key"]] = value
    if errors and strict:
        raise ValidationFailed(_("Some options are not valid."), fields=errors)
    return {
        option["key"]: cleaned[option["key"]] for option in definitions if option["key"] in cleaned
    }


def _settled_value(errors: check.Errors, option: dict, value: Any, settled: dict) -> Any:
    field = f"options.{option['key']}"
    if value is None or (isinstance(value, str) and not value.strip()):
        required = option.get("required") or (
            option.get("required_when") and conditions.evaluate(option["required_when"], settled)
        )
        if required and option.get("default") in (None, "") and option["type"] != "boolean":
            check.add(errors, field, _("%(label)s is required.", label=option["label"]))
            return None
        value = option.get("default")
        if value is None:
            return None
    if option.get("depends_on"):
        parent = settled.get(option["depends_on"])
        choices = (option.get("choice_map") or {}).get(conditions.as_text(parent), [])
        option = {**option, "choices": choices}
        if parent is None:
            check.add(errors, field, _("Choose %(parent)s first.", parent=option["depends_on"]))
            return None
    if option.get("choice_list"):
        if not isinstance(value, str) or not catalog.choice_list_has(option["choice_list"], value):
            check.add(errors, field, _("Choose one of the list's entries."))
            return None
        return value.strip()
    return _clean_option_value(errors, field, option, value)


def _clean_option_value(errors: check.Errors, field: str, option: dict, value: Any) -> Any:
    kind = option["type"]
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in TRUE_WORDS + FALSE_WORDS:
            return value.lower() in TRUE_WORDS
        check.add(errors, field, _("Choose yes or no."))
        return None
    if kind == "number":
        return check.number(
            errors, field, value, minimum=option.get("min"), maximum=option.get("max")
        )
    if kind == "choice":
        if value not in option.get("choices", []):
            check.add(
                errors,
                field,
                _("Choose one of: %(names)s.", names=", ".join(option.get("choices", []))),
            )
            return None
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        check.add(errors, field, _("Enter text."))
        return None
    return check.text(errors, field, str(value), max_length=int(option.get("max_length") or 2000))
