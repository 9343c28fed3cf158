"""Reference resolution: what a catalog file names → rows and ids.

Offers are matched by code, categories by slug (or by name under the same parent), products
by name, releases by version within their product, articles by title, groups by name, owners
by e-mail. A name that matches nothing is a field error under the file's own field name.
Relative dates (`+30d`) resolve against the moment of import.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...accounts.models import ConsumerGroup
from ...accounts.services import find_user_by_email
from ...errors import ValidationFailed
from ...extensions import db
from ...i18n import _
from ...knowledge.models import KnowledgeArticle
from ..models import Category, DigitalProduct, OfferStatus, ProductRelease, ServiceOffer
from ..schemas import Relative

DATE_FIELDS = ("valid_from", "valid_to", "planned_release_date")
# The item's keys that go to the offer services as they are.
PLAIN_FIELDS = (
    "name",
    "summary",
    "description",
    "kind",
    "cost",
    "price",
    "currency",
    "billing_period",
    "terms",
    "service_levels",
    "options",
    "fulfillment_plan",
    "support_plan",
    "max_per_person",
    "max_per_group",
    "lease_days",
    "lease_max_days",
    "lease_warn_days",
    "lease_end_chosen",
    "lease_extension_needs_approval",
)
# The file's names of the offer fields that hold ids in the database.
FILE_NAMES = {"category_id": "category", "product_id": "product", "release_id": "release"}


def offer_code(value: Any) -> str:
    return str(value).strip().upper()


def member_codes(item: dict) -> list[str]:
    return [offer_code(member) for member in item["members"]]


def replacement_code(item: dict) -> str | None:
    return (item["replacement"] or "").strip().upper() or None


def moment(value, now):
    """A relative date resolved against `now`; any other value as it is."""
    if isinstance(value, Relative):
        return value.resolve(now)
    return value


def existing_category(item: dict, parent_id: int | None) -> Category | None:
    """The category the item describes: by slug, else by name under the same parent."""
    existing = None
    if item["slug"]:
        existing = db.session.scalar(sa.select(Category).where(Category.slug == item["slug"]))
    if existing is None:
        existing = db.session.scalar(
            sa.select(Category).where(
                Category.name == item["name"].strip(),
                Category.parent_id.is_(None)
                if parent_id is None
                else Category.parent_id == parent_id,
            )
        )
    return existing


def product_named(name: str) -> DigitalProduct | None:
    return db.session.scalar(sa.select(DigitalProduct).where(DigitalProduct.name == name.strip()))


def release_named(product: DigitalProduct, version: str) -> ProductRelease | None:
    version = version.strip()
    return next((release for release in product.releases if release.version == version), None)


def owner_id(item: dict) -> int | None:
    """The id of the product's owner, named by e-mail; None when the item names none."""
    if not item["owner"]:
        return None
    owner = find_user_by_email(item["owner"])
    if owner is None:
        raise ValidationFailed(
            _("Unknown owner."),
            fields={"owner": [_("No user with e-mail %(item)s.", item=item["owner"])]},
        )
    return owner.id


def product_ids() -> dict[str, int]:
    """Every digital product's id by name."""
    return dict(db.session.execute(sa.select(DigitalProduct.name, DigitalProduct.id)).all())


def article_product_id(item: dict, products: dict[str, int]) -> int | None:
    if not item["product"]:
        return None
    product_id = products.get(item["product"].strip())
    if product_id is None:
        raise ValidationFailed(
            _("Unknown product."),
            fields={"product": [_("No digital product “%(item)s”.", item=item["product"])]},
        )
    return product_id


def article_titled(title: str) -> KnowledgeArticle | None:
    """The first article with that title (titles are not unique)."""
    return db.session.scalar(
        sa.select(KnowledgeArticle)
        .where(KnowledgeArticle.title == title)
        .order_by(KnowledgeArticle.id)
        .limit(1)
    )


def offer_fields(item: dict, existing: ServiceOffer | None, *, slugs: dict[str, int], now) -> dict:
    """The file's item as service fields; references resolved, relative dates resolved
    for new offers and left out (stored date kept) for existing ones."""
    data: dict[str, Any] = {key: item[key] for key in PLAIN_FIELDS}
    data["upgrade_codes"], data["downgrade_codes"] = item["upgrades"], item["downgrades"]
    for key in DATE_FIELDS:
        value = item[key]
        if isinstance(value, Relative) and existing is not None:
            continue
        if (
            key == "valid_to"
            and value is None
            and item["status"] == OfferStatus.RETIRED.value
            and existing is not None
            and existing.status == OfferStatus.RETIRED.value
        ):
            continue  # retired "now" when first loaded: keep that end date
        data[key] = moment(value, now)
    errors: dict[str, list[str]] = {}
    data["category_id"] = _category_id(item, slugs, errors)
    data["product_id"], data["release_id"] = _product_and_release_ids(item, errors)
    if errors:
        raise ValidationFailed(_("The offer has unknown references."), fields=errors)
    return data


def _category_id(item: dict, slugs: dict[str, int], errors: dict[str, list[str]]) -> int | None:
    category = item["category"]
    if not category:
        return None
    category_id = slugs.get(category) or db.session.scalar(
        sa.select(Category.id).where(Category.slug == category)
    )
    if category_id is None:
        errors["category"] = [_("No category with slug “%(category)s”.", category=category)]
    return category_id


def _product_and_release_ids(
    item: dict, errors: dict[str, list[str]]
) -> tuple[int | None, int | None]:
    if not item["product"]:
        if item["release"]:
            errors["release"] = [_("Name the product of the release too.")]
        return None, None
    product = product_named(item["product"])
    if product is None:
        errors["product"] = [_("No digital product “%(item)s”.", item=item["product"])]
        return None, None
    if not item["release"]:
        return product.id, None
    release = release_named(product, item["release"])
    if release is None:
        errors["release"] = [f"{product.name} has no release “{item['release']}”."]
        return product.id, None
    return product.id, release.id


def settings_refs(item: dict, article_ids: dict[str, int]) -> tuple[list[int], dict[str, int]]:
    """The item's article ids and group ids by name; unknown ones are field errors.
    `article_ids` are the articles this file defines, by title."""
    errors: dict[str, list[str]] = {}
    titles = sorted(dict.fromkeys(title.strip() for title in item["articles"]))
    ids = []
    for title in titles:
        article_id = article_ids.get(title) or db.session.scalar(
            sa.select(KnowledgeArticle.id)
            .where(KnowledgeArticle.title == title)
            .order_by(KnowledgeArticle.id)
            .limit(1)
        )
        if article_id is None:
            errors.setdefault("articles", []).append(
                _("No knowledge article “%(title)s”.", title=title)
            )
        else:
            ids.append(article_id)
    groups = _group_ids(set(item["audience"]) | set(item["pilot_groups"]))
    for key in ("audience", "pilot_groups"):
        for name in item[key]:
            if name not in groups:
                errors.setdefault(key, []).append(_("Unknown group “%(name)s”.", name=name))
    if errors:
        raise ValidationFailed(_("The offer has unknown references."), fields=errors)
    return ids, groups


def _group_ids(names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    return dict(
        db.session.execute(
            sa.select(ConsumerGroup.name, ConsumerGroup.id).where(ConsumerGroup.name.in_(names))
        ).all()
    )
