"""Setting quotas and budgets (admins and product managers, audited) and who sees their use:
admins and product managers every group's, a group's managers and members their group's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import ConsumerGroup, Role, User
from ...accounts.services import groups as group_rules
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import Category, ServiceOffer
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import GroupQuota
from .quotas import Usage, budget_use, quotas_of, usage

EDITORS = (Role.ADMIN, Role.PRODUCT_MANAGER)
MAX_COUNT = 1_000_000


def sees_every_group(user: User) -> bool:
    return user.has_role(*EDITORS)


def quota_groups(actor: User | None) -> list[ConsumerGroup]:
    """The groups whose quotas the /quotas page shows `actor`: every group for admins and
    product managers, the groups they manage for group managers; anyone else is refused."""
    if actor is None or not actor.is_active:
        raise NotAllowed(_("You do not have permission to do that."))
    if sees_every_group(actor):
        return list(db.session.scalars(sa.select(ConsumerGroup).order_by(ConsumerGroup.name)))
    managed = group_rules.managed_groups(actor)
    if not managed:
        raise NotAllowed(_("Quotas are for group managers, product managers and admins."))
    return managed


def group_for_quotas(actor: User | None, group_id: Any) -> ConsumerGroup:
    """One group's quotas: for admins, product managers and the group's members (managers
    included); NotFound for anyone else."""
    if actor is None or not actor.is_active:
        raise NotAllowed(_("You do not have permission to do that."))
    group = get_by_id(ConsumerGroup, group_id)
    if group is None or not (sees_every_group(actor) or group.id in actor.group_ids):
        raise NotFound(_("No such group."))
    return group


def usage_of(group: ConsumerGroup) -> list[Usage]:
    return [usage(quota) for quota in quotas_of(group)]


def _snapshot(quota: GroupQuota) -> dict:
    return {
        "offer_code": quota.offer_code,
        "category_id": quota.category_id,
        "max_active": quota.max_active,
        "monthly_budget": quota.monthly_budget,
        "currency": quota.currency,
    }


def _target(errors: dict, offer_code: Any, category_id: Any) -> tuple[str | None, int | None]:
    code = str(offer_code or "").strip().upper() or None
    category = get_by_id(Category, category_id) if category_id not in (None, "") else None
    if category_id not in (None, "") and category is None:
        check.add(errors, "category_id", _("Choose an existing category."))
    if code and category_id not in (None, ""):
        check.add(errors, "offer_code", _("A quota is on an offer or on a category, not both."))
    if (
        code
        and db.session.scalar(sa.select(ServiceOffer.id).where(ServiceOffer.code == code).limit(1))
        is None
    ):
        check.add(errors, "offer_code", _("No offer has the code %(code)s.", code=code))
    return code, category.id if category else None


def _count(errors: dict, value: Any) -> int | None:
    from ...inputs import whole_number

    number = whole_number(value, minimum=0, maximum=MAX_COUNT)
    if number is None:
        check.add(errors, "max_active", _("Enter a whole number from 0 to 1,000,000."))
    return number


def _budget(errors: dict, group: ConsumerGroup, amount: Any, currency: Any):
    budget = check.money(errors, "monthly_budget", amount, required=True)
    code = check.currency(errors, currency)
    if budget is not None and not errors.get("currency"):
        _used, currencies = budget_use(group.id)
        others = sorted(currencies - {code})
        if others:
            check.add(
                errors,
                "currency",
                _(
                    "%(group)s holds subscriptions priced in %(currencies)s: a budget in %(code)s "
                    "cannot count them, and nothing converts between currencies.",
                    group=group.name,
                    currencies=", ".join(sorted(currencies)),
                    code=code,
                ),
            )
    return budget, code


def set_quota(
    actor: User | None,
    group_id: Any,
    *,
    offer_code: Any = None,
    category_id: Any = None,
    max_active: Any = None,
    monthly_budget: Any = None,
    currency: Any = None,
) -> GroupQuota:
    """Create or change one quota of a group: a count (`max_active`) of an offer or a category,
    or the monthly budget (`monthly_budget` in `currency`). Admins and product managers only."""
    require_role(actor, *EDITORS, message=_("Only admins and product managers set quotas."))
    group = group_for_quotas(actor, group_id)
    errors: dict = {}
    code, category = _target(errors, offer_code, category_id)
    if code or category_id not in (None, ""):
        count, budget, money = _count(errors, max_active), None, None
    else:
        count = None
        budget, money = _budget(errors, group, monthly_budget, currency)
    if errors:
        raise ValidationFailed(_("The quota could not be saved."), fields=errors)
    quota = _existing(group, code, category)
    before = _snapshot(quota) if quota else {}
    if quota is None:
        quota = GroupQuota(group_id=group.id, offer_code=code, category_id=category)
        db.session.add(quota)
    quota.max_active, quota.monthly_budget, quota.currency = count, budget, money
    quota.updated_at = clock.now()
    db.session.flush()
    audit.record(
        actor,
        "group",
        group.id,
        "quota_set",
        summary=f"quota {quota.kind}: {code or category or money}",
        changes=audit.diff(before, _snapshot(quota)),
    )
    return quota


def _existing(group: ConsumerGroup, code: str | None, category: int | None) -> GroupQuota | None:
    for quota in quotas_of(group):
        if code and quota.offer_code == code:
            return quota
        if category and quota.category_id == category:
            return quota
        if not code and not category and quota.kind == "budget":
            return quota
    return None


def delete_quota(actor: User | None, quota_id: Any) -> None:
    require_role(actor, *EDITORS, message=_("Only admins and product managers set quotas."))
    quota = get_by_id(GroupQuota, quota_id)
    if quota is None:
        raise NotFound(_("No such quota."))
    audit.record(
        actor,
        "group",
        quota.group_id,
        "quota_removed",
        summary=f"quota {quota.kind}",
        changes=audit.diff(_snapshot(quota), {}),
    )
    db.session.delete(quota)
    db.session.flush()


def describe(item: Usage) -> dict:
    """A quota's use as plain values (the API)."""
    quota = item.quota
    return {
        "id": quota.id,
        "kind": quota.kind,
        "offer_code": quota.offer_code,
        "category_id": quota.category_id,
        "name": item.label,
        "limit": item.limit if quota.kind != "budget" else Decimal(item.limit),
        "used": item.used,
        "left": item.left,
        "currency": item.currency,
        "text": item.text,
    }
