"""Catalog fixtures: a complete offer that passes the readiness checklist, ready to publish."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app import clock
from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from tests.conftest import module_world


def complete_offer_data(code: str = "VPN-ACCESS", **overrides) -> dict:
    data = {
        "code": code,
        "name": "VPN access",
        "summary": "Remote access to the corporate network.",
        "description": "Connect securely from anywhere.\n\n* Multi-factor login\n* 24x7 gateway",
        "kind": "new_instance",
        "cost": "3.00",
        "price": "7.50",
        "currency": "EUR",
        "billing_period": "monthly",
        "terms": "Personal use only. Monthly notice.",
        "service_levels": {
            "availability_pct": 99.5,
            "fulfillment_target_hours": 24,
            "support_hours": "business",
            "response_hours": {"critical": 1, "high": 4, "medium": 8, "low": 24},
            "resolution_hours": {"critical": 4, "high": 8, "medium": 24, "low": 72},
        },
        "options": [
            {
                "key": "profile",
                "label": "Profile",
                "type": "choice",
                "choices": ["standard", "developer"],
                "default": "standard",
                "required": True,
            },
            {
                "key": "devices",
                "label": "Devices",
                "type": "number",
                "min": 1,
                "max": 5,
                "default": 1,
                "required": True,
            },
            {
                "key": "split_tunnel",
                "label": "Split tunnelling",
                "type": "boolean",
                "default": False,
            },
            {"key": "note", "label": "Note", "type": "text"},
        ],
        "fulfillment_plan": [
            {
                "name": "Create account",
                "mode": "automatic",
                "integration": None,
                "expected_hours": 0.1,
            },
            {
                "name": "Approve access",
                "mode": "manual",
                "group": "Support Desk",
                "expected_hours": 4,
            },
        ],
        "support_plan": {
            "tier1_group": "Support Desk",
            "escalation_path": ["Network team", "Vendor"],
            "channels": ["portal", "email"],
        },
    }
    data.update(overrides)
    return data


@module_world
def catalog_setup(users):
    accounts.save_group(SYSTEM, name="Support Desk")
    return users


@pytest.fixture
def make_offer(catalog_setup):
    """make_offer(code, publish=True, group_ids=[…], pilot_ids=[…], ...) → a (published) offer
    with an article. Pilot groups put the offer in canary: they mean nothing outside one."""

    def factory(
        code: str = "VPN-ACCESS",
        *,
        publish: bool = True,
        group_ids=(),
        pilot_ids=(),
        canary=None,
        **overrides,
    ):
        if canary is None:
            canary = bool(pilot_ids)
        elif pilot_ids and not canary:
            raise ValueError("Pilot groups without canary=True would be ignored.")
        manager = catalog_setup["catalog_manager"]
        offer = catalog.create_offer(manager, complete_offer_data(code, **overrides))
        article = knowledge.save_article(manager, title=f"How to use {code}", body="Read me.")
        knowledge.link_articles(manager, code, [article.id])
        if group_ids or pilot_ids:
            catalog.set_audience(
                manager, code, group_ids=group_ids, pilot_group_ids=pilot_ids, canary=canary
            )
        if publish:
            for status in ("planned", "ready", "published"):
                offer = catalog.transition_offer(manager, offer.id, status)
        db.session.commit()  # a no-op for services that commit, the commit for those that flush
        return offer

    return factory


def yesterday():
    return clock.now() - timedelta(days=1)


MONEY = Decimal
