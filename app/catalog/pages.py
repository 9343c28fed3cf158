"""Page builders for the catalog's HTML pages: where a page needs several services, one function
here calls them and returns what the template needs. They take plain values (never the request)
and hold no rule of their own beyond choosing what a page shows."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..accounts import services as accounts
from ..accounts.models import User
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..i18n import _l, gettext
from ..knowledge import services as knowledge
from ..labels import capital_label, label
from .models import OfferStatus, ServiceOffer
from .services import (
    access,
    audiences,
    bundles,
    catalog_versions,
    categories,
    lifecycle,
    listing,
    offers,
    pricing,
    products,
    revisions,
    visibility,
    workspace,
)

# (from, to) → (button label, whether it moves the offer forward)
TRANSITION_LABELS = {
    ("draft", "planned"): (_l("Approve plan (→ planned)"), True),
    ("planned", "draft"): (_l("Back to draft"), False),
    ("planned", "ready"): (_l("Mark ready"), True),
    ("ready", "planned"): (_l("Back to planned"), False),
    ("ready", "published"): (_l("Publish"), True),
}
# The workspace lists current revisions, so "superseded" is not one of its filters.
WORKSPACE_STATUSES = [
    status.value for status in OfferStatus if status != OfferStatus.SUPERSEDED
] + ["scheduled"]
SECTIONS = (
    ("general", _l("General")),
    ("pricing", _l("Pricing")),
    ("terms", _l("Terms")),
    ("levels", _l("Service levels")),
    ("options", _l("Order form")),
    ("steps", _l("Fulfillment")),
    ("support", _l("Support plan")),
    ("knowledge", _l("Knowledge")),
    ("audience", _l("Audience")),
    ("bundle", _l("Bundle")),
)
EXPORT_LIMIT = 50_000


def _paginate(query: sa.Select, page: int, *, count: bool = True):
    per_page = current_app.config["ITEMS_PER_PAGE"]
    return db.paginate(
        query, page=page, per_page=per_page, max_per_page=200, error_out=False, count=count
    )


# --- the consumer catalog --------------------------------------------------------------------


def catalog_home(user: User) -> dict:
    """What the home page shows of the catalog: new and featured offers for consumers, the
    workspace counts for catalog managers."""
    result: dict = {}
    if not user.is_authenticated:
        return result
    if access.browses_as_consumer(user):
        featured, newest = workspace.featured_and_new(user)
        prices = pricing.prices_in_force([*featured, *newest])
        result.update(featured=featured, newest=newest, prices=prices)
    if access.can_manage_catalog(user):
        result["counts"] = workspace.status_counts(user)
    return result


def browse_page(
    user: User, page: int, sort: str | None = None, min_price=None, max_price=None
) -> dict:
    """The catalog: as it opens (sorted by name, unfiltered), page 1 shows the featured and new
    offers and the list ("More offers") leaves those out on every page, so no offer is shown
    twice; sorted or filtered, the list holds every match and the strips are left out. Bad
    sort or price input: field errors and no list."""
    markers = catalog_versions.read_markers()  # before what they guard: the tree and the count
    result = {
        "tree": categories.category_links(markers),
        "featured": [],
        "newest": [],
        "pagination": None,
        "prices": {},
        "errors": {},
        "sorts": listing.CATALOG_SORTS,
        "more": False,
    }
    try:
        chosen = listing.parse_listing(sort, min_price, max_price)
    except ValidationFailed as error:
        result["errors"] = error.fields
        return result
    shown: list[ServiceOffer] = []
    if chosen.is_default:
        featured, newest = workspace.featured_and_new(user)
        shown = [*featured, *newest]
        result.update(featured=featured if page == 1 else [], newest=newest if page == 1 else [])
        result["more"] = bool(shown)
    excluded = [offer.id for offer in shown]
    pagination = _paginate(
        listing.listed_offers(user, chosen, exclude_ids=excluded), page, count=False
    )
    pagination.total = listing.listed_count(user, chosen, markers, exclude_ids=excluded)
    result["pagination"] = pagination
    result["prices"] = pricing.prices_in_force([*pagination.items, *shown])
    return result


def category_page(
    user: User, slug: str, page: int, sort: str | None = None, min_price=None, max_price=None
) -> dict:
    """A category's visible offers, its own and those of every category below it, sorted and
    filtered by price as the catalog's list is (bad input: field errors and no list)."""
    found, children, trail = categories.category_place(slug)
    result = {
        "category": found,
        "children": children,
        "trail": trail,
        "pagination": None,
        "prices": {},
        "errors": {},
        "sorts": listing.CATALOG_SORTS,
    }
    try:
        chosen = listing.parse_listing(sort, min_price, max_price)
    except ValidationFailed as error:
        result["errors"] = error.fields
        return result
    inside = ServiceOffer.category_id.in_(categories.subtree_ids(found.id, active_only=True))
    pagination = _paginate(listing.listed_offers(user, chosen).where(inside), page)
    result.update(pagination=pagination, prices=pricing.prices_in_force(pagination.items))
    return result


def offer_page(user: User, offer_id: int) -> dict:
    """An offer as its viewer may see it: the price in force and the next change, published
    articles, bundle members (with whether each is visible) and, once it is ending, its
    replacement. With `newer` set instead, the link was to a superseded revision."""
    try:
        shown = visibility.offer_for_viewer(user, offer_id)
    except NotFound:
        newer = visibility.newer_revision_for(user, offer_id)
        if newer is None:
            raise
        return {"newer": newer}
    members = []
    if shown.is_bundle:
        for member, member_offer in bundles.member_offers(shown):
            visible = member_offer is not None and visibility.is_visible(user, member_offer)
            members.append((member, member_offer, visible))
    display = shown.display_status()
    price, _cost = pricing.current_price(shown)
    return {
        "newer": None,
        "offer": shown,
        "display": display,
        "price": price,
        "upcoming": pricing.next_price_change(shown.code),
        "articles": knowledge.articles_of(shown.code, published_only=True),
        "members": members,
        "member_prices": pricing.prices_in_force([o for _, o, _ in members if o is not None]),
        "replacement": visibility.replacement_for(user, shown)
        if display in ("retired", "retiring", "expired")
        else None,
        "manager": access.can_manage_catalog(user),
    }


# --- the workspace ---------------------------------------------------------------------------


def workspace_page(user: User, filters: dict, page: int) -> dict:
    pagination = _paginate(workspace.workspace_query(user, **filters), page)
    offers = pagination.items
    return {
        "pagination": pagination,
        "counts": workspace.status_counts(user),
        "statuses": WORKSPACE_STATUSES,
        "audiences": audiences.audiences_for(offer.code for offer in offers),
        "prices": pricing.prices_in_force(offers),
        "tree": categories.category_tree(),
        "groups": accounts.list_groups(),
    }


EXPORT_HEADER = [
    "code",
    "revision",
    "name",
    "kind",
    "status",
    "display_status",
    "category",
    "audience",
    "price",
    "cost",
    "currency",
    "billing_period",
    "valid_from",
    "valid_to",
    "updated_at",
]


def workspace_export(user: User, filters: dict) -> tuple[list[str], list[tuple]]:
    """(header, rows) of the workspace's CSV: every offer the filters find, up to a limit."""
    offers = list(
        db.session.scalars(workspace.workspace_query(user, **filters).limit(EXPORT_LIMIT))
    )
    labels = audiences.audiences_for(offer.code for offer in offers)
    in_force = pricing.in_force_by_id(offers)  # price and cost in force, as everywhere
    rows = [
        (
            offer.code,
            offer.revision,
            offer.name,
            offer.kind,
            offer.status,
            offer.display_status(),
            offer.category.name if offer.category else "",
            "; ".join(labels.get(offer.code) or []) or "everyone",
            in_force[offer.id][0],
            in_force[offer.id][1],
            offer.currency,
            offer.billing_period,
            offer.valid_from.isoformat() if offer.valid_from else "",
            offer.valid_to.isoformat() if offer.valid_to else "",
            offer.updated_at.isoformat() if offer.updated_at else "",
        )
        for offer in offers
    ]
    return EXPORT_HEADER, rows


# --- the offer editor ------------------------------------------------------------------------


def _editor_choices() -> dict:
    """What the offer form's selects list: categories, releases, groups and integrations."""
    return {
        "groups": accounts.list_groups(),
        "step_integrations": sorted(offers.step_integrations()),
        "categories": categories.category_tree(),
        "releases": products.list_releases(),
    }


def editor_page(user: User, offer: ServiceOffer | None, *, article_search: str = "") -> dict:
    """The editor but its forms: the choices of the offer form and, for a revision, every tab:
    readiness, the moves it may make, revisions and history, prices, knowledge, audience and,
    for a bundle, its members."""
    choices = _editor_choices()
    if offer is None:
        return choices
    code = offer.code
    audience, pilots = audiences.audience_of(code)
    page = choices | {
        "checklist": lifecycle.readiness(offer),
        "transitions": [
            (to, *TRANSITION_LABELS.get((offer.status, to), (capital_label(to), False)))
            for to in lifecycle.allowed_transitions(offer)
            if to != OfferStatus.RETIRED
        ],
        "display": offer.display_status(),
        "revisions": revisions.revisions_of(code),
        "editing": revisions.draft_revision(code) if offer.status != "draft" else None,
        "history": workspace.offer_history(offer),
        "current_price": pricing.current_price(offer),
        "margin": pricing.margin_in_force(offer),
        "price_history": pricing.price_history(code),
        "linked": knowledge.articles_of(code),
        "article_choices": knowledge.article_choices(offer, matching=article_search),
        "audience": audience,
        "pilots": pilots,
        "settings": revisions.settings_for(code),
        "replacement_suggestions": workspace.offer_suggestions(user, offer),
    }
    if offer.is_bundle:
        members = bundles.member_offers(offer)
        page.update(
            members=members,
            member_prices=pricing.prices_in_force([o for _, o in members if o is not None]),
            bundle_problems=bundles.bundle_problems(offer),
            member_total=bundles.bundle_member_total(offer),
            member_suggestions=workspace.offer_suggestions(user, offer, for_bundle=True),
        )
    if offer.release is not None and offer.release.status != "deployed":
        page["release_warning"] = gettext(
            "Tied to release %(label)s, which is %(status)s: the offer cannot become ready or orderable before that release is deployed.",
            label=offer.release.label,
            status=label(offer.release.status),
        )
    return page


def diff_page(offer_id: int, first_id: int | None, second_id: int | None) -> dict:
    """Two revisions of an offer side by side, field by field."""
    offer, all_revisions, first, second = offers.compared_revisions(offer_id, first_id, second_id)
    return {
        "offer": offer,
        "revisions": all_revisions,
        "first": first,
        "second": second,
        "rows": offers.diff_revisions(first, second),
    }


# --- products and categories -----------------------------------------------------------------


def products_page(user: User) -> dict:
    return {
        "products": products.list_products(),
        "can_edit": access.can_manage_products(user),
        "next_statuses": {
            status: sorted(targets) for status, targets in products.RELEASE_TRANSITIONS.items()
        },
    }


def categories_page() -> dict:
    return {
        "tree": categories.category_tree(),
        "archived": [
            category
            for category, _ in categories.category_tree(include_archived=True)
            if category.archived_at
        ],
    }
