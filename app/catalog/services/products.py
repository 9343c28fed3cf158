"""Digital products and their releases (planned → accepted → deployed → retired)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ... import clock
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import DigitalProduct, ProductRelease, ReleaseStatus
from ..states import RELEASE
from .access import CATALOG_ROLES

# state → the states it may move to, read from the machine (the products page's buttons)
RELEASE_TRANSITIONS: dict[str, set[str]] = {
    state: set(RELEASE.targets(state)) for state in RELEASE.states
}


def _require_product_manager(
    actor: User | None, message: str, *, from_catalog_file: bool = False
) -> None:
    roles = (Role.PRODUCT_MANAGER, *CATALOG_ROLES) if from_catalog_file else (Role.PRODUCT_MANAGER,)
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
        raise NotFound(_("No such digital product."))
    return product


def _clean_product(
    product_id: int | None, name: str, description: str, owner_id: int | None
) -> tuple[str, str]:
    """(name, description) checked: a name no other product has, an owner who is a product
    manager."""
    errors: check.Errors = {}
    name = check.text(errors, "name", name, required=True, max_length=120)
    description = check.text(errors, "description", description, max_length=5000)
    clash = (
        db.session.scalar(sa.select(DigitalProduct).where(DigitalProduct.name == name))
        if name
        else None
    )
    if clash is not None and clash.id != product_id:
        check.add(errors, "name", _("Another product already has this name."))
    if owner_id is not None:
        owner = get_by_id(User, owner_id)
        if owner is None or not owner.has_role(Role.PRODUCT_MANAGER):
            check.add(errors, "owner_id", _("The owner must be a product manager."))
    if errors:
        raise ValidationFailed(_("The product could not be saved."), fields=errors)
    return name, description


def save_product(
    actor: User | None,
    *,
    name: str,
    description: str = "",
    owner_id: int | None = None,
    product_id: int | None = None,
    from_catalog_file: bool = False,
) -> DigitalProduct:
    """Create or change a digital product. `from_catalog_file`: a catalog manager importing a
    catalog file may create the products it declares (changing one stays with product
    managers)."""
    _require_product_manager(
        actor,
        _("Only product managers manage digital products."),
        from_catalog_file=from_catalog_file and product_id is None,
    )
    name, description = _clean_product(product_id, name, description, owner_id)
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
    db.session.flush()
    return product


def get_release(release_id: int) -> ProductRelease:
    release = get_by_id(ProductRelease, release_id)
    if release is None:
        raise NotFound(_("No such release."))
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
) -> ProductRelease:
    """A new release; `from_catalog_file` as for `save_product`."""
    _require_product_manager(
        actor, _("Only product managers manage releases."), from_catalog_file=from_catalog_file
    )
    product = get_product(product_id)
    errors: check.Errors = {}
    version = check.text(errors, "version", version, required=True, max_length=40)
    planned = check.moment(errors, "planned_date", planned_date)
    notes = check.text(errors, "notes", notes, max_length=5000)
    status = check.choice(errors, "status", str(status), [s.value for s in ReleaseStatus], "status")
    if version and db.session.scalar(
        sa.select(ProductRelease.id).where(
            ProductRelease.product_id == product.id, ProductRelease.version == version
        )
    ):
        check.add(errors, "version", f"{product.name} already has a release {version}.")
    if errors:
        raise ValidationFailed(_("The release could not be saved."), fields=errors)
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
    db.session.flush()
    return release


def transition_release(actor: User | None, release_id: int, to: str) -> ProductRelease:
    require_role(actor, Role.PRODUCT_MANAGER, message=_("Only product managers move releases."))
    release = get_release(release_id)
    before = RELEASE.move(release, to)
    if to == ReleaseStatus.DEPLOYED:
        release.deployed_at = clock.now()
    audit.record(
        actor,
        "release",
        release.id,
        "transition",
        changes=audit.diff({"status": before}, {"status": to}),
    )
    db.session.flush()
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
