"""What a change of a subscription changes, before the consumer agrees: the price difference per
billing period (recurring prices now and after, and what is charged once) and the contract's
terms and service levels that differ from the current contract."""

from __future__ import annotations

from decimal import Decimal

from ...catalog import services as catalog
from ...catalog.models import BillingPeriod, ServiceOffer
from ...i18n import _
from ...validation import PRIORITIES
from ..models import ServiceContract, Subscription

ZERO = Decimal("0.00")
RECURRING = (BillingPeriod.MONTHLY.value, BillingPeriod.YEARLY.value)
ONE_TIME = BillingPeriod.ONE_TIME.value


def _agreed(subscription: Subscription, contract: ServiceContract | None) -> dict:
    """What the subscription pays and was promised now: its contract, else its offer."""
    if contract is not None:
        snapshot = contract.snapshot or {}
        return {
            "price": contract.price,
            "billing_period": contract.billing_period,
            "currency": contract.currency,
            "terms": snapshot.get("terms", ""),
            "service_levels": snapshot.get("service_levels") or {},
        }
    offer = subscription.offer
    return {
        "price": catalog.current_price(offer)[0] or ZERO,
        "billing_period": offer.billing_period,
        "currency": offer.currency,
        "terms": offer.terms,
        "service_levels": offer.service_levels or {},
    }


def price_difference(
    subscription: Subscription, contract: ServiceContract | None, target: ServiceOffer
) -> list[dict]:
    """One row per billing period either side bills in: {period, now, after, difference}.
    Recurring periods compare what is paid each period now and after the change; the one-time
    row is what the change charges once (a one-time price already paid is not paid back)."""
    now = _agreed(subscription, contract)
    after_price = catalog.current_price(target)[0] or ZERO
    rows = []
    for period in RECURRING:
        before = now["price"] if now["billing_period"] == period else ZERO
        after = after_price if target.billing_period == period else ZERO
        if now["billing_period"] == period or target.billing_period == period:
            rows.append(
                {"period": period, "now": before, "after": after, "difference": after - before}
            )
    if target.billing_period == ONE_TIME and target.id != subscription.offer_id:
        rows.append(
            {"period": ONE_TIME, "now": ZERO, "after": after_price, "difference": after_price}
        )
    return rows


def _level_labels() -> dict[str, str]:
    labels = {
        "availability_pct": _("Availability (%)"),
        "fulfillment_target_hours": _("Fulfillment target (hours)"),
        "support_hours": _("Support hours"),
    }
    for priority in PRIORITIES:
        labels[f"response_hours.{priority}"] = _(
            "First response, %(priority)s (hours)", priority=priority
        )
        labels[f"resolution_hours.{priority}"] = _(
            "Resolution, %(priority)s (hours)", priority=priority
        )
    return labels


def _flat_levels(levels: dict) -> dict:
    flat = {
        key: levels.get(key)
        for key in ("availability_pct", "fulfillment_target_hours", "support_hours")
    }
    for target in ("response_hours", "resolution_hours"):
        for priority, hours in (levels.get(target) or {}).items():
            flat[f"{target}.{priority}"] = hours
    return flat


def contract_changes(
    subscription: Subscription, contract: ServiceContract | None, target: ServiceOffer
) -> dict:
    """{terms: {now, after} or None, levels: [{label, now, after}]}: what the amended contract
    would say differently from the current one."""
    now = _agreed(subscription, contract)
    before, after = _flat_levels(now["service_levels"]), _flat_levels(target.service_levels or {})
    labels = _level_labels()
    levels = [
        {"label": labels.get(key, key), "now": before.get(key), "after": after.get(key)}
        for key in labels
        if before.get(key) != after.get(key)
    ]
    terms_now, terms_after = (now["terms"] or "").strip(), (target.terms or "").strip()
    return {
        "terms": {"now": terms_now, "after": terms_after} if terms_now != terms_after else None,
        "levels": levels,
        "currency": now["currency"],
    }
