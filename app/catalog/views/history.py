"""How the catalog's fields read in the audit trail and an offer's history: labels, and the
names behind the ids an offer stores (category, digital product, release)."""

from __future__ import annotations

import sqlalchemy as sa

from ...audit import readable
from ...extensions import db
from ...i18n import _l
from ..models import BillingPeriod, Category, DigitalProduct, OfferKind, ProductRelease


def _names_of(model, label):
    def namer(ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(sa.select(model.id, label).where(model.id.in_(ids))).all())

    return namer


def _release_names(ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        sa.select(ProductRelease.id, DigitalProduct.name, ProductRelease.version)
        .join(DigitalProduct, DigitalProduct.id == ProductRelease.product_id)
        .where(ProductRelease.id.in_(ids))
    )
    return {release_id: f"{product} {version}" for release_id, product, version in rows}


readable.register_labels(
    {
        "summary": _l("Summary"),
        "kind": _l("Kind"),
        "category_id": _l("Category"),
        "parent_id": _l("Parent category"),
        "release_id": _l("Release"),
        "product_id": _l("Digital product"),
        "valid_from": _l("Orderable from"),
        "valid_to": _l("Orderable until"),
        "cost": _l("Cost"),
        "price": _l("Price"),
        "currency": _l("Currency"),
        "billing_period": _l("Billing"),
        "terms": _l("Terms and conditions"),
        "service_levels": _l("Service levels"),
        "options": _l("Options"),
        "fulfillment_plan": _l("Fulfillment steps"),
        "support_plan": _l("Support"),
        "planned_release_date": _l("Planned release date"),
        "featured": _l("Featured in the catalog"),
        "audience": _l("Audience"),
        "pilots": _l("Pilot groups"),
        "canary": _l("Pilot groups first (canary)"),
        "effective_from": _l("In force from"),
        "availability_pct": _l("Availability (%)"),
        "fulfillment_target_hours": _l("Fulfillment target (hours)"),
        "response_hours": _l("First response (hours)"),
        "resolution_hours": _l("Resolution (hours)"),
    },
    money=("price", "cost"),
)
readable.register_names("category_id", _names_of(Category, Category.name))
readable.register_names("parent_id", _names_of(Category, Category.name))
readable.register_names("product_id", _names_of(DigitalProduct, DigitalProduct.name))
readable.register_names("release_id", _release_names)
readable.register_values("kind", {kind.value: kind.label for kind in OfferKind})
readable.register_values("billing_period", {period.value: period.label for period in BillingPeriod})
