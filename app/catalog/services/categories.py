"""Categories: the tree that structures the catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import gettext
from ..models import Category, OfferStatus, ServiceOffer
from . import catalog_versions
from .access import CATALOG_ROLES


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "category"


def get_category(category_id: int) -> Category:
    category = get_by_id(Category, category_id)
    if category is None:
        raise NotFound(gettext("No such category."))
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


@dataclass(frozen=True)
class CategoryLink:
    """What the catalog's category list shows of a category: kept across requests, so plain
    values rather than a row of one session."""

    slug: str
    name: str


def category_links(markers: dict[str, str]) -> list[tuple[CategoryLink, int]]:
    """The active categories' tree (as category_tree), kept until a category changes."""
    return catalog_versions.kept(
        "categories",
        markers,
        "tree",
        lambda: [(CategoryLink(c.slug, c.name), depth) for c, depth in category_tree()],
    )


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
        check.add(errors, "parent_id", gettext("Choose an existing, active parent category."))
        return
    ancestor: Category | None = parent
    while ancestor is not None:
        if ancestor.id == category_id:
            check.add(
                errors,
                "parent_id",
                gettext("A category cannot be moved under itself or its own subcategory."),
            )
            return
        ancestor = ancestor.parent


def _next_position(parent_id: int | None) -> int:
    """The position after the last of a parent's children (or of the top level)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Category.id)).where(
                Category.parent_id.is_(None)
                if parent_id is None
                else Category.parent_id == parent_id
            )
        )
        or 0
    )


def _clean_category(
    category_id: int | None, name: str, parent_id: int | None, description: str
) -> tuple[str, str]:
    """(name, description) checked: a name unique among its siblings, an existing parent that
    is not the category itself or below it."""
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
        check.add(errors, "name", gettext("A category with this name already exists here."))
    if errors:
        raise ValidationFailed(gettext("The category could not be saved."), fields=errors)
    return name, description


def save_category(
    actor: User | None,
    *,
    name: str,
    parent_id: int | None = None,
    description: str = "",
    category_id: int | None = None,
) -> Category:
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers manage categories."))
    name, description = _clean_category(category_id, name, parent_id, description)
    if category_id is None:
        category = Category(
            name=name,
            slug=_unique_slug(name, None),
            parent_id=parent_id,
            description=description,
            position=_next_position(parent_id),
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
            category.position = _next_position(parent_id)
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
    db.session.flush()
    return category


def move_category(actor: User, category_id: int, direction: str) -> Category:
    """Swap a category with its previous ("up") or next ("down") sibling."""
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers manage categories."))
    category = get_category(category_id)
    if category.archived_at is not None:
        raise ValidationFailed(
            gettext("“%(name)s” is archived.", name=category.name),
            fields={"position": [gettext("An archived category.")]},
        )
    siblings = [c for c, _ in category_tree() if c.parent_id == category.parent_id]
    index = siblings.index(category)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(siblings):
        raise ValidationFailed(
            gettext("The category cannot move further that way."),
            fields={"position": [gettext("Already at the end.")]},
        )
    for position, sibling in enumerate(siblings):
        sibling.position = position
    siblings[index].position, siblings[other].position = other, index
    audit.record(actor, "category", category.id, "reordered", summary=direction)
    db.session.flush()
    return category


def archive_category(actor: User, category_id: int) -> Category:
    require_role(actor, *CATALOG_ROLES, message=gettext("Only catalog managers manage categories."))
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
            gettext(
                "“%(name)s” is not empty: it has %(children)s subcategories and %(offers)s offers.",
                name=category.name,
                children=children,
                offers=offers,
            ),
            fields={"category": [gettext("Only an empty category can be archived.")]},
        )
    category.archived_at = clock.now()
    audit.record(actor, "category", category.id, "archived")
    db.session.flush()
    return category


def subtree_ids(category_id: int, *, active_only: bool = False) -> sa.Select:
    """SQL: the id of a category and of every category below it (a recursive CTE);
    `active_only` leaves out archived categories and what lies below them."""
    tree = sa.select(Category.id).where(Category.id == category_id).cte("subtree", recursive=True)
    children = sa.orm.aliased(Category)
    below = sa.select(children.id).where(children.parent_id == tree.c.id)
    if active_only:
        below = below.where(children.archived_at.is_(None))
    tree = tree.union_all(below)
    return sa.select(tree.c.id)


def category_place(slug: str) -> tuple[Category, list[tuple[Category, int]], list[Category]]:
    """An active category by its slug, with its active subcategories (each with its depth) and
    the trail of its parents from the top."""
    tree = category_tree()
    found = next((category for category, _ in tree if category.slug == slug), None)
    if found is None:
        raise NotFound(gettext("No such category."))
    children = [(category, depth) for category, depth in tree if category.parent_id == found.id]
    by_id = {category.id: category for category, _ in tree}
    trail, step = [], found.parent_id
    while step is not None and step in by_id:
        trail.insert(0, by_id[step])
        step = by_id[step].parent_id
    return found, children, trail
