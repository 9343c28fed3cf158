"""Who manages the catalog and its digital products."""

from __future__ import annotations

from ...accounts.models import Role, User

CATALOG_ROLES = (Role.CATALOG_MANAGER,)
PRODUCT_ROLES = (Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER)


def can_manage_catalog(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.has_role(*CATALOG_ROLES)


def can_manage_products(user: User) -> bool:
    """Product managers change digital products and releases; catalog managers only read them
    (and create those a catalog file declares)."""
    return user.has_role(Role.PRODUCT_MANAGER)


def browses_as_consumer(user: User) -> bool:
    """Whether the home page shows the user the consumer's catalog (featured and new offers)."""
    return user.has_role(Role.CONSUMER)
