"""Quotas and budgets per consumer group: at most N held subscriptions of an offer (by code, all
revisions) or of a category (with its sub-categories), and a monthly budget: the sum of the
monthly-equivalent prices (monthly as is, yearly ÷ 12, one-time 0) of the group's held
top-level subscriptions, in the budget's one currency. Nothing converts between currencies: an
offer priced in another currency than the budget is refused, with a message.

`quota_breaches(group, offer)` says what one more subscription would exceed (reads only; the
approvals flow may turn a breach into an extra approval step). `reserve(group, offer)` is the
atomic check at order time and on a change of offer: it first takes the write lock of the
group's quota rows with a guarded UPDATE (it changes nothing). On PostgreSQL a concurrent
order for the same group waits on those rows until the first commits, then counts what it
committed; on SQLite the UPDATE takes the database's write lock before the count reads. So of
twenty orders for the last unit exactly one passes (tests/subscriptions/test_quotas.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...accounts.models import ConsumerGroup
from ...catalog.models import Category, ServiceOffer
from ...errors import InvalidTransition
from ...extensions import db
from ...i18n import _, format_money, format_number
from ..models import GroupQuota, Subscription, SubscriptionStatus

S = SubscriptionStatus
# a subscription stops counting once it ended or never started; every other status (pending,
# awaiting approval, running, changing, ending) counts against the group's quotas
NOT_COUNTED = {S.TERMINATED.value, S.FAILED.value, "rejected", "cancelled"}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Breach:
    """What one more subscription would exceed: the quota, and a sentence saying so."""

    quota: GroupQuota
    kind: str  # offer | category | budget | currency
    message: str


@dataclass(frozen=True)
class Usage:
    """A quota's use now: `used` of `limit` (a count, or an amount in `currency`)."""

    quota: GroupQuota
    used: Decimal | int
    limit: Decimal | int
    currency: str | None
    label: str  # the offer's or category's name, or "" for the budget

    @property
    def left(self) -> Decimal | int:
        return max(self.limit - self.used, 0)

    @property
    def text(self) -> str:
        """ "2 of 5 left for Engineering", "320.00 of 1,000.00 EUR left this month"."""
        group = self.quota.group.name
        if self.quota.kind == "budget":
            return _(
                "%(left)s of %(limit)s left this month for %(group)s",
                left=format_number(self.left, 2),
                limit=format_money(self.limit, self.currency),
                group=group,
            )
        return _(
            "%(left)d of %(limit)d left for %(group)s",
            left=self.left,
            limit=self.limit,
            group=group,
        )


def counted_statuses() -> list[str]:
    return [status.value for status in SubscriptionStatus if status.value not in NOT_COUNTED]


def monthly_price(offer: ServiceOffer) -> Decimal:
    """The offer's monthly-equivalent price (yearly ÷ 12, one-time 0)."""
    price = offer.price or Decimal("0")
    if offer.billing_period == "yearly":
        return (price / 12).quantize(CENT)
    return price if offer.billing_period == "monthly" else Decimal("0")


def _monthly_column():
    return sa.case(
        (ServiceOffer.billing_period == "monthly", ServiceOffer.price),
        (ServiceOffer.billing_period == "yearly", ServiceOffer.price / 12),
        else_=0,
    )


def category_ids_under(category_id: int) -> set[int]:
    """The category and all its sub-categories."""
    children: dict[int | None, list[int]] = {}
    for cid, parent in db.session.execute(sa.select(Category.id, Category.parent_id)):
        children.setdefault(parent, []).append(cid)
    found, todo = set(), [category_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def quotas_of(group: ConsumerGroup | int) -> list[GroupQuota]:
    group_id = group if isinstance(group, int) else group.id
    return list(
        db.session.scalars(
            sa.select(GroupQuota)
            .where(GroupQuota.group_id == group_id)
            .order_by(GroupQuota.monthly_budget.is_(None), GroupQuota.offer_code, GroupQuota.id)
        )
    )


def _held(group_id: int, *conditions, exclude: int | None = None) -> int:
    query = sa.select(sa.func.count(Subscription.id)).where(
        Subscription.group_id == group_id,
        Subscription.status.in_(counted_statuses()),
        *conditions,
    )
    if exclude is not None:
        query = query.where(Subscription.id != exclude)
    return db.session.scalar(query) or 0


def _held_in_categories(group_id: int, category_ids: set[int], exclude: int | None) -> int:
    in_category = sa.select(ServiceOffer.id).where(ServiceOffer.category_id.in_(category_ids))
    return _held(
        group_id,
        Subscription.parent_id.is_(None),
        Subscription.offer_id.in_(in_category),
        exclude=exclude,
    )


def budget_use(group_id: int, exclude: int | None = None) -> tuple[Decimal, set[str]]:
    """The monthly-equivalent sum of the group's counted top-level subscriptions, and the
    currencies they are priced in."""
    query = (
        sa.select(ServiceOffer.currency, sa.func.sum(_monthly_column()))
        .select_from(Subscription)
        .join(ServiceOffer, ServiceOffer.id == Subscription.offer_id)
        .where(
            Subscription.group_id == group_id,
            Subscription.parent_id.is_(None),
            Subscription.status.in_(counted_statuses()),
        )
        .group_by(ServiceOffer.currency)
    )
    if exclude is not None:
        query = query.where(Subscription.id != exclude)
    total, currencies = Decimal("0"), set()
    for currency, amount in db.session.execute(query):
        if amount:
            currencies.add(currency)
            total += Decimal(str(amount))
    return total.quantize(CENT), currencies


def usage(quota: GroupQuota) -> Usage:
    if quota.kind == "budget":
        used, _currencies = budget_use(quota.group_id)
        return Usage(quota, used, quota.monthly_budget, quota.currency, "")
    if quota.kind == "offer":
        used = _held(quota.group_id, Subscription.offer_code == quota.offer_code)
        return Usage(quota, used, quota.max_active, None, _offer_name(quota.offer_code))
    used = _held_in_categories(quota.group_id, category_ids_under(quota.category_id), None)
    return Usage(quota, used, quota.max_active, None, _category_name(quota.category_id))


def _offer_name(code: str) -> str:
    name = db.session.scalar(
        sa.select(ServiceOffer.name)
        .where(ServiceOffer.code == code)
        .order_by(ServiceOffer.revision.desc())
        .limit(1)
    )
    return name or code


def _category_name(category_id: int) -> str:
    category = db.session.get(Category, category_id)
    return category.name if category else str(category_id)


def applying_to(group: ConsumerGroup, offer: ServiceOffer) -> list[GroupQuota]:
    """The group's quotas an order of `offer` counts against: the offer's, its categories',
    and the budget."""
    applying = []
    for quota in quotas_of(group):
        if quota.kind == "offer" and quota.offer_code != offer.code:
            continue
        if quota.kind == "category" and (
            offer.category_id is None
            or offer.category_id not in category_ids_under(quota.category_id)
        ):
            continue
        applying.append(quota)
    return applying


def quota_breaches(
    group: ConsumerGroup, offer: ServiceOffer, *, replacing: Subscription | None = None
) -> list[Breach]:
    """What one more subscription of `offer` in `group` would exceed (or, with `replacing`, a
    change of that subscription to `offer`), each with a readable message. Reads only."""
    breaches = []
    for quota in applying_to(group, offer):
        breach = (
            _budget_breach(quota, group, offer, replacing)
            if quota.kind == "budget"
            else _count_breach(quota, group, offer, replacing)
        )
        if breach is not None:
            breaches.append(breach)
    return breaches


def _count_breach(
    quota: GroupQuota, group: ConsumerGroup, offer: ServiceOffer, replacing: Subscription | None
) -> Breach | None:
    exclude = replacing.id if replacing is not None else None
    if quota.kind == "offer":
        held = _held(group.id, Subscription.offer_code == quota.offer_code, exclude=exclude)
        name = offer.name
    else:
        held = _held_in_categories(group.id, category_ids_under(quota.category_id), exclude)
        name = _category_name(quota.category_id)
    if held + 1 <= quota.max_active:
        return None
    message = _(
        "%(group)s has used its quota: %(held)d of %(limit)d active subscription(s) of "
        "%(name)s, none left. Ask a product manager to raise the quota, or end one first.",
        group=group.name,
        held=held,
        limit=quota.max_active,
        name=name,
    )
    return Breach(quota, quota.kind, message)


def _budget_breach(
    quota: GroupQuota, group: ConsumerGroup, offer: ServiceOffer, replacing: Subscription | None
) -> Breach | None:
    adding = monthly_price(offer)
    if adding == 0:
        return None
    if offer.currency != quota.currency:
        message = _(
            "%(name)s is priced in %(currency)s, and the monthly budget of %(group)s is in "
            "%(budget_currency)s. A budget holds one currency: nothing converts between them.",
            name=offer.name,
            currency=offer.currency,
            group=group.name,
            budget_currency=quota.currency,
        )
        return Breach(quota, "currency", message)
    used, _currencies = budget_use(group.id, replacing.id if replacing is not None else None)
    if used + adding <= quota.monthly_budget:
        return None
    message = _(
        "This order (%(price)s a month) would take %(group)s past its monthly budget: "
        "%(used)s of %(budget)s is used.",
        price=format_money(adding, offer.currency),
        group=group.name,
        used=format_number(used, 2),
        budget=format_money(quota.monthly_budget, quota.currency),
    )
    return Breach(quota, "budget", message)


def lock(group: ConsumerGroup) -> int:
    """Take the write lock of the group's quota rows until this unit of work ends (a guarded
    UPDATE that changes nothing); how many rows there are."""
    return db.session.execute(
        sa.update(GroupQuota)
        .where(GroupQuota.group_id == group.id)
        .values(group_id=GroupQuota.group_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def reserve(
    group: ConsumerGroup,
    offer: ServiceOffer,
    *,
    replacing: Subscription | None = None,
    on_exceed: str = "refuse",
) -> list[Breach]:
    """The atomic check: lock the group's quotas, then count. A breach is refused
    (InvalidTransition with its message) unless `on_exceed` is "approve", when the breaches are
    returned for the approval flow to add a step; no breach: []. A budget in another currency
    than the offer is refused whatever the policy says: no approval converts currencies."""
    if not lock(group):
        return []
    breaches = quota_breaches(group, offer, replacing=replacing)
    if breaches and (on_exceed != "approve" or any(b.kind == "currency" for b in breaches)):
        message = " ".join(breach.message for breach in breaches)
        raise InvalidTransition(message, fields={"offer_id": [message]})
    return breaches


def left_for(groups: list[ConsumerGroup], offer: ServiceOffer) -> list[str]:
    """What is left of each quota an order of `offer` counts against, in each of `groups`:
    the order form's and the offer page's lines."""
    return [usage(quota).text for group in groups for quota in applying_to(group, offer)]
