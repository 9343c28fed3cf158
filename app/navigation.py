"""The main navigation, by role. Entries whose page is not registered are left out."""

from flask import current_app

# (label, endpoint, roles that see it; empty = every signed-in user)
NAVIGATION: list[tuple[str, str, tuple[str, ...]]] = [
    ("Home", "main.home", ()),
    ("Catalog", "catalog.browse", ("consumer",)),
    ("My subscriptions", "subscriptions.mine", ("consumer",)),
    ("Support", "support.my_requests", ("consumer",)),
    ("Offers", "catalog.workspace", ("catalog_manager",)),
    ("Products", "catalog.products", ("product_manager", "catalog_manager")),
    ("Fulfillment queue", "subscriptions.queue", ("support_agent",)),
    ("Support queue", "support.queue", ("support_agent",)),
    ("Dashboards", "status.dashboard", ("product_manager", "catalog_manager", "support_agent")),
    ("Service status", "status.notices", ("consumer", "product_manager", "support_agent")),
    ("Users", "admin.users", ("admin",)),
    ("Groups", "admin.groups", ("admin",)),
    ("API tokens", "admin.tokens", ("admin",)),
    ("Audit trail", "audit.index", ("admin",)),
    ("Outbox", "notifications.outbox", ("admin",)),
    ("Jobs", "jobs.index", ("admin",)),
    ("Integrations", "integrations.index", ("admin",)),
]


def navigation_for(user) -> list[tuple[str, str]]:
    views = current_app.view_functions
    return [
        (label, endpoint)
        for label, endpoint, roles in NAVIGATION
        if endpoint in views and (not roles or user.has_role(*roles))
    ]
