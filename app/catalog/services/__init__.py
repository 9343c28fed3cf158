"""Release stream rules, one module per concept: access (who manages the catalog), products
(digital products and releases), categories, revisions (reading an offer's revisions, the version
lock), visibility, audiences, followers, pricing, lifecycle, offers (the editor), bundles and the
workspace.

Code inside app/catalog imports the concept modules. The names below are re-exported only for
callers elsewhere (other domains, catalog-as-code and the tests)."""

from __future__ import annotations

from .access import (
    CATALOG_ROLES,
    can_manage_catalog,
)
from .audiences import (
    audience_of,
    audiences_for,
    set_audience,
    split_audience,
    widen_audience,
)
from .bundles import (
    bundle_member_total,
    bundle_problems,
    bundles_containing,
    member_offers,
    move_bundle_member,
    set_bundle_members,
)
from .categories import (
    archive_category,
    category_tree,
    move_category,
    save_category,
)
from .choice_lists import (
    INLINE_LIMIT,
    choice_list_has,
    inline_entries,
)
from .lifecycle import (
    OFFER_TRANSITIONS,
    readiness,
    transition_offer,
)
from .offers import (
    OFFER_FIELDS,
    clean_offer_fields,
    create_offer,
    create_revision,
    diff_revisions,
    set_featured,
    update_offer,
)
from .pricing import (
    add_price_change,
    current_price,
    effective_prices,
    in_force_by_id,
    price_history,
)
from .products import (
    RELEASE_TRANSITIONS,
    create_release,
    list_products,
    list_releases,
    save_product,
    transition_release,
)
from .revisions import (
    draft_revision,
    get_offer,
    live_revision,
    live_revisions,
    revisions_of,
    settings_for,
)
from .visibility import (
    audience_ids,
    in_consumer_audience,
    is_visible,
    offer_for_viewer,
    replacement_for,
    visible_offers_query,
)
from .workspace import (
    offer_suggestions,
    status_counts,
    workspace_query,
)

__all__ = [
    "OFFER_TRANSITIONS",
    "RELEASE_TRANSITIONS",
    "CATALOG_ROLES",
    "OFFER_FIELDS",
    "INLINE_LIMIT",
    "choice_list_has",
    "inline_entries",
    "add_price_change",
    "archive_category",
    "audience_of",
    "audience_ids",
    "audiences_for",
    "bundle_member_total",
    "bundle_problems",
    "bundles_containing",
    "can_manage_catalog",
    "category_tree",
    "clean_offer_fields",
    "create_offer",
    "create_release",
    "create_revision",
    "current_price",
    "diff_revisions",
    "draft_revision",
    "effective_prices",
    "get_offer",
    "in_consumer_audience",
    "in_force_by_id",
    "is_visible",
    "list_products",
    "list_releases",
    "live_revision",
    "live_revisions",
    "member_offers",
    "move_bundle_member",
    "move_category",
    "offer_for_viewer",
    "offer_suggestions",
    "price_history",
    "readiness",
    "replacement_for",
    "revisions_of",
    "save_category",
    "save_product",
    "set_audience",
    "set_bundle_members",
    "set_featured",
    "settings_for",
    "split_audience",
    "status_counts",
    "transition_offer",
    "transition_release",
    "update_offer",
    "visible_offers_query",
    "widen_audience",
    "workspace_query",
]
