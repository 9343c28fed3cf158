"""What approvals show: what waits for a person (as an asked approver or a delegate of one) and
an order's approval as its requester, beneficiary and approvers see it: the current step, who
can approve it now, what was decided by whom and when, and why a step was skipped or
auto-approved."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...extensions import db
from ..models import ApprovalStep, ApprovalStepStatus, Order, OrderStatus, Subscription
from . import approval_routing as routing
from . import delegations

A = ApprovalStepStatus


def pending_steps() -> list[ApprovalStep]:
    return list(
        db.session.scalars(
            sa.select(ApprovalStep)
            .where(ApprovalStep.status == A.PENDING)
            .options(selectinload(ApprovalStep.decisions))
            .order_by(ApprovalStep.started_at, ApprovalStep.id)
        )
    )


def waiting_for(user: User) -> list[dict]:
    """The pending steps `user` may decide now, oldest first: {step, order, for_user,
    on_behalf}. A fixed number of statements, however many steps wait."""
    if getattr(user, "id", None) is None:
        return []
    steps = pending_steps()
    orders = {
        order.id: order
        for order in db.session.scalars(
            sa.select(Order)
            .where(Order.id.in_([step.order_id for step in steps] or [-1]))
            .options(
                selectinload(Order.requested_by),
                selectinload(Order.subscription).selectinload(Subscription.offer),
                selectinload(Order.subscription).selectinload(Subscription.owner),
            )
        )
    }
    delegators = delegations.delegators_of(user)
    standing = []
    for step in steps:
        order = orders[step.order_id]
        for_user = routing.standing_for(user, step, order, delegators)
        if for_user is not None and not any(d.for_user_id == for_user for d in step.decisions):
            standing.append((step, order, for_user))
    people = {
        person.id: person
        for person in db.session.scalars(
            sa.select(User).where(User.id.in_({for_user for _, _, for_user in standing} or [-1]))
        )
    }
    return [
        {
            "step": step,
            "order": order,
            "for_user": people[for_user],
            "on_behalf": for_user != user.id,
        }
        for step, order, for_user in standing
    ]


def approval_order(orders: list[Order]) -> Order | None:
    """The subscription's newest order that went through approval (a change's, else its
    new-instance order's), if any; `orders` are oldest first."""
    return next((order for order in reversed(orders) if order.approval_steps), None)


def timeline(user: User, order: Order | None) -> dict | None:
    """An order's approval for its page: each step with its state, who is asked (and their
    delegates), the decisions, the note; whether `user` may decide the current step or withdraw
    the order."""
    if order is None or not order.approval_steps:
        return None
    current = next((s for s in order.approval_steps if s.status == A.PENDING), None)
    for_user = routing.standing_for(user, current, order) if current is not None else None
    if current is not None and any(d.for_user_id == for_user for d in current.decisions):
        for_user = None
    return {
        "order": order,
        "steps": [
            {
                "step": step,
                "asked": routing.asked_people(step) if step.status == A.PENDING else [],
                "decisions": list(step.decisions),
            }
            for step in order.approval_steps
        ],
        "current": current,
        "can_decide": for_user is not None,
        "on_behalf_of": db.session.get(User, for_user) if for_user not in (None, user.id) else None,
        "can_withdraw": order.status == OrderStatus.AWAITING_APPROVAL
        and getattr(user, "id", None) in routing.excluded(order),
    }
