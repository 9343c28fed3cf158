"""Service contracts: the snapshot a consumer agrees to, written once, amended by new versions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ... import clock, order_options
from ...accounts.models import User
from ...audit import services as audit
from ...catalog import services as catalog
from ...catalog.models import ServiceOffer
from ...errors import NotFound
from ...extensions import db, get_by_id
from ...i18n import gettext
from ..models import ContractStatus, ServiceContract, Subscription
from .subscriptions import subscription_for


def contract_for(user: User, contract_id: int) -> ServiceContract:
    contract = get_by_id(ServiceContract, contract_id)
    if contract is None:
        raise NotFound(gettext("No such contract."))
    subscription_for(user, contract.subscription_id)
    return contract


def contracts_of(subscription: Subscription) -> list[ServiceContract]:
    return list(
        db.session.scalars(
            sa.select(ServiceContract)
            .where(ServiceContract.subscription_id == subscription.id)
            .order_by(ServiceContract.version)
        )
    )


def current_contract(subscription: Subscription) -> ServiceContract | None:
    return db.session.scalar(
        sa.select(ServiceContract)
        .where(ServiceContract.subscription_id == subscription.id)
        .order_by(ServiceContract.version.desc())
        .limit(1)
    )


def current_contracts(subscription_ids: list[int]) -> dict[int, ServiceContract]:
    """current_contract for many subscriptions in one query (for list pages)."""
    contracts: dict[int, ServiceContract] = {}
    if subscription_ids:
        for contract in db.session.scalars(
            sa.select(ServiceContract)
            .where(ServiceContract.subscription_id.in_(subscription_ids))
            .order_by(ServiceContract.version)
        ):
            contracts[contract.subscription_id] = contract
    return contracts


def agreement(offer: ServiceOffer, options: dict, user: User) -> dict:
    """The snapshot of what the user agrees to now: it becomes the contract, unchanged."""
    price, _ = catalog.current_price(offer)
    price = price if price is not None else Decimal("0.00")
    return {
        "offer_id": offer.id,
        "offer_code": offer.code,
        "offer_revision": offer.revision,
        "name": offer.name,
        "summary": offer.summary,
        "price": str(price),
        "price_breakdown": order_options.priced(
            offer.options or [], options or {}, price, offer.billing_period
        ),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "terms": offer.terms,
        "service_levels": offer.service_levels or {},
        "option_definitions": offer.options or [],
        "options": options,
        "agreed_by": user.email,
        "agreed_at": clock.now().isoformat(),
    }


def write_contract(
    subscription: Subscription, offer: ServiceOffer, agreement: dict, actor: User, *, version: int
) -> ServiceContract:
    contract = ServiceContract(
        subscription_id=subscription.id,
        version=version,
        status=ContractStatus.ACTIVE.value,
        offer_id=offer.id,
        offer_code=offer.code,
        offer_revision=offer.revision,
        price=Decimal(agreement["price"]),
        options_monthly=Decimal(
            (agreement.get("price_breakdown") or {}).get("extra", {}).get("monthly", "0.00")
        ),
        currency=agreement["currency"],
        billing_period=agreement["billing_period"],
        snapshot=agreement,
        agreed_by_id=actor.id,
        agreed_at=datetime.fromisoformat(agreement["agreed_at"]),
    )
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "contract",
        contract.id,
        "agreed",
        summary=f"{offer.code} r{offer.revision} v{version}",
    )
    return contract
