"""Catalog as code: the whole catalog as one plain document (YAML or JSON), and back.

`export_catalog()` writes categories (a tree, by slug), digital products and their releases,
knowledge articles, and every offer by code: the fields of its live revision (else its latest
one), its status, audience, pilot groups, canary and featured flags, replacement, bundle
members in order, linked articles and price history. Nothing in it is an id, so the document
moves between databases.

`import_catalog()` reads such a document and brings the database to it through the catalog
services, so every rule still applies: offers are created or updated by code (a published
offer gets a new revision, a draft is edited in place), then walked through the lifecycle to
their declared status. It runs as one transaction: any problem rolls everything back and is
reported per item (`offers[3].price`, with the YAML line when the document came from YAML).
A dry run does the same work, reports what would change, and rolls back.

Dates may be written relative to the moment of import (`valid_from: +30d`, `valid_to: -2w`,
midnight UTC). A relative date is resolved when the offer is created; later imports keep the
stored date, so loading the same file again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import yaml
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.models import ConsumerGroup, User
from ..accounts.services import find_user_by_email, require_role
from ..audit.services import _jsonable
from ..errors import DomainError, InvalidTransition, NotAllowed, ValidationFailed
from ..extensions import db
from ..inputs import unstorable_text
from ..knowledge import services as knowledge
from ..knowledge.models import KnowledgeArticle, offer_articles
from . import services as catalog
from . import validation as check
from .models import (
    Category,
    DigitalProduct,
    OfferKind,
    OfferSettings,
    OfferStatus,
    PriceChange,
    ReleaseStatus,
    ServiceOffer,
    offer_audience,
)
from .schemas import CatalogFileSchema, Relative, iso

FORMAT = "offerdesk-catalog"
LIFECYCLE = (
    OfferStatus.DRAFT.value,
    OfferStatus.PLANNED.value,
    OfferStatus.READY.value,
    OfferStatus.PUBLISHED.value,
)
RELEASE_ORDER = (
    ReleaseStatus.PLANNED.value,
    ReleaseStatus.ACCEPTED.value,
    ReleaseStatus.DEPLOYED.value,
    ReleaseStatus.RETIRED.value,
)
DATE_FIELDS = ("valid_from", "valid_to", "planned_release_date")
# Service field names → the catalog file's names, for error paths.
FILE_NAMES = {
    "category_id": "category",
    "product_id": "product",
    "release_id": "release",
    "group_ids": "audience",
    "pilot_group_ids": "pilot_groups",
    "end_date": "valid_to",
    "replacement_code": "replacement",
    "article_ids": "articles",
    "to": "status",
}
HEADER = """\
# Offerdesk catalog (catalog as code).
# Import with `flask catalog import FILE [--dry-run]` or POST /api/v1/catalog/import.
# Offers are matched by code, categories by slug, products by name, articles by title.
# Dates: YYYY-MM-DD, an ISO 8601 date-time (UTC), or relative to the import: +30d, -2w.
"""


def _require_manager(actor: User | None) -> None:
    if actor is not None:
        require_role(
            actor, *catalog.CATALOG_ROLES, message="Only catalog managers export and import."
        )


# --- export ------------------------------------------------------------------------------


def export_catalog(actor: User | None = None) -> dict:
    """The whole catalog as a plain dict (see the module docstring)."""
    _require_manager(actor)
    return {
        "format": FORMAT,
        "version": 1,
        "exported_at": iso(clock.now()),
        "categories": _export_categories(),
        "products": _export_products(),
        "articles": _export_articles(),
        "offers": list(export_offers().values()),
    }


def _empty(value) -> bool:
    """None, False, "", [] and {} (but not 0, which is a real minimum or price)."""
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _compact(item: dict, keep: tuple[str, ...] = ()) -> dict:
    """Leave out empty values so the file stays readable; import reads them as defaults."""
    return {key: value for key, value in item.items() if key in keep or not _empty(value)}


def _export_categories() -> list[dict]:
    nodes: dict[int, dict] = {}
    roots: list[dict] = []
    for category, _depth in catalog.category_tree():
        node = _compact(
            {
                "name": category.name,
                "slug": category.slug,
                "description": category.description,
                "children": [],
            }
        )
        node.setdefault("children", [])
        nodes[category.id] = node
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    for node in nodes.values():
        if not node["children"]:
            del node["children"]
    return roots


def _export_products() -> list[dict]:
    products = []
    for product in catalog.list_products():
        products.append(
            _compact(
                {
                    "name": product.name,
                    "description": product.description,
                    "owner": product.owner.email if product.owner else None,
                    "releases": [
                        _compact(
                            {
                                "version": release.version,
                                "status": release.status,
                                "planned_date": iso(release.planned_date),
                                "notes": release.notes,
                            }
                        )
                        for release in product.releases
                    ],
                }
            )
        )
    return products


def _export_articles() -> list[dict]:
    products = dict(db.session.execute(sa.select(DigitalProduct.id, DigitalProduct.name)).all())
    articles = db.session.scalars(
        sa.select(KnowledgeArticle).order_by(KnowledgeArticle.title, KnowledgeArticle.id)
    )
    return [
        _compact(
            {
                "title": article.title,
                "body": article.body,
                "status": article.status,
                "product": products.get(article.product_id),
            },
            keep=("body",),
        )
        for article in articles
    ]


def current_revisions(codes: list[str] | None = None) -> dict[str, ServiceOffer]:
    """Per code, the revision the catalog file describes: the live one, else the latest."""
    query = (
        sa.select(ServiceOffer)
        .where(ServiceOffer.status != OfferStatus.SUPERSEDED.value)
        .options(selectinload(ServiceOffer.members))
        .order_by(ServiceOffer.code, ServiceOffer.revision)
    )
    if codes is not None:
        if not codes:
            return {}
        query = query.where(ServiceOffer.code.in_(codes))
    chosen: dict[str, ServiceOffer] = {}
    for offer in db.session.scalars(query):
        current = chosen.get(offer.code)
        if current is None or offer.is_live or not current.is_live:
            chosen[offer.code] = offer
    return chosen


def code_settings(codes: list[str]) -> dict[str, dict]:
    """Per code, in two queries: the whole audience's group names (pilots included; none:
    everyone), pilot group names, and the canary and featured flags."""
    codes = sorted(set(codes))
    result = {
        code: {"audience": [], "pilot_groups": [], "canary": False, "featured": False}
        for code in codes
    }
    if not codes:
        return result
    rows: dict[str, list[tuple[str, bool]]] = {code: [] for code in codes}
    for code, name, is_pilot in db.session.execute(
        sa.select(offer_audience.c.offer_code, ConsumerGroup.name, offer_audience.c.is_pilot)
        .join(ConsumerGroup, ConsumerGroup.id == offer_audience.c.group_id)
        .where(offer_audience.c.offer_code.in_(codes))
        .order_by(ConsumerGroup.name)
    ):
        rows[code].append((name, bool(is_pilot)))
    for setting in db.session.scalars(
        sa.select(OfferSettings).where(OfferSettings.offer_code.in_(codes))
    ):
        result[setting.offer_code]["canary"] = bool(setting.canary)
        result[setting.offer_code]["featured"] = bool(setting.featured)
    for code, item in result.items():
        item["audience"], item["pilot_groups"] = catalog.split_audience(rows[code], item["canary"])
    return result


def export_offers(codes: list[str] | None = None) -> dict[str, dict]:
    """Offers as catalog-file items, keyed by code, in code order; batch queries only."""
    offers = current_revisions(codes)
    codes = sorted(offers)
    if not codes:
        return {}
    settings = code_settings(codes)
    articles: dict[str, list[str]] = {code: [] for code in codes}
    for code, title in db.session.execute(
        sa.select(offer_articles.c.offer_code, KnowledgeArticle.title)
        .join(KnowledgeArticle, KnowledgeArticle.id == offer_articles.c.article_id)
        .where(offer_articles.c.offer_code.in_(codes))
        .order_by(KnowledgeArticle.title)
    ):
        articles[code].append(title)
    history: dict[str, list[dict]] = {code: [] for code in codes}
    for change in db.session.scalars(
        sa.select(PriceChange)
        .where(PriceChange.offer_code.in_(codes))
        .order_by(PriceChange.offer_code, PriceChange.effective_from)
    ):
        history[change.offer_code].append(
            _compact(
                {
                    "effective_from": iso(change.effective_from),
                    "price": _money(change.price),
                    "cost": _money(change.cost),
                    "reason": change.reason,
                }
            )
        )
    result: dict[str, dict] = {}
    for code in codes:
        offer = offers[code]
        setting = settings[code]
        result[code] = _compact(
            {
                "code": offer.code,
                "name": offer.name,
                "status": offer.status,
                "kind": offer.kind,
                "category": offer.category.slug if offer.category else None,
                "product": offer.product.name if offer.product else None,
                "release": offer.release.version if offer.release else None,
                "summary": offer.summary,
                "description": offer.description,
                "valid_from": iso(offer.valid_from),
                "valid_to": iso(offer.valid_to),
                "planned_release_date": iso(offer.planned_release_date),
                "cost": _money(offer.cost),
                "price": _money(offer.price),
                "currency": offer.currency,
                "billing_period": offer.billing_period,
                "terms": offer.terms,
                "service_levels": offer.service_levels,
                "options": [_compact(option, keep=("default",)) for option in offer.options or []],
                "fulfillment_plan": [_compact(step) for step in offer.fulfillment_plan or []],
                "support_plan": offer.support_plan,
                "audience": setting["audience"],
                "pilot_groups": setting["pilot_groups"],
                "canary": setting["canary"],
                "featured": setting["featured"],
                "replacement": offer.replacement_code,
                "members": [member.member_code for member in offer.members],
                "articles": articles[code],
                "price_history": history[code],
            },
            keep=("code", "name", "status"),
        )
    return result


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # write every value out: no anchors in exports
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: dict) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
    return HEADER + body


# --- reading a file ----------------------------------------------------------------------


def parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """The document and, for each item path (`offers[3].price`), its line in the file.

    Syntax errors are a ValidationFailed naming the line and column."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        if _expanded_size(node, {}) > MAX_NODES:
            raise ValidationFailed(
                "The file is too large once its YAML aliases are expanded.",
                fields={"file": [f"More than {MAX_NODES:,} values."]},
            )
        lines: dict[str, int] = {}
        _node_lines(node, "", lines)
        document = loader.construct_document(node)
    except RecursionError:
        raise ValidationFailed(
            "The file is nested too deeply.", fields={"file": ["Use fewer nested levels."]}
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        problem = error.problem or error.context or "cannot be read"
        raise ValidationFailed(
            f"The file is not valid YAML: {problem} at {where}.",
            fields={f"line {mark.line + 1}" if mark else "file": [f"{where}: {problem}"]},
        ) from error
    except yaml.YAMLError as error:
        raise ValidationFailed(
            "The file is not valid YAML.", fields={"file": [str(error)[:300]]}
        ) from error
    except ValueError as error:  # a value YAML types but cannot build, as the date 2024-02-30
        raise ValidationFailed(
            f"The file has a value that cannot be read: {error}.",
            fields={"file": [str(error)[:300]]},
        ) from error
    finally:
        loader.dispose()
    bad = unstorable_text(document)
    if bad is not None:
        raise ValidationFailed(
            "The file holds text that cannot be stored.",
            fields={bad: ["Remove the invalid character (a lone UTF-16 surrogate)."]},
        )
    return document, lines


MAX_NODES = 200_000


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes the document has once aliases are expanded (memoised: linear time)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that refers to itself counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(
            _expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value
        )
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_NODES + 1)
    return sizes[id(node)]


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int], depth: int = 0) -> None:
    if depth > 50:
        raise ValidationFailed(
            "The file is nested too deeply.",
            fields={f"line {node.start_mark.line + 1}": ["Nested more than 50 levels."]},
        )
    lines.setdefault(path or "file", node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            lines.setdefault(child, key.start_mark.line + 1)
            _node_lines(value, child, lines, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _node_lines(value, f"{path}[{index}]", lines, depth + 1)


def _path_of(key: str) -> str:
    """options.0.choices → options[0].choices"""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)


def _schema_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, list):
        return {prefix or "file": [str(message) for message in messages]}
    for key, value in messages.items():
        name = (
            f"{prefix}[{key}]"
            if isinstance(key, int)
            else (f"{prefix}.{key}" if prefix else str(key))
        )
        if isinstance(value, dict):
            flat.update(_schema_errors(value, name))
        else:
            flat.setdefault(name, []).extend(
                str(message) for message in (value if isinstance(value, list) else [value])
            )
    return flat


def _parent_path(path: str) -> str:
    """offers[3].options[0] → offers[3].options → offers[3] → offers → ''"""
    parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)
    return "" if parent == path else parent


def _with_lines(errors: dict[str, list[str]], lines: dict[str, int] | None) -> dict:
    """Prefix each message with the line of its item (or of the nearest enclosing one)."""
    if not lines:
        return errors
    located = {}
    for path, messages in errors.items():
        probe, line = path, None
        while probe and line is None:
            line = lines.get(probe)
            probe = _parent_path(probe)
        located[path] = [
            message if line is None or message.startswith("line ") else f"line {line}: {message}"
            for message in messages
        ]
    return located


def load_document(data: Any, lines: dict[str, int] | None = None) -> dict:
    """Check the document's shape (types, known keys); problems keyed by item path."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            "A catalog file is a mapping with categories, products, articles and offers.",
            fields={"file": ["Expected a mapping at the top level."]},
        )
    # Top-level keys starting with "x-" are the author's own (e.g. YAML anchors to reuse).
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    try:
        return CatalogFileSchema().load(data)
    except ValidationError as error:
        errors = _with_lines(_schema_errors(error.messages), lines)
        raise ValidationFailed(
            f"The catalog file has {len(errors)} problem(s); nothing was imported.",
            fields=errors,
        ) from error


# --- import ------------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class _Importer:
    actor: User | None
    doc: dict
    lines: dict[str, int] | None
    progress: Callable[[str], None] | None = None
    now: datetime = field(default_factory=clock.now)
    errors: dict[str, list[str]] = field(default_factory=dict)
    categories: _Counts = field(default_factory=_Counts)
    products: _Counts = field(default_factory=_Counts)
    releases: _Counts = field(default_factory=_Counts)
    articles: _Counts = field(default_factory=_Counts)
    slugs: dict[str, int] = field(default_factory=dict)
    article_ids: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    # (create | update, "product …" / "release …"): what the report lists besides offers.
    notes: list[tuple[str, str]] = field(default_factory=list)

    # errors

    def fail(self, path: str, error: DomainError | str) -> None:
        """Record a problem under the item's path, with the file's field names."""
        if isinstance(error, str):
            self.errors.setdefault(path, []).append(error)
        elif isinstance(error, InvalidTransition):
            # A refused step names what is missing in its message (the readiness checklist).
            self.errors.setdefault(f"{path}.status", []).append(error.message)
        elif not error.fields:
            self.errors.setdefault(path, []).append(error.message)
        else:
            for name, messages in error.fields.items():
                key = _path_of(FILE_NAMES.get(name, name))
                self.errors.setdefault(f"{path}.{key}", []).extend(messages)

    # the run

    def run(self) -> dict:
        offers = self.doc["offers"]
        codes = [str(item["code"]).strip().upper() for item in offers]
        before = export_offers(sorted(set(codes)))
        self._categories(self.doc["categories"], None, "categories")
        self._products()
        self._articles()
        seen: dict[str, int] = {}
        for index, code in enumerate(codes):
            if code in seen:
                self.fail(
                    f"offers[{index}].code",
                    f"{code} is declared twice (offers[{seen[code]}] and offers[{index}]).",
                )
            seen.setdefault(code, index)
        order = sorted(
            range(len(offers)), key=lambda i: _is_bundle(offers[i])
        )  # single offers first: bundles hold published single offers
        for index in order:
            if codes[index] in seen and seen[codes[index]] == index:
                self._offer(index, offers[index], codes[index])
            if self.progress is not None:
                self.progress(codes[index])
        for index in self._retirement_order(offers, codes):
            self._retire(index, offers[index], codes[index])
        db.session.flush()
        after = export_offers(sorted(set(codes)))
        report = []
        counts = _Counts()
        for code in dict.fromkeys(codes):
            old, new = before.get(code), after.get(code)
            if old is None:
                action, changes = "create", _diff({}, new or {})
                counts.created += 1
            elif old == new:
                action, changes = "unchanged", {}
                counts.unchanged += 1
            else:
                action, changes = "update", _diff(old, new or {})
                counts.updated += 1
            report.append({"code": code, "action": action, "changes": changes})
        return {
            "offers": report,
            "products_and_releases": [
                {"action": action, "what": what} for action, what in self.notes
            ],
            "summary": counts.as_dict(),
            "categories": self.categories.as_dict(),
            "products": self.products.as_dict(),
            "releases": self.releases.as_dict(),
            "articles": self.articles.as_dict(),
        }

    # categories, products, articles

    def _categories(self, items: list[dict], parent_id: int | None, path: str) -> None:
        for index, item in enumerate(items):
            here = f"{path}[{index}]"
            if item["slug"] and item["slug"] in self.slugs:
                self.fail(
                    here,
                    ValidationFailed(
                        f"The slug “{item['slug']}” is declared twice in the file.",
                        fields={"slug": ["Give each category its own slug."]},
                    ),
                )
                continue
            try:
                category = self._category(item, parent_id)
            except DomainError as error:
                self.fail(here, error)
                continue
            self.slugs[item["slug"] or category.slug] = category.id
            self._categories(item["children"], category.id, f"{here}.children")

    def _category(self, item: dict, parent_id: int | None) -> Category:
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
        if existing is None:
            category = catalog.save_category(
                self.actor,
                name=item["name"],
                parent_id=parent_id,
                description=item["description"],
                commit=False,
            )
            self._keep_slug(category, item["slug"])
            self.categories.created += 1
            return category
        if existing.archived_at is not None:
            raise ValidationFailed(
                f"The category “{existing.name}” is archived.",
                fields={"slug": [f"“{existing.name}” is archived; use another slug."]},
            )
        if (existing.name, existing.parent_id, existing.description) == (
            item["name"].strip(),
            parent_id,
            item["description"].strip(),
        ) and existing.slug == (item["slug"] or existing.slug):
            self.categories.unchanged += 1
            return existing
        category = catalog.save_category(
            self.actor,
            name=item["name"],
            parent_id=parent_id,
            description=item["description"],
            category_id=existing.id,
            commit=False,
        )
        self._keep_slug(category, item["slug"])
        self.categories.updated += 1
        return category

    def _keep_slug(self, category: Category, slug: str | None) -> None:
        """The file's slug wins over the one derived from the name, when it is free."""
        if not slug or slug == category.slug:
            return
        clash = db.session.scalar(sa.select(Category).where(Category.slug == slug))
        if clash is None:
            category.slug = slug
            db.session.flush()

    def _products(self) -> None:
        for index, item in enumerate(self.doc["products"]):
            path = f"products[{index}]"
            try:
                product = self._product(path, item)
            except DomainError as error:
                self.fail(path, error)
                continue
            for number, release in enumerate(item["releases"]):
                try:
                    self._release(product, release)
                except DomainError as error:
                    self.fail(f"{path}.releases[{number}]", error)

    def _product(self, path: str, item: dict) -> DigitalProduct:
        owner_id = None
        if item["owner"]:
            owner = find_user_by_email(item["owner"])
            if owner is None:
                raise ValidationFailed(
                    "Unknown owner.", fields={"owner": [f"No user with e-mail {item['owner']}."]}
                )
            owner_id = owner.id
        existing = db.session.scalar(
            sa.select(DigitalProduct).where(DigitalProduct.name == item["name"].strip())
        )
        if existing is not None and (existing.description, existing.owner_id) == (
            item["description"].strip(),
            owner_id if owner_id is not None else existing.owner_id,
        ):
            self.products.unchanged += 1
            return existing
        try:
            product = catalog.save_product(
                self.actor,
                name=item["name"],
                description=item["description"],
                owner_id=owner_id,
                product_id=existing.id if existing else None,
                from_catalog_file=True,
                commit=False,
            )
        except NotAllowed as error:
            raise NotAllowed(
                f"The digital product “{existing.name}” has another description or owner here; "
                f"only product managers change it. {error.message}"
            ) from error
        if existing is None:
            self.products.created += 1
            self.notes.append(("create", f"product {product.name}"))
        else:
            self.products.updated += 1
            self.notes.append(("update", f"product {product.name}"))
        return product

    def _release(self, product: DigitalProduct, item: dict) -> None:
        version = item["version"].strip()
        release = next((r for r in product.releases if r.version == version), None)
        label = f"{product.name} {version}"
        if release is None:
            catalog.create_release(
                self.actor,
                product.id,
                version=version,
                planned_date=self._moment(item["planned_date"]),
                notes=item["notes"],
                status=item["status"],
                from_catalog_file=True,
                commit=False,
            )
            db.session.expire(product, ["releases"])
            self.releases.created += 1
            self.notes.append(("create", f"release {label} ({item['status']})"))
            return
        if release.status == item["status"]:
            self.releases.unchanged += 1
            return
        before, target = release.status, item["status"]
        while release.status != target:
            here, there = RELEASE_ORDER.index(release.status), RELEASE_ORDER.index(target)
            step = RELEASE_ORDER[here + 1] if there > here else RELEASE_ORDER[here - 1]
            if target in catalog.RELEASE_TRANSITIONS.get(release.status, set()):
                step = target
            try:
                catalog.transition_release(self.actor, release.id, step, commit=False)
            except NotAllowed as error:
                raise NotAllowed(
                    f"The release {label} is {before} here and {target} in the file; "
                    f"{error.message[0].lower()}{error.message[1:]}"
                ) from error
        self.releases.updated += 1
        self.notes.append(("update", f"release {label}: {before} → {target}"))

    def _articles(self) -> None:
        products = dict(db.session.execute(sa.select(DigitalProduct.name, DigitalProduct.id)).all())
        for index, item in enumerate(self.doc["articles"]):
            path = f"articles[{index}]"
            title = item["title"].strip()
            try:
                product_id = None
                if item["product"]:
                    product_id = products.get(item["product"].strip())
                    if product_id is None:
                        raise ValidationFailed(
                            "Unknown product.",
                            fields={"product": [f"No digital product “{item['product']}”."]},
                        )
                existing = db.session.scalar(
                    sa.select(KnowledgeArticle)
                    .where(KnowledgeArticle.title == title)
                    .order_by(KnowledgeArticle.id)
                    .limit(1)
                )
                if existing is not None and (
                    existing.body,
                    existing.status,
                    existing.product_id,
                ) == (item["body"].strip(), item["status"], product_id):
                    self.articles.unchanged += 1
                    self.article_ids[title] = existing.id
                    continue
                article = knowledge.save_article(
                    self.actor,
                    title=title,
                    body=item["body"],
                    status=item["status"],
                    product_id=product_id,
                    article_id=existing.id if existing else None,
                    commit=False,
                )
            except DomainError as error:
                self.fail(path, error)
                continue
            self.article_ids[title] = article.id
            if existing is None:
                self.articles.created += 1
            else:
                self.articles.updated += 1

    # offers

    def _moment(self, value):
        if isinstance(value, Relative):
            return value.resolve(self.now)
        return value

    def _offer_fields(self, item: dict, existing: ServiceOffer | None) -> dict:
        """The file's item as service fields; references resolved, relative dates resolved
        for new offers and left out (stored date kept) for existing ones."""
        errors: dict[str, list[str]] = {}
        data: dict[str, Any] = {
            key: item[key]
            for key in (
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
            )
        }
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
            data[key] = self._moment(value)
        category = item["category"]
        if category:
            category_id = self.slugs.get(category) or db.session.scalar(
                sa.select(Category.id).where(Category.slug == category)
            )
            if category_id is None:
                errors["category"] = [f"No category with slug “{category}”."]
            data["category_id"] = category_id
        else:
            data["category_id"] = None
        data["product_id"] = data["release_id"] = None
        if item["product"]:
            product = db.session.scalar(
                sa.select(DigitalProduct).where(DigitalProduct.name == item["product"].strip())
            )
            if product is None:
                errors["product"] = [f"No digital product “{item['product']}”."]
            else:
                data["product_id"] = product.id
                if item["release"]:
                    release = next(
                        (r for r in product.releases if r.version == item["release"].strip()),
                        None,
                    )
                    if release is None:
                        errors["release"] = [f"{product.name} has no release “{item['release']}”."]
                    else:
                        data["release_id"] = release.id
        elif item["release"]:
            errors["release"] = ["Name the product of the release too."]
        if errors:
            raise ValidationFailed("The offer has unknown references.", fields=errors)
        return data

    def _offer(self, index: int, item: dict, code: str) -> None:
        path = f"offers[{index}]"
        try:
            self._precheck(item, code)
            self._apply_offer(item, code)
        except DomainError as error:
            self.failed.add(code)
            self.fail(path, error)

    def _precheck(self, item: dict, code: str) -> None:
        """Every field and reference problem of the item at once, before anything changes."""
        errors: dict[str, list[str]] = {}
        existing = catalog.draft_revision(code) or catalog.live_revision(code)
        if existing is None:
            check.offer_code(errors, item["code"])
        try:
            data = self._offer_fields(item, existing)
        except ValidationFailed as error:
            errors.update(error.fields)
            data = None
        try:
            self._settings_refs(item)
        except ValidationFailed as error:
            errors.update(error.fields)
        if data is not None:
            try:
                catalog.clean_offer_fields(data, partial_of=existing)
            except ValidationFailed as error:
                for name, messages in error.fields.items():
                    errors.setdefault(name, messages)
        if errors:
            raise ValidationFailed("The offer has invalid fields.", fields=errors)

    def _apply_offer(self, item: dict, code: str) -> None:
        target = item["status"]
        reach = OfferStatus.PUBLISHED.value if target == OfferStatus.RETIRED.value else target
        members = [str(member).strip().upper() for member in item["members"]]
        live, draft = catalog.live_revision(code), catalog.draft_revision(code)
        if live is None and draft is None:
            data = self._offer_fields(item, None)
            offer = catalog.create_offer(self.actor, {"code": code, **data}, commit=False)
            self._code_settings(item, code)
            if members:
                catalog.set_bundle_members(self.actor, offer.id, members, commit=False)
            self._walk(offer, reach)
            return
        if live is not None and live.status == OfferStatus.RETIRED.value:
            self._code_settings(item, code)
            if target != OfferStatus.RETIRED.value:
                raise ValidationFailed(
                    f"{code} is retired.",
                    fields={"status": [f"{code} is retired; it cannot become {target} again."]},
                )
            changed = self._changed_fields(item, live)
            if members != [m.member_code for m in live.members]:
                changed.append("members")
            if ((item["replacement"] or "").strip().upper() or None) != live.replacement_code:
                changed.append("replacement")
            if changed:
                raise ValidationFailed(
                    f"{code} is retired and cannot be changed.",
                    fields={
                        name: [f"{code} is retired: {name} cannot change."] for name in changed
                    },
                )
            return
        if live is not None:  # published
            if target not in (OfferStatus.PUBLISHED.value, OfferStatus.RETIRED.value):
                raise ValidationFailed(
                    f"{code} is published.",
                    fields={
                        "status": [
                            f"{code} is published: declare it published (changed fields make "
                            "a new revision) or retired."
                        ]
                    },
                )
            changed = self._changed_fields(item, live)
            members_changed = members != [m.member_code for m in live.members]
            self._code_settings(item, code)
            if not changed and not members_changed:
                return
            revision = draft or catalog.create_revision(self.actor, live.id, commit=False)
            self._edit(revision, item, members if members_changed else None)
            self._walk(revision, OfferStatus.PUBLISHED.value)
            return
        # Only a revision being edited (never published).
        changed = self._changed_fields(item, draft)
        members_changed = members != [m.member_code for m in draft.members]
        self._code_settings(item, code)
        if changed or members_changed:
            self._edit(draft, item, members if members_changed else None)
        self._walk(draft, reach)

    def _changed_fields(self, item: dict, offer: ServiceOffer) -> list[str]:
        data = self._offer_fields(item, offer)
        cleaned = catalog.clean_offer_fields(data, partial_of=offer)
        return [name for name in catalog.OFFER_FIELDS if cleaned[name] != getattr(offer, name)]

    def _edit(self, offer: ServiceOffer, item: dict, members: list[str] | None) -> None:
        if members is not None and offer.is_bundle and item["kind"] != OfferKind.BUNDLE.value:
            catalog.set_bundle_members(self.actor, offer.id, [], commit=False)
        catalog.update_offer(
            self.actor,
            offer.id,
            self._offer_fields(item, offer),
            expected_version=None,
            commit=False,
        )
        if members is not None and (offer.is_bundle or members):
            catalog.set_bundle_members(self.actor, offer.id, members, commit=False)

    def _walk(self, offer: ServiceOffer, target: str) -> None:
        """Move an offer one lifecycle step at a time to the target (forward or back)."""
        while offer.status != target:
            here, there = LIFECYCLE.index(offer.status), LIFECYCLE.index(target)
            step = LIFECYCLE[here + 1] if there > here else LIFECYCLE[here - 1]
            catalog.transition_offer(self.actor, offer.id, step, commit=False)

    def _settings_refs(self, item: dict) -> tuple[list[int], dict[str, int]]:
        """The item's article ids and group ids by name; unknown ones are field errors."""
        errors: dict[str, list[str]] = {}
        titles = sorted(dict.fromkeys(title.strip() for title in item["articles"]))
        ids = []
        for title in titles:
            article_id = self.article_ids.get(title) or db.session.scalar(
                sa.select(KnowledgeArticle.id)
                .where(KnowledgeArticle.title == title)
                .order_by(KnowledgeArticle.id)
                .limit(1)
            )
            if article_id is None:
                errors.setdefault("articles", []).append(f"No knowledge article “{title}”.")
            else:
                ids.append(article_id)
        names = set(item["audience"]) | set(item["pilot_groups"])
        groups = (
            dict(
                db.session.execute(
                    sa.select(ConsumerGroup.name, ConsumerGroup.id).where(
                        ConsumerGroup.name.in_(names)
                    )
                ).all()
            )
            if names
            else {}
        )
        for key in ("audience", "pilot_groups"):
            for name in item[key]:
                if name not in groups:
                    errors.setdefault(key, []).append(f"Unknown group “{name}”.")
        if errors:
            raise ValidationFailed("The offer has unknown references.", fields=errors)
        return ids, groups

    def _code_settings(self, item: dict, code: str) -> None:
        """What belongs to the code across revisions: articles, audience, featured, prices.

        Links to the articles this file defines follow the file; links to other articles (the
        support team's, say) are kept."""
        ids, groups = self._settings_refs(item)
        current = {article.id for article in knowledge.articles_of(code)}
        wanted = (current - set(self.article_ids.values())) | set(ids)
        if wanted != current:
            knowledge.link_articles(self.actor, code, sorted(wanted), commit=False)
        audience, pilots = catalog.audience_of(code)
        settings = db.session.get(OfferSettings, code)
        canary = bool(settings and settings.canary)
        # What set_audience keeps of the file's audience (pilots count only in canary).
        wanted_pilots = set(item["pilot_groups"]) if item["canary"] else set()
        wanted_audience = set(item["audience"]) | wanted_pilots if item["audience"] else set()
        if (
            sorted(g.name for g in audience),
            sorted(g.name for g in pilots),
            canary,
        ) != (sorted(wanted_audience), sorted(wanted_pilots), item["canary"]):
            catalog.set_audience(
                self.actor,
                code,
                group_ids=[groups[name] for name in item["audience"]],
                pilot_group_ids=[groups[name] for name in item["pilot_groups"]],
                canary=item["canary"],
                commit=False,
            )
        if bool(settings and settings.featured) != item["featured"]:
            catalog.set_featured(self.actor, code, item["featured"], commit=False)
        self._price_history(item, code)

    def _price_history(self, item: dict, code: str) -> None:
        existing = catalog.price_history(code)
        for number, change in enumerate(item["price_history"]):
            moment = change["effective_from"]
            if isinstance(moment, Relative):
                # Resolved once: an entry with the same price, cost and reason is this one.
                if any(
                    _same_amount(old.price, change["price"])
                    and _same_amount(old.cost, change["cost"])
                    and old.reason == change["reason"].strip()
                    for old in existing
                ):
                    continue
                moment = moment.resolve(self.now)
            if any(old.effective_from == moment for old in existing):
                continue
            try:
                catalog.add_price_change(
                    self.actor,
                    code,
                    price=change["price"],
                    cost=change["cost"],
                    effective_from=moment,
                    reason=change["reason"],
                    commit=False,
                )
            except ValidationFailed as error:
                raise ValidationFailed(
                    error.message,
                    fields={f"price_history.{number}.{k}": v for k, v in error.fields.items()},
                ) from error

    def _retirement_order(self, offers: list[dict], codes: list[str]) -> list[int]:
        """Offers to retire; an offer that replaces others retires after them (a replacement
        must still be published when an offer is retired in its favour)."""
        pending = [
            i
            for i, item in enumerate(offers)
            if item["status"] == OfferStatus.RETIRED.value and codes[i] not in self.failed
        ]

        def replacement(i: int) -> str:
            return (offers[i]["replacement"] or "").strip().upper()

        ordered: list[int] = []
        while pending:
            free = [i for i in pending if not any(replacement(j) == codes[i] for j in pending)]
            if not free:  # a cycle of replacements: let the services name the problem
                return ordered + pending
            ordered += free
            pending = [i for i in pending if i not in free]
        return ordered

    def _retire(self, index: int, item: dict, code: str) -> None:
        path = f"offers[{index}]"
        offer = catalog.live_revision(code)
        if offer is None or offer.status != OfferStatus.PUBLISHED.value:
            return  # already retired (checked above), or it failed earlier
        end = self._moment(item["valid_to"])
        try:
            catalog.transition_offer(
                self.actor,
                offer.id,
                OfferStatus.RETIRED.value,
                end_date=end if end is not None and end > clock.now() else None,
                replacement_code=item["replacement"],
                commit=False,
            )
        except DomainError as error:
            self.fail(path, error)


def _is_bundle(item: dict) -> bool:
    return item["kind"] == OfferKind.BUNDLE.value or bool(item["members"])


def _same_amount(stored, declared) -> bool:
    if stored is None or declared is None:
        return stored is None and declared is None
    try:
        return f"{stored:.2f}" == f"{float(declared):.2f}"
    except (TypeError, ValueError):
        return False


def _diff(before: dict, after: dict) -> dict:
    return {
        key: {"before": _jsonable(before.get(key)), "after": _jsonable(after.get(key))}
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }


def import_catalog(
    actor: User | None,
    data: Any,
    *,
    dry_run: bool = False,
    lines: dict[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
    commit: bool = True,
) -> dict:
    """Bring the catalog to the document's state in one transaction; see the module docstring.

    Returns a report: per offer {code, action: create|update|unchanged, changes}, counts, and
    printable lines. Any problem raises ValidationFailed keyed by item path, nothing saved."""
    _require_manager(actor)
    doc = load_document(data, lines)
    importer = _Importer(actor, doc, lines, progress)
    try:
        report = importer.run()
    except DomainError as error:
        db.session.rollback()
        raise ValidationFailed(
            error.message, fields=_with_lines(error.fields or {"file": [error.message]}, lines)
        ) from error
    except SQLAlchemyError as error:
        db.session.rollback()
        raise ValidationFailed(
            "The catalog could not be saved; nothing was imported.",
            fields={"file": [str(getattr(error, "orig", error)).splitlines()[0][:300]]},
        ) from error
    if importer.errors:
        db.session.rollback()
        errors = _with_lines(importer.errors, lines)
        raise ValidationFailed(
            f"The catalog file has {len(errors)} problem(s); nothing was imported.",
            fields=errors,
        )
    if dry_run:
        db.session.rollback()
    elif commit:
        db.session.commit()
    report["dry_run"] = dry_run
    report["lines"] = report_lines(report)
    return report


def _short(value) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def report_lines(report: dict) -> list[str]:
    """Printable lines: one per offer (create / update: fields / unchanged), then counts.
    A dry run says "would" and shows each changed field's before and after."""
    dry = bool(report.get("dry_run"))
    lines = [
        f"{'would ' if dry else ''}{note['action']} {note['what']}"
        for note in report.get("products_and_releases", [])
    ]
    for line in report["offers"]:
        action, code = line["action"], line["code"]
        if action == "unchanged":
            lines.append(f"unchanged {code}")
            continue
        verb = f"would {action}" if dry else action
        if action == "update":
            lines.append(f"{verb} {code}: {', '.join(line['changes'])}")
            if dry:
                lines += [
                    f"    {name}: {_short(change['before'])} → {_short(change['after'])}"
                    for name, change in line["changes"].items()
                ]
        else:
            lines.append(f"{verb} {code}")
    created, updated = ("to create", "to update") if dry else ("created", "updated")
    for part in ("summary", "categories", "products", "releases", "articles"):
        counts = report[part]
        lines.append(
            f"{'offers' if part == 'summary' else part}: {counts['created']} {created}, "
            f"{counts['updated']} {updated}, {counts['unchanged']} unchanged"
        )
    return lines
