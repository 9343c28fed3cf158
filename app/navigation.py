"""The main navigation, by role. Entries whose page is not registered are left out."""

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .i18n import _l
from .notifications.services.inbox import unread_count_query
from .subscriptions.services.cart import item_count_query

# not a role: the entry is for the managers of at least one group
MANAGER = "group_manager"

# (label, endpoint, roles that see it; empty = every signed-in user)
NAVIGATION: list[tuple[str, str, tuple[str, ...]]] = [
    (_l("Home"), "main.home", ()),
    (_l("Catalog"), "catalog.browse", ("consumer",)),
    (_l("My subscriptions"), "subscriptions.mine", ("consumer",)),
    (_l("Cart"), "subscriptions.cart_page", ("consumer",)),
    (_l("Support"), "support.my_requests", ("consumer",)),
    (_l("My groups"), "support.my_groups", (MANAGER,)),
    (_l("Quotas"), "quotas.index", ("admin", "product_manager")),  # managers: on My groups
    (
        _l("Approvals"),
        "approvals.inbox",
        ("consumer", "catalog_manager", "product_manager", "admin"),
    ),
    (_l("Offers"), "catalog.workspace", ("catalog_manager",)),
    (_l("Approval policies"), "approvals.policy_list", ("catalog_manager",)),
    (_l("Products"), "catalog.products", ("product_manager", "catalog_manager")),
    (_l("Fulfillment queue"), "subscriptions.queue", ("support_agent",)),
    (_l("Support queue"), "support.queue", ("support_agent",)),
    (_l("Dashboards"), "status.dashboard", ("product_manager", "catalog_manager", "support_agent")),
    (_l("Service status"), "status.notices", ("consumer", "product_manager", "support_agent")),
    (_l("Users"), "admin.users", ("admin",)),
    (_l("Groups"), "admin.groups", ("admin",)),
    ("API tokens", "admin.tokens", ("admin",)),
    (_l("Audit trail"), "audit.index", ("admin",)),
    (_l("Outbox"), "notifications.outbox", ("admin",)),
    (_l("Jobs"), "jobs.index", ("admin",)),
    (_l("Integrations"), "integrations.index", ("admin",)),
]


def navigation_for(user) -> list[tuple[str, str]]:
    views = current_app.view_functions
    return [
        (label, endpoint)
        for label, endpoint, roles in NAVIGATION
        if endpoint in views and _sees(user, roles)
    ]


def _sees(user, roles: tuple[str, ...]) -> bool:
    if not roles:
        return True
    real = tuple(role for role in roles if role != MANAGER)
    if real and user.has_role(*real):
        return True
    return MANAGER in roles and bool(getattr(user, "managed_groups", None))


def header_counts(user, *, with_cart: bool) -> tuple[int, int]:
    """The header's counts: the user's unread notifications and (`with_cart`: a consumer's)
    items in the cart, in one statement (every page shows them)."""
    in_cart = item_count_query(user) if with_cart else sa.select(sa.literal(0))
    row = db.session.execute(
        sa.select(unread_count_query(user).scalar_subquery(), in_cart.scalar_subquery())
    ).one()
    return row[0] or 0, row[1] or 0
