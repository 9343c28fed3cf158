"""The roles a user may hold: below every domain, so any of them may name one."""

import enum


class Role(enum.StrEnum):
    CONSUMER = "consumer"
    CATALOG_MANAGER = "catalog_manager"
    SUPPORT_AGENT = "support_agent"
    PRODUCT_MANAGER = "product_manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        from .labels import capital_label  # labels → i18n; roles sits below both

        return capital_label(self.value)
