"""Export: the whole catalog as one plain document, and that document as YAML.

Categories (a tree, by slug), digital products and their releases, knowledge articles, and
every offer by code: the fields of its live revision (else its latest one), its status,
audience, pilot groups, canary and featured flags, replacement, bundle members in order, linked
articles and price history. Nothing in it is an id, so the document moves between databases.
"""

from __future__ import annotations

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import selectinload

from ... import clock
from ...accounts.models import ConsumerGroup, User
from ...accounts.services import require_role
from ...extensions import db
from ...i18n import _
from ...knowledge.models import KnowledgeArticle, offer_articles
from .. import services as catalog
from ..models import (
    DigitalProduct,
    OfferSettings,
    OfferStatus,
    PriceChange,
    ServiceOffer,
    offer_audience,
)
from ..schemas import iso
from .choice_lists import export_choice_lists
from .policies import export_policies

FORMAT = "offerdesk-catalog"
HEADER = """\
# Offerdesk catalog (catalog as code).
# Import with `flask catalog import FILE [--dry-run]` or POST /api/v1/catalog/import.
# Offers are matched by code, categories by slug, products by name, articles by title.
# Dates: YYYY-MM-DD, an ISO 8601 date-time (UTC), or relative to the import: +30d, -2w.
"""


def require_manager(actor: User | None) -> None:
    require_role(
        actor, *catalog.CATALOG_ROLES, message=_("Only catalog managers export and import.")
    )


def export_catalog(actor: User | None) -> dict:
    """The whole catalog as a plain dict (see the package docstring)."""
    require_manager(actor)
    return {
        "format": FORMAT,
        "version": 1,
        "exported_at": iso(clock.now()),
        "categories": _export_categories(),
        "products": _export_products(),
        "articles": _export_articles(),
        "choice_lists": export_choice_lists(),
        "offers": list(export_offers().values()),
        **({"approval_policies": approval} if (approval := export_policies()) else {}),
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
    articles = _article_titles(codes)
    history = _price_histories(codes)
    return {
        code: _offer_item(offers[code], settings[code], articles[code], history[code])
        for code in codes
    }


def _article_titles(codes: list[str]) -> dict[str, list[str]]:
    articles: dict[str, list[str]] = {code: [] for code in codes}
    for code, title in db.session.execute(
        sa.select(offer_articles.c.offer_code, KnowledgeArticle.title)
        .join(KnowledgeArticle, KnowledgeArticle.id == offer_articles.c.article_id)
        .where(offer_articles.c.offer_code.in_(codes))
        .order_by(KnowledgeArticle.title)
    ):
        articles[code].append(title)
    return articles


def _price_histories(codes: list[str]) -> dict[str, list[dict]]:
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
    return history


def _offer_item(
    offer: ServiceOffer, setting: dict, articles: list[str], history: list[dict]
) -> dict:
    return _compact(
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
            # an automatic step keeps `integration: null`: leaving it out is refused on import
            "fulfillment_plan": [
                _compact(step, keep=("integration",) if step.get("mode") == "automatic" else ())
                for step in offer.fulfillment_plan or []
            ],
            "support_plan": offer.support_plan,
            "audience": setting["audience"],
            "pilot_groups": setting["pilot_groups"],
            "canary": setting["canary"],
            "featured": setting["featured"],
            "replacement": offer.replacement_code,
            "max_per_person": offer.max_per_person,
            "max_per_group": offer.max_per_group,
            "lease_days": offer.lease_days,
            "lease_max_days": offer.lease_max_days,
            "lease_warn_days": offer.lease_warn_days,
            "lease_end_chosen": offer.lease_end_chosen,
            "lease_extension_needs_approval": offer.lease_extension_needs_approval,
            "upgrades": list(offer.upgrade_codes or []),
            "downgrades": list(offer.downgrade_codes or []),
            "members": [member.member_code for member in offer.members],
            "articles": articles,
            "price_history": history,
        },
        keep=("code", "name", "status"),
    )


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
