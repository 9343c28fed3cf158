"""The catalog file's `approval_policies:`: each names where it applies (`offer: CODE`,
`category: slug`, or `default: true`) and carries the policy as the API writes it (steps,
auto_approve, reminder_hours, escalation_hours). Imported after the offers, checked like a
policy saved on the page (problems keyed `approval_policies[i]...`); one that says what is
saved already changes nothing. Written by the export for every policy."""

from __future__ import annotations

import sqlalchemy as sa

from ...catalog.models import Category, ServiceOffer
from ...errors import DomainError, ValidationFailed
from ...extensions import db
from ...subscriptions.services import policies

FIELDS = ("steps", "auto_approve", "reminder_hours", "escalation_hours", "on_exceed")


def export_policies() -> list[dict]:
    items = []
    for policy in policies.all_policies():
        if policy.scope == "offer":
            where = {"offer": policy.offer_code}
        elif policy.scope == "category":
            where = {"category": policy.category.slug if policy.category else None}
        else:
            where = {"default": True}
        data = policies.data_of(policy)
        items.append(
            {
                **where,
                **{
                    key: data[key]
                    for key in FIELDS
                    if data.get(key) not in (None, "", [])
                    and (key, data[key]) != ("on_exceed", "refuse")
                },
            }
        )
    return items


def _target(item: dict) -> tuple[str, object]:
    if item.get("offer"):
        offer = db.session.scalar(
            sa.select(ServiceOffer)
            .where(ServiceOffer.code == str(item["offer"]).upper())
            .order_by(ServiceOffer.revision.desc())
            .limit(1)
        )
        if offer is None:
            raise ValidationFailed(
                "", fields={"offer": [f"No offer has the code {item['offer']}."]}
            )
        return "offer", offer
    if item.get("category"):
        category = db.session.scalar(
            sa.select(Category).where(Category.slug == str(item["category"]))
        )
        if category is None:
            raise ValidationFailed(
                "", fields={"category": [f"No category has the slug {item['category']}."]}
            )
        return "category", category.id
    if item.get("default") is True:
        return "default", None
    raise ValidationFailed("", fields={"offer": ["Name an offer, a category or default: true."]})


def apply_approval_policies(run) -> None:
    for index, item in enumerate(run.doc.get("approval_policies") or []):
        path = f"approval_policies[{index}]"
        if not isinstance(item, dict):
            run.fail(path, "A policy is a mapping.")
            continue
        try:
            scope, target = _target(item)
            policies.set_policy(run.actor, scope, target, {key: item.get(key) for key in FIELDS})
        except DomainError as error:
            for field, messages in (error.fields or {"": [error.message]}).items():
                for message in messages:
                    run.fail(f"{path}.{field}" if field else path, message)
