"""Release stream rules: products and releases, categories, offers and their lifecycle,
revisions, audiences, prices, bundles, and who may see what."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.models import ConsumerGroup, Role, User, UserRole, group_members
from ..accounts.services import require_role
from ..audit import services as audit
from ..errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from ..extensions import db, get_by_id
from ..knowledge.services import (  # noqa: F401 - the tests' fixtures call catalog.link_articles/save_article
    articles_of,
    link_articles,
    save_article,
)
from ..notifications.services import notify
from . import validation as check
from .models import (
    EDITABLE_STATUSES,
    LIVE_STATUSES,
    BundleMember,
    Category,
    DigitalProduct,
    OfferKind,
    OfferSettings,
    OfferStatus,
    PriceChange,
    ProductRelease,
    ReleaseStatus,
    ServiceOffer,
    offer_audience,
)

T = TypeVar("T")

CATALOG_ROLES = (Role.CATALOG_MANAGER,)
PRODUCT_ROLES = (Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER)


def can_manage_catalog(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.has_role(*CATALOG_ROLES)


# --- digital products and releases ---------------------------------------------------------

RELEASE_TRANSITIONS: dict[str, set[str]] = {
    ReleaseStatus.PLANNED: {ReleaseStatus.ACCEPTED, ReleaseStatus.RETIRED},
    ReleaseStatus.ACCEPTED: {ReleaseStatus.DEPLOYED, ReleaseStatus.PLANNED, ReleaseStatus.RETIRED},
    ReleaseStatus.DEPLOYED: {ReleaseStatus.RETIRED},
    ReleaseStatus.RETIRED: set(),
}


def _require_product_manager(
    actor: User | None, message: str, *, from_catalog_file: bool = False
) -> None:
    if actor is not None:  # None: the seed and the command line
        roles = (
            (Role.PRODUCT_MANAGER, *CATALOG_ROLES) if from_catalog_file else (Role.PRODUCT_MANAGER,)
        )
        require_role(actor, *roles, message=message)


def list_products() -> list[DigitalProduct]:
    return list(
        db.session.scalars(
            sa.select(DigitalProduct)
            .options(selectinload(DigitalProduct.releases), selectinload(DigitalProduct.owner))
            .order_by(DigitalProduct.name)
        )
    )


def get_product(product_id: int) -> DigitalProduct:
    product = get_by_id(DigitalProduct, product_id)
    if product is None:
        raise NotFound("No such digital product.")
    return product


def save_product(
    actor: User | None,
    *,
    name: str,
    description: str = "",
    owner_id: int | None = None,
    product_id: int | None = None,
    from_catalog_file: bool = False,
    commit: bool = True,
) -> DigitalProduct:
    """Create or change a digital product. `from_catalog_file`: a catalog manager importing a
    catalog file may create the products it declares (changing one stays with product
    managers)."""
    _require_product_manager(
        actor,
        "Only product managers manage digital products.",
        from_catalog_file=from_catalog_file and product_id is None,
    )
    errors: check.Errors = {}
    name = check.text(errors, "name", name, required=True, max_length=120)
    description = check.text(errors, "description", description, max_length=5000)
    clash = (
        db.session.scalar(sa.select(DigitalProduct).where(DigitalProduct.name == name))
        if name
        else None
    )
    if clash is not None and clash.id != product_id:
        check.add(errors, "name", "Another product already has this name.")
    if owner_id is not None:
        owner = get_by_id(User, owner_id)
        if owner is None or not owner.has_role(Role.PRODUCT_MANAGER):
            check.add(errors, "owner_id", "The owner must be a product manager.")
    if errors:
        raise ValidationFailed("The product could not be saved.", fields=errors)
    if product_id is None:
        product = DigitalProduct(
            name=name,
            description=description,
            owner_id=owner_id
            or (actor.id if actor and actor.has_role(Role.PRODUCT_MANAGER) else None),
            created_at=clock.now(),
        )
        db.session.add(product)
        db.session.flush()
        audit.record(
            actor, "product", product.id, "created", changes=audit.diff({}, {"name": name})
        )
    else:
        product = get_product(product_id)
        before = {
            "name": product.name,
            "description": product.description,
            "owner_id": product.owner_id,
        }
        product.name, product.description = name, description
        if owner_id is not None:
            product.owner_id = owner_id
        audit.record(
            actor,
            "product",
            product.id,
            "updated",
            changes=audit.diff(
                before, {"name": name, "description": description, "owner_id": product.owner_id}
            ),
        )
    if commit:
        db.session.commit()
    return product


def get_release(release_id: int) -> ProductRelease:
    release = get_by_id(ProductRelease, release_id)
    if release is None:
        raise NotFound("No such release.")
    return release


def create_release(
    actor: User | None,
    product_id: int,
    *,
    version: str,
    planned_date: Any = None,
    notes: str = "",
    status: str = ReleaseStatus.PLANNED,
    from_catalog_file: bool = False,
    commit: bool = True,
) -> ProductRelease:
    """A new release; `from_catalog_file` as for `save_product`."""
    _require_product_manager(
        actor, "Only product managers manage releases.", from_catalog_file=from_catalog_file
    )
    product = get_product(product_id)
    errors: check.Errors = {}
    version = check.text(errors, "version", version, required=True, max_length=40)
    planned = check.moment(errors, "planned_date", planned_date)
    notes = check.text(errors, "notes", notes, max_length=5000)
    status = check.choice(errors, "status", str(status), [s.value for s in ReleaseStatus], "status")
    if version and any(release.version == version for release in product.releases):
        check.add(errors, "version", f"{product.name} already has a release {version}.")
    if errors:
        raise ValidationFailed("The release could not be saved.", fields=errors)
    release = ProductRelease(
        product_id=product.id,
        version=version,
        planned_date=planned,
        notes=notes,
        status=status,
        created_at=clock.now(),
        deployed_at=clock.now() if status == ReleaseStatus.DEPLOYED else None,
    )
    db.session.add(release)
    db.session.flush()
    audit.record(actor, "release", release.id, "created", summary=f"{product.name} {version}")
    if commit:
        db.session.commit()
    return release


def transition_release(
    actor: User | None, release_id: int, to: str, *, commit: bool = True
) -> ProductRelease:
    if actor is not None:
        require_role(actor, Role.PRODUCT_MANAGER, message="Only product managers move releases.")
    release = get_release(release_id)
    if to not in RELEASE_TRANSITIONS.get(release.status, set()):
        allowed = ", ".join(sorted(RELEASE_TRANSITIONS.get(release.status, set()))) or "none"
        raise InvalidTransition(
            f"A {release.status} release cannot become {to}. Allowed next: {allowed}."
        )
    before = release.status
    release.status = to
    if to == ReleaseStatus.DEPLOYED:
        release.deployed_at = clock.now()
    audit.record(
        actor,
        "release",
        release.id,
        "transition",
        changes=audit.diff({"status": before}, {"status": to}),
    )
    if commit:
        db.session.commit()
    return release


def list_releases() -> list[ProductRelease]:
    return list(
        db.session.scalars(
            sa.select(ProductRelease)
            .join(DigitalProduct)
            .options(sa.orm.contains_eager(ProductRelease.product))
            .order_by(DigitalProduct.name, ProductRelease.id)
        )
    )


# --- categories --------------------------------------------------------------------------


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "category"


def get_category(category_id: int) -> Category:
    category = get_by_id(Category, category_id)
    if category is None:
        raise NotFound("No such category.")
    return category


def category_tree(include_archived: bool = False) -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children, siblings by position."""
    query = sa.select(Category).order_by(Category.position, Category.name)
    if not include_archived:
        query = query.where(Category.archived_at.is_(None))
    categories = list(db.session.scalars(query))
    by_parent: dict[int | None, list[Category]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    ordered: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for child in by_parent.get(parent_id, []):
            ordered.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    return ordered


def _unique_slug(name: str, category_id: int | None) -> str:
    base = _slugify(name)
    slug, number = base, 2
    while True:
        clash = db.session.scalar(sa.select(Category).where(Category.slug == slug))
        if clash is None or clash.id == category_id:
            return slug
        slug, number = f"{base}-{number}", number + 1


def _check_parent(errors: check.Errors, category_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = get_by_id(Category, parent_id)
    if parent is None or parent.archived_at is not None:
        check.add(errors, "parent_id", "Choose an existing, active parent category.")
        return
    ancestor: Category | None = parent
    while ancestor is not None:
        if ancestor.id == category_id:
            check.add(
                errors,
                "parent_id",
                "A category cannot be moved under itself or its own subcategory.",
            )
            return
        ancestor = ancestor.parent


def save_category(
    actor: User | None,
    *,
    name: str,
    parent_id: int | None = None,
    description: str = "",
    category_id: int | None = None,
    commit: bool = True,
) -> Category:
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers manage categories.")
    errors: check.Errors = {}
    name = check.text(errors, "name", name, required=True, max_length=120)
    description = check.text(errors, "description", description, max_length=2000)
    _check_parent(errors, category_id, parent_id)
    sibling = (
        db.session.scalar(
            sa.select(Category).where(
                Category.name == name,
                Category.parent_id.is_(None)
                if parent_id is None
                else Category.parent_id == parent_id,
            )
        )
        if name
        else None
    )
    if sibling is not None and sibling.id != category_id:
        check.add(errors, "name", "A category with this name already exists here.")
    if errors:
        raise ValidationFailed("The category could not be saved.", fields=errors)
    if category_id is None:
        position = db.session.scalar(
            sa.select(sa.func.count(Category.id)).where(
                Category.parent_id.is_(None)
                if parent_id is None
                else Category.parent_id == parent_id
            )
        )
        category = Category(
            name=name,
            slug=_unique_slug(name, None),
            parent_id=parent_id,
            description=description,
            position=position or 0,
        )
        db.session.add(category)
        db.session.flush()
        audit.record(
            actor,
            "category",
            category.id,
            "created",
            changes=audit.diff({}, {"name": name, "parent_id": parent_id}),
        )
    else:
        category = get_category(category_id)
        before = {
            "name": category.name,
            "parent_id": category.parent_id,
            "description": category.description,
        }
        if parent_id != category.parent_id:
            category.position = (
                db.session.scalar(
                    sa.select(sa.func.count(Category.id)).where(
                        Category.parent_id.is_(None)
                        if parent_id is None
                        else Category.parent_id == parent_id
                    )
                )
                or 0
            )
        category.name, category.parent_id, category.description = name, parent_id, description
        category.slug = _unique_slug(name, category.id)
        audit.record(
            actor,
            "category",
            category.id,
            "updated",
            changes=audit.diff(
                before, {"name": name, "parent_id": parent_id, "description": description}
            ),
        )
    if commit:
        db.session.commit()
    return category


def move_category(actor: User, category_id: int, direction: str) -> Category:
    """Swap a category with its previous ("up") or next ("down") sibling."""
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers manage categories.")
    category = get_category(category_id)
    if category.archived_at is not None:
        raise ValidationFailed(
            f"“{category.name}” is archived.", fields={"position": ["An archived category."]}
        )
    siblings = [c for c, _ in category_tree() if c.parent_id == category.parent_id]
    index = siblings.index(category)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(siblings):
        raise ValidationFailed(
            "The category cannot move further that way.",
            fields={"position": ["Already at the end."]},
        )
    for position, sibling in enumerate(siblings):
        sibling.position = position
    siblings[index].position, siblings[other].position = other, index
    audit.record(actor, "category", category.id, "reordered", summary=direction)
    db.session.commit()
    return category


def archive_category(actor: User, category_id: int) -> Category:
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers manage categories.")
    category = get_category(category_id)
    children = db.session.scalar(
        sa.select(sa.func.count(Category.id)).where(
            Category.parent_id == category.id, Category.archived_at.is_(None)
        )
    )
    offers = db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(
            ServiceOffer.category_id == category.id,
            ServiceOffer.status != OfferStatus.SUPERSEDED.value,
        )
    )
    if children or offers:
        raise ValidationFailed(
            f"“{category.name}” is not empty: it has {children} subcategories and {offers} offers.",
            fields={"category": ["Only an empty category can be archived."]},
        )
    category.archived_at = clock.now()
    audit.record(actor, "category", category.id, "archived")
    db.session.commit()
    return category


# --- offers: reading ---------------------------------------------------------------------


def get_offer(offer_id: int) -> ServiceOffer:
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None:
        raise NotFound("No such offer.")
    return offer


def revisions_of(code: str) -> list[ServiceOffer]:
    return list(
        db.session.scalars(
            sa.select(ServiceOffer).where(ServiceOffer.code == code).order_by(ServiceOffer.revision)
        )
    )


def live_revision(code: str) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == code, ServiceOffer.status.in_(LIVE_STATUSES)
        )
    )


def draft_revision(code: str) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == code, ServiceOffer.status.in_(EDITABLE_STATUSES)
        )
    )


def settings_for(code: str) -> OfferSettings:
    settings = db.session.get(OfferSettings, code)
    if settings is None:
        settings = OfferSettings(offer_code=code, canary=False, featured=False)
        db.session.add(settings)
    return settings


def split_audience(rows: Iterable[tuple[T, bool]], canary: bool) -> tuple[list[T], list[T]]:
    """(whole audience, pilot groups) from an offer's audience rows (group, is_pilot).

    Out of canary every row is the audience (empty: everyone) and there are no pilots. In
    canary the pilot rows are the pilots; the whole audience is every row when some group
    beyond the pilots is named, else everyone (`set_audience` refuses a named audience that is
    just the pilots, so the two cannot be confused)."""
    rows = list(rows)
    pilots = [group for group, pilot in rows if pilot] if canary else []
    if canary and all(pilot for _, pilot in rows):
        return [], pilots
    return [group for group, _ in rows], pilots


def audience_of(code: str) -> tuple[list[ConsumerGroup], list[ConsumerGroup]]:
    """(whole audience, pilot groups) of an offer; an empty audience means everyone."""
    rows = db.session.execute(
        sa.select(ConsumerGroup, offer_audience.c.is_pilot)
        .join(offer_audience, offer_audience.c.group_id == ConsumerGroup.id)
        .where(offer_audience.c.offer_code == code)
        .order_by(ConsumerGroup.name)
    ).all()
    settings = db.session.get(OfferSettings, code)
    return split_audience(rows, bool(settings and settings.canary))


def _window_clause(now: datetime):
    return sa.and_(
        ServiceOffer.status.in_(LIVE_STATUSES),
        sa.or_(ServiceOffer.valid_from.is_(None), ServiceOffer.valid_from <= now),
        sa.or_(ServiceOffer.valid_to.is_(None), ServiceOffer.valid_to > now),
    )


def audience_clause(user: User, *, as_consumer: bool = False):
    """SQL: the offer's audience includes this user (everyone, or one of the user's groups;
    pilot groups only while the offer is in canary)."""
    if can_manage_catalog(user) and not as_consumer:
        return sa.true()
    group_ids = sorted(user.group_ids)
    has_audience = sa.exists().where(offer_audience.c.offer_code == ServiceOffer.code)
    # Correlated explicitly: nested inside `member`, auto-correlation would not reach the
    # outer service_offers and the test would ask whether ANY offer is in canary.
    in_canary = (
        sa.exists()
        .where(OfferSettings.offer_code == ServiceOffer.code, OfferSettings.canary.is_(True))
        .correlate_except(OfferSettings)
    )
    member = sa.exists().where(
        offer_audience.c.offer_code == ServiceOffer.code,
        offer_audience.c.group_id.in_(group_ids),
        sa.or_(offer_audience.c.is_pilot.is_(True), ~in_canary),
    )
    return (
        sa.or_(sa.and_(~has_audience, ~in_canary), member)
        if group_ids
        else sa.and_(~has_audience, ~in_canary)
    )


def visible_offers_query(user: User, now: datetime | None = None) -> sa.Select:
    """Offers this user may see and order now: live, inside validity, in the audience."""
    now = now or clock.now()
    return sa.select(ServiceOffer).where(_window_clause(now), audience_clause(user))


def is_visible(user: User, offer: ServiceOffer, now: datetime | None = None) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(
            ServiceOffer.id == offer.id, audience_clause(user)
        )
    ) == 1 and (can_manage_catalog(user) or offer.is_live)


def in_consumer_audience(user: User, offer: ServiceOffer) -> bool:
    """Whether the offer's audience includes the user's groups, whatever the user's roles."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(ServiceOffer.id)).where(
                ServiceOffer.id == offer.id, audience_clause(user, as_consumer=True)
            )
        )
        == 1
    )


def offer_for_viewer(user: User, offer_id: int) -> ServiceOffer:
    """An offer page: managers see every revision; others see live revisions in their audience,
    including retired ones (which point to their replacement) but not future or hidden ones."""
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None or not is_visible(user, offer):
        raise NotFound("No such offer.")
    if not can_manage_catalog(user) and offer.display_status() == "scheduled":
        raise NotFound("No such offer.")
    return offer


def replacement_for(user: User, offer: ServiceOffer) -> ServiceOffer | None:
    if not offer.replacement_code:
        return None
    replacement = live_revision(offer.replacement_code)
    if replacement is None or not replacement.is_orderable() or not is_visible(user, replacement):
        return None
    return replacement


def effective_prices(codes: Iterable[str], at: datetime | None = None) -> dict[str, PriceChange]:
    """The latest price change in force at `at` for each code, in one query."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    at = at or clock.now()
    changes = db.session.scalars(
        sa.select(PriceChange)
        .where(PriceChange.offer_code.in_(codes), PriceChange.effective_from <= at)
        .order_by(PriceChange.offer_code, PriceChange.effective_from.desc())
    )
    current: dict[str, PriceChange] = {}
    for change in changes:
        current.setdefault(change.offer_code, change)
    return current


def current_price(
    offer: ServiceOffer, at: datetime | None = None
) -> tuple[Decimal | None, Decimal]:
    """(price, cost) in force now: the latest effective price change, else the offer's own."""
    change = effective_prices([offer.code], at).get(offer.code)
    if change is None:
        return offer.price, offer.cost
    return change.price, change.cost if change.cost is not None else offer.cost


def price_history(code: str) -> list[PriceChange]:
    return list(
        db.session.scalars(
            sa.select(PriceChange)
            .where(PriceChange.offer_code == code)
            .order_by(PriceChange.effective_from.desc())
        )
    )


# --- offers: readiness and the lifecycle -------------------------------------------------


def readiness(offer: ServiceOffer) -> list[dict]:
    """The checklist that gates `ready`: each item with whether it passes and what is missing."""
    levels = offer.service_levels or {}
    plan = offer.support_plan or {}
    items = [
        ("price", "Price set", offer.price is not None, "Set a price (0 for free offers)."),
        (
            "terms",
            "Terms and conditions",
            bool((offer.terms or "").strip()),
            "Write the terms and conditions.",
        ),
        (
            "service_levels",
            "Service levels",
            all(
                levels.get(key)
                for key in (
                    "availability_pct",
                    "fulfillment_target_hours",
                    "response_hours",
                    "resolution_hours",
                )
            ),
            "Set availability, fulfillment target, and response and resolution targets.",
        ),
    ]
    if offer.is_bundle:
        items.append(
            (
                "members",
                "Bundle members",
                len(offer.members) >= 2,
                "Add at least two published offers to the bundle.",
            )
        )
    else:
        items.append(
            (
                "fulfillment_plan",
                "Fulfillment plan",
                bool(offer.fulfillment_plan),
                "Add at least one fulfillment step.",
            )
        )
    items += [
        (
            "support_plan",
            "Support plan",
            bool(plan.get("tier1_group") and plan.get("channels")),
            "Name the tier-1 group and at least one support channel.",
        ),
        (
            "knowledge",
            "Knowledge article",
            bool(articles_of(offer.code, published_only=True)),
            "Link at least one published knowledge article.",
        ),
    ]
    if offer.release_id is not None:
        deployed = offer.release is not None and offer.release.status == ReleaseStatus.DEPLOYED
        items.append(
            (
                "release",
                "Release deployed",
                deployed,
                f"Release {offer.release.label if offer.release else ''} must be deployed first.",
            )
        )
    return [
        {"key": key, "label": label, "ok": ok, "hint": "" if ok else hint}
        for key, label, ok, hint in items
    ]


def _require_ready(offer: ServiceOffer) -> None:
    missing = [item for item in readiness(offer) if not item["ok"]]
    if missing:
        raise InvalidTransition(
            "Not ready: " + " ".join(item["hint"] for item in missing),
            fields={item["key"]: [item["hint"]] for item in missing},
        )


def _require_code_not_retired(offer: ServiceOffer) -> None:
    live = live_revision(offer.code)
    if live is not None and live.id != offer.id and live.status == OfferStatus.RETIRED:
        raise InvalidTransition(
            f"{offer.code} is retired: revision {offer.revision} cannot be published over it.",
            fields={"to": [f"{offer.code} is retired."]},
        )


def _require_no_gap_after_live(offer: ServiceOffer) -> None:
    """A revision replaces the live one the moment it is published; starting later would leave
    the offer unorderable until then, so it must be valid from now."""
    live = live_revision(offer.code)
    starts = clock.as_utc(offer.valid_from)
    if live is None or live.id == offer.id or starts is None or starts <= clock.now():
        return
    message = (
        f"Revision {offer.revision} would replace the live revision now but is valid only from "
        f"{starts:%Y-%m-%d}: subscribers could not order in between. Publish it on that date, "
        "or set its validity to start today (use a price change for a dated new price)."
    )
    raise InvalidTransition(message, fields={"valid_from": [message]})


def _require_orderable_members(offer: ServiceOffer) -> None:
    if not offer.is_bundle:
        return
    problems = bundle_problems(offer)
    if problems:
        raise InvalidTransition(
            "The bundle cannot be published: " + " ".join(problems), fields={"members": problems}
        )


# (from, to) → guards run before the change. The one table for the offer lifecycle.
OFFER_TRANSITIONS: dict[tuple[str, str], tuple] = {
    (OfferStatus.DRAFT, OfferStatus.PLANNED): (),
    (OfferStatus.PLANNED, OfferStatus.DRAFT): (),
    (OfferStatus.PLANNED, OfferStatus.READY): (_require_ready,),
    (OfferStatus.READY, OfferStatus.PLANNED): (),
    (OfferStatus.READY, OfferStatus.PUBLISHED): (
        _require_ready,
        _require_code_not_retired,
        _require_no_gap_after_live,
        _require_orderable_members,
    ),
    (OfferStatus.PUBLISHED, OfferStatus.RETIRED): (),
}
OFFER_STATUS_VALUES = frozenset(status.value for status in OfferStatus)
# The statuses a transition can lead to, in lifecycle order.
TRANSITION_TARGETS = tuple(
    status.value for status in OfferStatus if any(to == status for _, to in OFFER_TRANSITIONS)
)


def allowed_transitions(offer: ServiceOffer) -> list[str]:
    return [to for (frm, to) in OFFER_TRANSITIONS if frm == offer.status]


def _check_version(offer: ServiceOffer, expected_version: int | None) -> None:
    if expected_version is None:
        return
    try:
        expected_version = int(expected_version)
    except (TypeError, ValueError):
        raise Conflict(
            "The form did not say which version of the offer you edited. Reload and try again.",
            fields={"version": [f"Unknown version: now version {offer.version}."]},
        ) from None
    if expected_version == offer.version:
        return
    events = db.session.scalars(
        sa.select(audit.AuditEvent)
        .where(audit.AuditEvent.object_type == "offer", audit.AuditEvent.object_id == str(offer.id))
        .order_by(audit.AuditEvent.id)
    ).all()
    changed: list[str] = []
    who: set[str] = set()
    for event in events:
        if int((event.changes.get("version") or {}).get("after") or 0) > int(expected_version):
            changed += [field for field in event.changes if field not in ("version", "updated_at")]
            who.add(event.actor.name if event.actor else "someone")
    fields = ", ".join(dict.fromkeys(changed)) or "the offer"
    raise Conflict(
        f"{' and '.join(sorted(who)) or 'Someone'} changed {fields} since you opened this offer "
        f"(your copy is version {expected_version}, the saved one is version {offer.version}). "
        "Reload to see their changes, then apply yours again.",
        fields={"version": [f"Stale: now version {offer.version}."]},
    )


def _bump(offer: ServiceOffer) -> dict:
    before = offer.version
    offer.version += 1
    offer.updated_at = clock.now()
    return {"version": {"before": before, "after": offer.version}}


def transition_offer(
    actor: User | None,
    offer_id: int,
    to: str,
    *,
    expected_version: int | None = None,
    end_date: Any = None,
    replacement_code: str | None = None,
    commit: bool = True,
) -> ServiceOffer:
    if actor is not None:  # None: the seed and the command line
        require_role(
            actor,
            *CATALOG_ROLES,
            message="Only catalog managers move offers through their lifecycle.",
        )
    if not isinstance(to, str) or to not in OFFER_STATUS_VALUES:
        raise ValidationFailed(
            f"“{to}” is not an offer status.",
            fields={"to": [f"Unknown status; choose one of: {', '.join(TRANSITION_TARGETS)}."]},
        )
    offer = get_offer(offer_id)
    _check_version(offer, expected_version)
    key = (offer.status, to)
    if key not in OFFER_TRANSITIONS:
        allowed = ", ".join(allowed_transitions(offer)) or "none"
        raise InvalidTransition(
            f"A {offer.status} offer cannot become {to}. Allowed next: {allowed}.",
            fields={"to": [f"Allowed next: {allowed}."]},
        )
    for guard in OFFER_TRANSITIONS[key]:
        guard(offer)
    # Check the retirement's end date and replacement before anything changes.
    retirement = (
        _check_retirement(offer, end_date, replacement_code) if to == OfferStatus.RETIRED else None
    )
    before = offer.status
    effects = {
        OfferStatus.PLANNED: _on_planned,
        OfferStatus.PUBLISHED: _on_published,
        OfferStatus.RETIRED: lambda a, o: _on_retired(a, o, *retirement),
    }
    offer.status = to
    changes = {"status": {"before": before, "after": to}, **_bump(offer)}
    effect = effects.get(to)
    if effect is not None and not (to == OfferStatus.PLANNED and before == OfferStatus.READY):
        changes.update(effect(actor, offer) or {})
    audit.record(
        actor,
        "offer",
        offer.id,
        "transition",
        changes=changes,
        summary=f"{offer.code} r{offer.revision}: {before} → {to}",
    )
    if commit:
        db.session.commit()
    return offer


def _on_planned(actor: User, offer: ServiceOffer) -> dict:
    if offer.planned_release_date is not None:
        staff = _users_with_roles(Role.CATALOG_MANAGER, Role.SUPPORT_AGENT)
        notify(
            staff,
            f"Upcoming release: {offer.name}",
            f"{offer.name} ({offer.code}) is planned for {offer.planned_release_date:%Y-%m-%d}.",
            f"/catalog/manage/offers/{offer.id}",
        )
    return {}


def _on_published(actor: User, offer: ServiceOffer) -> dict:
    # Supersede the live revision before this one's new status is flushed, or the
    # one-live-revision index refuses the change.
    with db.session.no_autoflush:
        previous = live_revision_excluding(offer)
    offer.published_at = clock.now()
    if previous is not None:
        offer.status = OfferStatus.READY.value
        previous.status = OfferStatus.SUPERSEDED.value
        db.session.flush()
        offer.status = OfferStatus.PUBLISHED.value
        audit.record(
            actor, "offer", previous.id, "superseded", summary=f"by revision {offer.revision}"
        )
        _price_of_revision(actor, offer, previous)
        db.session.flush()
        subject = f"Changed: {offer.name}"
        body = f"{offer.name} has a new revision ({offer.revision}). Subscriptions keep the terms they agreed to."
    else:
        subject = f"New offer: {offer.name}"
        body = offer.summary or f"{offer.name} is now in the catalog."
    if offer.valid_from is not None and offer.valid_from > clock.now():
        body += f" Orderable from {offer.valid_from:%Y-%m-%d}."
    notify(offer_followers(offer.code), subject, body, f"/catalog/offers/{offer.id}")
    return {"superseded_revision": {"before": None, "after": previous.revision}} if previous else {}


def _price_of_revision(actor: User | None, offer: ServiceOffer, previous: ServiceOffer) -> None:
    """A revision that changes the price or cost makes it the price from its publication;
    otherwise the price history (which belongs to the code) would keep an older price."""
    if (offer.price, offer.cost) == (previous.price, previous.cost) or offer.price is None:
        return
    moment = offer.published_at
    if db.session.scalar(
        sa.select(PriceChange.id).where(
            PriceChange.offer_code == offer.code, PriceChange.effective_from == moment
        )
    ):
        return
    change = PriceChange(
        offer_code=offer.code,
        price=offer.price,
        cost=offer.cost,
        effective_from=moment,
        reason=f"Revision {offer.revision}",
        created_at=moment,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff(
            {}, {"price": offer.price, "cost": offer.cost, "effective_from": moment}
        ),
        summary=offer.code,
    )


def live_revision_excluding(offer: ServiceOffer) -> ServiceOffer | None:
    return db.session.scalar(
        sa.select(ServiceOffer).where(
            ServiceOffer.code == offer.code,
            ServiceOffer.id != offer.id,
            ServiceOffer.status.in_(LIVE_STATUSES),
        )
    )


def _check_retirement(
    offer: ServiceOffer, end_date: Any, replacement_code: str | None
) -> tuple[datetime, str | None, ServiceOffer | None]:
    """(end, replacement code, replacement offer) of a retirement, or ValidationFailed."""
    errors: check.Errors = {}
    now = clock.now()
    end = check.moment(errors, "end_date", end_date) or now
    if end < now.replace(second=0, microsecond=0):
        check.add(errors, "end_date", "The end date cannot be in the past.")
    if offer.valid_to is not None and end > offer.valid_to:
        end = offer.valid_to
    if offer.valid_from is not None and end <= offer.valid_from:
        check.add(
            errors,
            "end_date",
            f"This offer starts on {offer.valid_from:%Y-%m-%d %H:%M} UTC: retire it after that.",
        )
    replacement = None
    if replacement_code:
        replacement_code = str(replacement_code).strip().upper()
        replacement = live_revision(replacement_code)
        if replacement_code == offer.code:
            check.add(errors, "replacement_code", "An offer cannot replace itself.")
        elif replacement is None or replacement.status != OfferStatus.PUBLISHED:
            check.add(errors, "replacement_code", f"{replacement_code} is not a published offer.")
    if errors:
        raise ValidationFailed("The offer could not be retired.", fields=errors)
    return end, replacement_code or None, replacement


def _on_retired(
    actor: User,
    offer: ServiceOffer,
    end: datetime,
    replacement_code: str | None,
    replacement: ServiceOffer | None,
) -> dict:
    before = {"valid_to": offer.valid_to, "replacement_code": offer.replacement_code}
    offer.valid_to = end
    offer.replacement_code = replacement_code
    offer.retired_at = clock.now()
    text = f"{offer.name} is retired: no new orders after {end:%Y-%m-%d %H:%M} UTC."
    if replacement is not None:
        text += f" Its replacement is {replacement.name}."
    notify(
        offer_followers(offer.code), f"Retiring: {offer.name}", text, f"/catalog/offers/{offer.id}"
    )
    flagged = bundles_containing(offer.code)
    if flagged:
        notify(
            _users_with_roles(Role.CATALOG_MANAGER),
            f"Bundle member retired: {offer.code}",
            f"{offer.name} is retired; check the bundles that contain it: {', '.join(b.code for b in flagged)}.",
            f"/catalog/manage/offers/{flagged[0].id}",
        )
    return audit.diff(
        before, {"valid_to": offer.valid_to, "replacement_code": offer.replacement_code}
    )


def _users_with_roles(*roles: Role) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.active.is_(True),
                User.roles.any(UserRole.role.in_([str(role) for role in roles])),
            )
        )
    )


def audience_users(code: str) -> list[User]:
    """Who hears about an offer: its (pilot) groups' members, or every consumer when it has no audience."""
    settings = db.session.get(OfferSettings, code)
    canary = bool(settings and settings.canary)
    group_filter = [offer_audience.c.offer_code == code]
    if canary:
        group_filter.append(offer_audience.c.is_pilot.is_(True))
    has_audience = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(offer_audience)
        .where(offer_audience.c.offer_code == code)
    )
    if not has_audience and not canary:
        return _users_with_roles(Role.CONSUMER)
    member_ids = (
        sa.select(group_members.c.user_id)
        .join(offer_audience, offer_audience.c.group_id == group_members.c.group_id)
        .where(*group_filter)
    )
    return list(
        db.session.scalars(sa.select(User).where(User.id.in_(member_ids), User.active.is_(True)))
    )


def offer_followers(code: str) -> list[User]:
    """Who hears of a publication, change, price change or retirement: the audience and,
    once subscriptions exist, the offer's subscribers."""
    from ..subscriptions.services import subscribers_of  # subscriptions builds on the catalog

    audience = audience_users(code)
    known = {user.id for user in audience}
    return audience + [user for user in subscribers_of(code) if user.id not in known]


# --- offers: writing ---------------------------------------------------------------------

OFFER_FIELDS = (
    "name",
    "summary",
    "description",
    "kind",
    "category_id",
    "release_id",
    "product_id",
    "valid_from",
    "valid_to",
    "cost",
    "price",
    "currency",
    "billing_period",
    "terms",
    "service_levels",
    "options",
    "fulfillment_plan",
    "support_plan",
    "planned_release_date",
)


def _group_names() -> set[str]:
    return set(db.session.scalars(sa.select(ConsumerGroup.name)))


def clean_offer_fields(data: dict, *, partial_of: ServiceOffer | None = None) -> dict:
    """Validate offer fields. With `partial_of`, missing fields keep that offer's values."""
    source = (
        {field: getattr(partial_of, field) for field in OFFER_FIELDS}
        if partial_of is not None
        else {}
    )
    source.update({key: value for key, value in data.items() if key in OFFER_FIELDS})
    errors: check.Errors = {}
    groups = _group_names()
    cleaned = {
        "name": check.text(errors, "name", source.get("name"), required=True, max_length=160),
        "summary": check.text(errors, "summary", source.get("summary"), max_length=300),
        "description": check.text(
            errors, "description", source.get("description"), max_length=50_000
        ),
        "kind": check.kind(errors, source.get("kind")),
        "valid_from": check.moment(errors, "valid_from", source.get("valid_from")),
        "valid_to": check.moment(errors, "valid_to", source.get("valid_to")),
        "cost": check.money(errors, "cost", source.get("cost")) or Decimal("0.00"),
        "price": check.money(errors, "price", source.get("price")),
        "currency": check.currency(errors, source.get("currency")),
        "billing_period": check.billing(errors, source.get("billing_period")),
        "terms": check.text(errors, "terms", source.get("terms"), max_length=50_000),
        "service_levels": check.service_levels(errors, source.get("service_levels")),
        "options": check.options(errors, source.get("options")),
        "fulfillment_plan": check.fulfillment_plan(errors, source.get("fulfillment_plan"), groups),
        "support_plan": check.support_plan(errors, source.get("support_plan"), groups),
        "planned_release_date": check.moment(
            errors, "planned_release_date", source.get("planned_release_date")
        ),
    }
    if (
        cleaned["valid_from"]
        and cleaned["valid_to"]
        and cleaned["valid_to"] <= cleaned["valid_from"]
    ):
        check.add(errors, "valid_to", "The end of validity must come after its start.")
    for field, model in (
        ("category_id", Category),
        ("release_id", ProductRelease),
        ("product_id", DigitalProduct),
    ):
        cleaned[field] = check.reference_id(errors, field, source.get(field))
        if field in errors or cleaned[field] is None:
            continue
        if db.session.get(model, cleaned[field]) is None:
            check.add(errors, field, "Choose from the list.")
    release = (
        db.session.get(ProductRelease, cleaned["release_id"]) if cleaned.get("release_id") else None
    )
    if release is not None:
        cleaned["product_id"] = release.product_id
    if errors:
        raise ValidationFailed("The offer has invalid fields.", fields=errors)
    return cleaned


def create_offer(actor: User | None, data: dict, *, commit: bool = True) -> ServiceOffer:
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers create offers.")
    errors: check.Errors = {}
    code = check.offer_code(errors, data.get("code"))
    if code and db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(ServiceOffer.code == code)
    ):
        check.add(errors, "code", f"The code {code} is already used.")
    try:
        cleaned = clean_offer_fields(data)
    except ValidationFailed as failure:
        errors = {**failure.fields, **errors}
    if errors:
        raise ValidationFailed("The offer could not be saved.", fields=errors)
    offer = ServiceOffer(
        code=code,
        revision=1,
        status=OfferStatus.DRAFT.value,
        created_by_id=actor.id if actor else None,
        created_at=clock.now(),
        updated_at=clock.now(),
        version=1,
        **cleaned,
    )
    db.session.add(offer)
    settings_for(code)
    db.session.flush()
    audit.record(
        actor,
        "offer",
        offer.id,
        "created",
        changes={**audit.diff({}, _snapshot(offer)), "version": {"before": None, "after": 1}},
        summary=f"{code}: {offer.name}",
    )
    if commit:
        db.session.commit()
    return offer


def _snapshot(offer: ServiceOffer) -> dict:
    return {field: getattr(offer, field) for field in OFFER_FIELDS}


def update_offer(
    actor: User | None,
    offer_id: int,
    data: dict,
    *,
    expected_version: int | None,
    commit: bool = True,
) -> ServiceOffer:
    """Edit a draft, planned or ready revision. A stale `expected_version` is refused with what changed."""
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers edit offers.")
    offer = get_offer(offer_id)
    _check_version(offer, expected_version)
    if offer.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            f"A {offer.status} offer is not edited in place: create a new revision to change it.",
            fields={"status": ["Create a revision to change a published offer."]},
        )
    cleaned = clean_offer_fields(data, partial_of=offer)
    if offer.is_bundle and cleaned["kind"] != OfferKind.BUNDLE.value and offer.members:
        raise ValidationFailed(
            "Remove the bundle's members before changing its kind.",
            fields={"kind": ["The bundle still has members."]},
        )
    before = _snapshot(offer)
    if cleaned["kind"] == OfferKind.BUNDLE.value and offer.members:
        _check_bundle_validity(offer, (cleaned["valid_from"], cleaned["valid_to"]))
    for field, value in cleaned.items():
        setattr(offer, field, value)
    changes = audit.diff(before, _snapshot(offer))
    if not changes:
        return offer
    changes.update(_bump(offer))
    audit.record(
        actor,
        "offer",
        offer.id,
        "updated",
        changes=changes,
        summary=f"{offer.code} r{offer.revision}",
    )
    if commit:
        db.session.commit()
    return offer


def create_revision(actor: User | None, offer_id: int, *, commit: bool = True) -> ServiceOffer:
    """Start changing a live offer: a copy of it as a new draft revision."""
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers change offers.")
    live = get_offer(offer_id)
    if live.status != OfferStatus.PUBLISHED:
        raise InvalidTransition(
            f"Only a published offer gets a new revision; this one is {live.status}.",
            fields={"status": ["Not published."]},
        )
    existing = draft_revision(live.code)
    if existing is not None:
        raise Conflict(
            f"Revision {existing.revision} of {live.code} is already being edited.",
            fields={"revision": [f"Open revision {existing.revision}."]},
        )
    latest = db.session.scalar(
        sa.select(sa.func.max(ServiceOffer.revision)).where(ServiceOffer.code == live.code)
    )
    revision = ServiceOffer(
        code=live.code,
        revision=latest + 1,
        status=OfferStatus.DRAFT.value,
        created_by_id=actor.id if actor else None,
        created_at=clock.now(),
        updated_at=clock.now(),
        version=1,
        **{field: copy.deepcopy(getattr(live, field)) for field in OFFER_FIELDS},
    )
    revision.replacement_code = None
    revision.members = [
        BundleMember(member_code=m.member_code, position=m.position) for m in live.members
    ]
    db.session.add(revision)
    db.session.flush()
    audit.record(
        actor,
        "offer",
        revision.id,
        "revision_created",
        changes={"version": {"before": None, "after": 1}},
        summary=f"{live.code} r{revision.revision} from r{live.revision}",
    )
    if commit:
        db.session.commit()
    return revision


def diff_revisions(first: ServiceOffer, second: ServiceOffer) -> list[dict]:
    """Field-by-field differences between two revisions of one offer."""
    if first.code != second.code:
        raise ValidationFailed(
            "Compare revisions of the same offer.", fields={"revision": ["Different offers."]}
        )
    rows = []
    for field in OFFER_FIELDS + ("members",):
        if field == "members":
            a, b = [m.member_code for m in first.members], [m.member_code for m in second.members]
        else:
            a, b = getattr(first, field), getattr(second, field)
        if a != b:
            rows.append({"field": field, "before": a, "after": b})
    return rows


def set_audience(
    actor: User,
    code: str,
    *,
    group_ids: Iterable[int],
    pilot_group_ids: Iterable[int] = (),
    canary: bool = False,
    commit: bool = True,
) -> None:
    """Who may see an offer; takes effect at once for every revision. No groups means everyone.

    In canary only the pilot groups see it, until the offer is widened to its whole audience
    (the groups, pilots included; none: everyone). Out of canary only the audience groups are
    kept: pilot groups given then are ignored."""
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers set audiences.")
    if not revisions_of(code):
        raise NotFound("No such offer.")
    group_ids, pilot_ids = set(group_ids), set(pilot_group_ids) if canary else set()
    errors: check.Errors = {}
    known = set(
        db.session.scalars(
            sa.select(ConsumerGroup.id).where(ConsumerGroup.id.in_(group_ids | pilot_ids))
        )
    )
    if (group_ids | pilot_ids) - known:
        check.add(errors, "group_ids", "Choose existing groups.")
    if canary and not pilot_ids:
        check.add(errors, "pilot_group_ids", "A canary publication needs at least one pilot group.")
    elif canary and group_ids and group_ids <= pilot_ids:
        check.add(
            errors,
            "group_ids",
            "The whole audience must reach beyond the pilot groups: add a group, or check none "
            "for everyone.",
        )
    if errors:
        raise ValidationFailed("The audience could not be saved.", fields=errors)
    audience_before, pilots_before = audience_of(code)
    settings = settings_for(code)
    canary_before = settings.canary
    told_before = {user.id for user in audience_users(code)} if canary_before else set()
    db.session.execute(sa.delete(offer_audience).where(offer_audience.c.offer_code == code))
    rows = [
        {"offer_code": code, "group_id": gid, "is_pilot": gid in pilot_ids}
        for gid in sorted(group_ids | pilot_ids)
    ]
    if rows:
        db.session.execute(sa.insert(offer_audience), rows)
    settings.canary = canary
    names = {
        g.id: g.name
        for g in db.session.scalars(
            sa.select(ConsumerGroup).where(ConsumerGroup.id.in_(group_ids | pilot_ids))
        )
    }
    audience_after = group_ids | pilot_ids if group_ids else set()
    changes = audit.diff(
        {
            "audience": sorted(g.name for g in audience_before),
            "pilots": sorted(g.name for g in pilots_before),
            "canary": canary_before,
        },
        {
            "audience": sorted(names[g] for g in audience_after),
            "pilots": sorted(names[g] for g in pilot_ids),
            "canary": canary,
        },
    )
    live = live_revision(code)
    if live is not None and live.status == OfferStatus.PUBLISHED and canary_before and not canary:
        db.session.flush()
        notify(
            [user for user in audience_users(code) if user.id not in told_before],
            f"Now available: {live.name}",
            live.summary or live.name,
            f"/catalog/offers/{live.id}",
        )
    audit.record(actor, "offer_audience", code, "audience_changed", changes=changes, summary=code)
    if commit:
        db.session.commit()


def widen_audience(actor: User, code: str) -> None:
    """End a canary: the offer becomes visible to its whole audience (everyone when no group
    beyond the pilots was named) at once, and the rest of the audience is told."""
    audience, _pilots = audience_of(code)
    set_audience(actor, code, group_ids=[group.id for group in audience], canary=False)


def set_featured(actor: User | None, code: str, featured: bool, *, commit: bool = True) -> None:
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers feature offers.")
    if not revisions_of(code):
        raise NotFound("No such offer.")
    settings = settings_for(code)
    audit.record(
        actor,
        "offer_settings",
        code,
        "featured",
        changes=audit.diff({"featured": settings.featured}, {"featured": featured}),
    )
    settings.featured = featured
    if commit:
        db.session.commit()


# --- prices ------------------------------------------------------------------------------


def add_price_change(
    actor: User | None,
    code: str,
    *,
    price: Any,
    cost: Any = None,
    effective_from: Any,
    reason: str = "",
    commit: bool = True,
) -> PriceChange:
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers change prices.")
    if not revisions_of(code):
        raise NotFound("No such offer.")
    errors: check.Errors = {}
    amount = check.money(errors, "price", price, required=True)
    cost_amount = check.money(errors, "cost", cost)
    effective = check.moment(errors, "effective_from", effective_from)
    if effective is None and "effective_from" not in errors:
        check.add(errors, "effective_from", "Enter the date the price takes effect.")
    reason = check.text(errors, "reason", reason, max_length=300)
    if effective is not None and db.session.scalar(
        sa.select(PriceChange).where(
            PriceChange.offer_code == code, PriceChange.effective_from == effective
        )
    ):
        check.add(errors, "effective_from", "A price change already takes effect at that moment.")
    if errors:
        raise ValidationFailed("The price change could not be saved.", fields=errors)
    change = PriceChange(
        offer_code=code,
        price=amount,
        cost=cost_amount,
        effective_from=effective,
        reason=reason,
        created_at=clock.now(),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        actor,
        "price_change",
        change.id,
        "created",
        changes=audit.diff({}, {"price": amount, "cost": cost_amount, "effective_from": effective}),
        summary=code,
    )
    live = live_revision(code)
    if live is not None and live.status == OfferStatus.PUBLISHED and effective is not None:
        notify(
            offer_followers(code),
            f"Price change: {live.name}",
            f"From {effective:%Y-%m-%d} the price of {live.name} is {amount} {live.currency}.",
            f"/catalog/offers/{live.id}",
        )
    if commit:
        db.session.commit()
    return change


# --- bundles -----------------------------------------------------------------------------


def bundles_containing(code: str) -> list[ServiceOffer]:
    return list(
        db.session.scalars(
            sa.select(ServiceOffer)
            .join(BundleMember, BundleMember.bundle_id == ServiceOffer.id)
            .where(
                BundleMember.member_code == code,
                ServiceOffer.status.not_in([OfferStatus.SUPERSEDED.value]),
            )
        )
    )


def member_offers(bundle: ServiceOffer) -> list[tuple[BundleMember, ServiceOffer | None]]:
    codes = [m.member_code for m in bundle.members]
    live = (
        {
            o.code: o
            for o in db.session.scalars(
                sa.select(ServiceOffer).where(
                    ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
        }
        if codes
        else {}
    )
    return [(member, live.get(member.member_code)) for member in bundle.members]


def bundle_problems(bundle: ServiceOffer) -> list[str]:
    """Why a bundle is flagged: members that are missing, retired or not orderable."""
    problems = []
    for member, offer in member_offers(bundle):
        if offer is None:
            problems.append(f"{member.member_code} is not published.")
        elif offer.status == OfferStatus.RETIRED:
            problems.append(f"{member.member_code} is retired.")
        elif not offer.is_orderable() and offer.display_status() != "scheduled":
            problems.append(f"{member.member_code} is {offer.display_status()}.")
    return problems


def _check_bundle_validity(
    bundle: ServiceOffer,
    window: tuple[datetime | None, datetime | None] | None = None,
    members: Iterable[ServiceOffer | None] | None = None,
) -> None:
    """The bundle's validity (its own, or the (valid_from, valid_to) window about to be saved)
    lies within each member's (the bundle's members, or the offers about to become them)."""
    errors: check.Errors = {}
    valid_from, valid_to = window if window is not None else (bundle.valid_from, bundle.valid_to)
    if members is None:
        members = [offer for _member, offer in member_offers(bundle)]
    for offer in members:
        if offer is None:
            continue
        if offer.valid_from and (valid_from is None or valid_from < offer.valid_from):
            check.add(
                errors,
                "valid_from",
                f"The bundle cannot start before {offer.code} ({offer.valid_from:%Y-%m-%d}).",
            )
        if offer.valid_to and (valid_to is None or valid_to > offer.valid_to):
            check.add(
                errors,
                "valid_to",
                f"The bundle cannot end after {offer.code} ({offer.valid_to:%Y-%m-%d}).",
            )
    if errors:
        raise ValidationFailed("The bundle's validity reaches beyond its members'.", fields=errors)


def set_bundle_members(
    actor: User | None,
    bundle_id: int,
    member_codes: list[str],
    *,
    expected_version: int | None = None,
    commit: bool = True,
) -> ServiceOffer:
    """Set a bundle's members in order; each must be a published, non-bundle offer."""
    if actor is not None:
        require_role(actor, *CATALOG_ROLES, message="Only catalog managers compose bundles.")
    bundle = get_offer(bundle_id)
    _check_version(bundle, expected_version)
    if not bundle.is_bundle:
        raise ValidationFailed(
            "Only a bundle offer has members.", fields={"kind": ["Set the kind to bundle first."]}
        )
    if bundle.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            "Create a new revision to change a published bundle.",
            fields={"status": ["Not editable."]},
        )
    codes = [str(code).strip().upper() for code in member_codes if str(code).strip()]
    errors: check.Errors = {}
    if len(set(codes)) != len(codes):
        check.add(errors, "members", "Each offer can be in the bundle once.")
    live = (
        {
            o.code: o
            for o in db.session.scalars(
                sa.select(ServiceOffer).where(
                    ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
        }
        if codes
        else {}
    )
    for code in codes:
        offer = live.get(code)
        if code == bundle.code:
            check.add(errors, "members", "A bundle cannot contain itself.")
        elif offer is None or offer.status != OfferStatus.PUBLISHED:
            check.add(errors, "members", f"{code} is not a published offer.")
        elif offer.is_bundle:
            check.add(errors, "members", f"{code} is itself a bundle; bundles hold single offers.")
    if errors:
        raise ValidationFailed("The bundle could not be saved.", fields=errors)
    _check_bundle_validity(bundle, members=[live[code] for code in codes])
    before = [m.member_code for m in bundle.members]
    # Delete the old rows first: the unit of work would insert the new ones before deleting
    # the orphans, and a kept member would break uq_bundle_member.
    bundle.members.clear()
    db.session.flush()
    bundle.members = [
        BundleMember(member_code=code, position=index) for index, code in enumerate(codes)
    ]
    db.session.flush()
    changes = {**audit.diff({"members": before}, {"members": codes}), **_bump(bundle)}
    audit.record(actor, "offer", bundle.id, "members_changed", changes=changes, summary=bundle.code)
    if commit:
        db.session.commit()
    return bundle


def move_bundle_member(
    actor: User, bundle_id: int, code: str, direction: str, *, expected_version: int | None = None
) -> ServiceOffer:
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers compose bundles.")
    bundle = get_offer(bundle_id)
    codes = [m.member_code for m in bundle.members]
    if code not in codes:
        raise NotFound("That offer is not in the bundle.")
    index = codes.index(code)
    if direction == "remove":
        codes.pop(index)
    else:
        other = index - 1 if direction == "up" else index + 1
        if direction not in ("up", "down") or not 0 <= other < len(codes):
            raise ValidationFailed(
                "The member cannot move further that way.",
                fields={"members": ["Already at the end."]},
            )
        codes[index], codes[other] = codes[other], codes[index]
    return set_bundle_members(actor, bundle_id, codes, expected_version=expected_version)


def bundle_member_total(bundle: ServiceOffer) -> Decimal:
    members = [offer for _, offer in member_offers(bundle) if offer is not None]
    prices = effective_prices([offer.code for offer in members])
    total = Decimal("0.00")
    for offer in members:
        change = prices.get(offer.code)
        total += change.price if change else (offer.price or Decimal("0"))
    return total


# --- the catalog manager's workspace -----------------------------------------------------


def _subtree_ids(category_id: int) -> sa.Select:
    """SQL: the id of a category and of every category below it (a recursive CTE)."""
    tree = sa.select(Category.id).where(Category.id == category_id).cte("subtree", recursive=True)
    children = sa.orm.aliased(Category)
    tree = tree.union_all(sa.select(children.id).where(children.parent_id == tree.c.id))
    return sa.select(tree.c.id)


SUGGESTION_LIMIT = 50


def offer_suggestions(
    actor: User, offer: ServiceOffer, *, for_bundle: bool = False, limit: int = SUGGESTION_LIMIT
) -> list[tuple[str, str]]:
    """(code, name) of published offers the editor suggests as `offer`'s replacement, or with
    `for_bundle` as a member to add (no bundles, none already in it). The same product's and
    category's come first, then by name; at most `limit`: the field takes any code typed, and
    a catalog of thousands is no list to scroll through."""
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers edit offers.")
    query = sa.select(ServiceOffer.code, ServiceOffer.name).where(
        ServiceOffer.status == OfferStatus.PUBLISHED.value, ServiceOffer.code != offer.code
    )
    if for_bundle:
        query = query.where(
            ServiceOffer.kind != OfferKind.BUNDLE.value,
            ServiceOffer.code.not_in([member.member_code for member in offer.members]),
        )
    distance = sa.case((ServiceOffer.product_id == offer.product_id, 0), else_=1) + sa.case(
        (ServiceOffer.category_id == offer.category_id, 0), else_=1
    )
    rows = db.session.execute(
        query.order_by(distance, ServiceOffer.name, ServiceOffer.code).limit(limit)
    )
    return [(code, name) for code, name in rows]


def workspace_query(
    actor: User,
    *,
    status: str = "",
    category_id: int | None = None,
    group_id: int | None = None,
    search: str = "",
) -> sa.Select:
    """Every current revision (the one being edited, else the live one), with filters."""
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers see the catalog workspace.")
    query = sa.select(ServiceOffer).where(ServiceOffer.status != OfferStatus.SUPERSEDED.value)
    if status == "scheduled":
        query = query.where(
            ServiceOffer.status == OfferStatus.PUBLISHED.value,
            ServiceOffer.valid_from > clock.now(),
        )
    elif status:
        query = query.where(ServiceOffer.status == status)
    if category_id:
        query = query.where(ServiceOffer.category_id.in_(_subtree_ids(category_id)))
    if group_id == -1:  # everyone: no audience rows, or a canary for everyone (pilots only)
        named_audience = sa.exists().where(
            offer_audience.c.offer_code == ServiceOffer.code,
            offer_audience.c.is_pilot.is_(False),
        )
        canary = sa.exists().where(
            OfferSettings.offer_code == ServiceOffer.code, OfferSettings.canary.is_(True)
        )
        any_audience = sa.exists().where(offer_audience.c.offer_code == ServiceOffer.code)
        query = query.where(sa.or_(~any_audience, sa.and_(canary, ~named_audience)))
    elif group_id:
        query = query.where(
            sa.exists().where(
                offer_audience.c.offer_code == ServiceOffer.code,
                offer_audience.c.group_id == group_id,
            )
        )
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(ServiceOffer.name).like(pattern),
                sa.func.lower(ServiceOffer.code).like(pattern),
            )
        )
    return query.order_by(ServiceOffer.code, ServiceOffer.revision)


def status_counts(actor: User) -> dict[str, int]:
    require_role(actor, *CATALOG_ROLES, message="Only catalog managers see the catalog workspace.")
    rows = db.session.execute(
        sa.select(ServiceOffer.status, sa.func.count(ServiceOffer.id)).group_by(ServiceOffer.status)
    ).all()
    counts = {status.value: 0 for status in OfferStatus}
    counts.update(dict(rows))
    counts["scheduled"] = (
        db.session.scalar(
            sa.select(sa.func.count(ServiceOffer.id)).where(
                ServiceOffer.status == OfferStatus.PUBLISHED.value,
                ServiceOffer.valid_from > clock.now(),
            )
        )
        or 0
    )
    return counts


def audiences_for(codes: Iterable[str]) -> dict[str, list[str]]:
    """Audience labels per offer code, in one query (for lists): group names, pilot groups
    marked "(pilot)" while in canary; an empty list means everyone."""
    codes = sorted(set(codes))
    result: dict[str, list[str]] = {code: [] for code in codes}
    if not codes:
        return result
    rows = db.session.execute(
        sa.select(
            offer_audience.c.offer_code,
            ConsumerGroup.name,
            offer_audience.c.is_pilot,
            OfferSettings.canary,
        )
        .join(ConsumerGroup, ConsumerGroup.id == offer_audience.c.group_id)
        .outerjoin(OfferSettings, OfferSettings.offer_code == offer_audience.c.offer_code)
        .where(offer_audience.c.offer_code.in_(codes))
        .order_by(ConsumerGroup.name)
    ).all()
    by_code: dict[str, list[tuple[str, bool]]] = {}
    in_canary: set[str] = set()
    for code, name, is_pilot, canary in rows:
        by_code.setdefault(code, []).append((name, bool(is_pilot)))
        if canary:
            in_canary.add(code)
    for code, entries in by_code.items():
        audience, pilots = split_audience(entries, code in in_canary)
        labels = [f"{name} (pilot)" for name in pilots]
        labels += [name for name in audience if name not in pilots]
        if pilots and not audience:
            labels.append("then everyone")
        result[code] = labels
    return result


def featured_and_new(user: User, limit: int = 6) -> tuple[list[ServiceOffer], list[ServiceOffer]]:
    """The consumer home: featured offers, and the newest published ones."""
    base = visible_offers_query(user)
    featured = list(
        db.session.scalars(
            # A subquery, not a join: audience_clause's EXISTS on offer_settings would
            # otherwise correlate to the joined table and lose its FROM.
            base.where(
                ServiceOffer.code.in_(
                    sa.select(OfferSettings.offer_code).where(OfferSettings.featured.is_(True))
                )
            )
            .order_by(ServiceOffer.name)
            .limit(limit)
        )
    )
    newest = list(
        db.session.scalars(
            # Every published revision has a publication moment; saying so lets the plain
            # index on published_at serve the DESC order (NULLS LAST would not, on PostgreSQL).
            base.where(ServiceOffer.published_at.is_not(None))
            .order_by(ServiceOffer.published_at.desc(), ServiceOffer.id.desc())
            .limit(limit)
        )
    )
    return featured, newest


CODE_LEVEL_OBJECTS = ("offer_audience", "offer_articles", "offer_settings")


def offer_history(offer: ServiceOffer, limit: int = 200) -> list[audit.AuditEvent]:
    """The audit events of one revision and of what belongs to its code (audience, articles,
    featured flag), newest first."""
    return list(
        db.session.scalars(
            sa.select(audit.AuditEvent)
            .where(
                sa.or_(
                    sa.and_(
                        audit.AuditEvent.object_type == "offer",
                        audit.AuditEvent.object_id == str(offer.id),
                    ),
                    sa.and_(
                        audit.AuditEvent.object_type.in_(CODE_LEVEL_OBJECTS),
                        audit.AuditEvent.object_id == offer.code,
                    ),
                )
            )
            .order_by(audit.AuditEvent.occurred_at.desc(), audit.AuditEvent.id.desc())
            .limit(limit)
        )
    )
