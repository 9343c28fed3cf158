"""The approval flow of an order for a new instance or a change (a change is approved by the
policy of the offer it changes to, over its new price and options). When it is placed, its policy's steps are copied
onto it: a step whose condition does not hold is skipped, and if the policy's auto-approve
condition holds every step is auto-approved (each says why, with the order's values). If a step
is left, the order waits in `awaiting_approval`: no contract, no fulfillment task. Its approvers
are told; one approval (or every asked approver's, for a step that needs all) passes the step
and the next one starts; after the last, the contract is written and fulfillment starts. One
rejection, with its reason, ends the order (`rejected`): nothing fulfilled; a rejected change leaves the subscription as it
was. The requester may withdraw a waiting order (`cancelled`).

A decision or a withdrawal first takes the order row's write lock (a guarded UPDATE that changes
nothing), then reads the step again: of any number of concurrent decisions one is recorded, and
the others see it decided and are refused, on PostgreSQL and SQLite alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from ... import clock
from ...accounts.models import User
from ...audit import services as audit
from ...catalog.models import ServiceOffer
from ...errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _, _l, format_day
from ...inputs import whole_number
from ...notifications.models import NotificationKind
from ...notifications.services import notify
from ...versioning import check_version, flush_versioned, version_change
from ..models import (
    ApprovalDecision,
    ApprovalStep,
    ApprovalStepStatus,
    Order,
    OrderStatus,
    OrderType,
    SubscriptionStatus,
)
from ..states import APPROVAL_STEP, ORDER
from . import approval_routing as routing
from . import conditions, lease_approval, policies
from .contracts import write_contract
from .fulfillment import advance, plan_tasks
from .lifecycle import move

A, S = ApprovalStepStatus, SubscriptionStatus
DECISIONS = ("approve", "reject")


# --- placing an order ------------------------------------------------------------------------


def facts_of(agreement: dict) -> conditions.Facts:
    return conditions.facts_for(
        agreement.get("price"),
        agreement.get("billing_period") or "monthly",
        agreement.get("currency") or "EUR",
        agreement.get("options") or {},
    )


def on_exceed(offer: ServiceOffer) -> str:
    """What an order of `offer` past its group's quota does under the offer's policy: "refuse"
    (the default) or "approve" (an extra approval step)."""
    policy = policies.policy_for(offer)
    return policy.on_exceed if policy is not None and policy.on_exceed else "refuse"


def plan(
    offer: ServiceOffer, agreement: dict, breaches: list | tuple = (), *, auto_approve: bool = True
) -> list[ApprovalStep]:
    """The approval steps of a new order of `offer` (not saved yet): each waiting, skipped
    (its condition does not hold) or auto-approved, with why. `breaches` (the group's quotas
    this order exceeds, under a policy whose `on_exceed` is approve) add a last "Over quota"
    step for the group's managers, which no auto-approve condition passes. Without
    `auto_approve` (a lease extension) the policy's auto-approve condition is not applied."""
    policy = policies.policy_for(offer)
    specs = list(policy.steps or []) if policy is not None else []
    facts = facts_of(agreement)
    auto, why = (
        conditions.explain(policy.auto_approve, facts)
        if auto_approve and policy is not None and policy.auto_approve
        else (False, "")
    )
    steps = []
    for sequence, spec in enumerate(specs, start=1):
        status, note = A.WAITING, ""
        if auto:
            status, note = A.AUTO_APPROVED, why
        elif spec.get("condition"):
            held, reason = conditions.explain(spec["condition"], facts)
            if not held:
                status, note = A.SKIPPED, reason
        steps.append(_step(policy, sequence, spec, status, note))
    if breaches:
        spec = {
            "name": _("Over quota"),
            "approvers": [{"kind": "group_managers"}],
            "require": "one",
        }
        note = " ".join(breach.message for breach in breaches)
        steps.append(_step(policy, len(steps) + 1, spec, A.WAITING, note))
    return steps


def extension_step(policy, sequence: int, name: str) -> ApprovalStep:
    """The step of a lease extension whose offer's policy has none waiting: the group's
    managers decide (routing falls back to the catalog managers when there are none)."""
    spec = {"name": name, "approvers": [{"kind": "group_managers"}], "require": "one"}
    return _step(policy, sequence, spec, A.WAITING, "")


def _step(policy, sequence: int, spec: dict, status: A, note: str) -> ApprovalStep:
    return ApprovalStep(
        sequence=sequence,
        name=spec["name"],
        mode=spec.get("require") or "one",
        approvers=spec.get("approvers") or [],
        fallback=spec.get("fallback"),
        condition=spec.get("condition") or "",
        status=status.value,
        asked=[],
        note=note,
        reminder_hours=policy.reminder_hours if policy is not None else None,
        escalation_hours=policy.escalation_hours if policy is not None else None,
        decided_at=None if status == A.WAITING else clock.now(),
    )


def waits(steps: list[ApprovalStep]) -> bool:
    return any(step.status == A.WAITING for step in steps)


def initial_status(steps: list[ApprovalStep]) -> str:
    """A placed order's status: waiting for approval when a step waits, else under way."""
    return (OrderStatus.AWAITING_APPROVAL if waits(steps) else OrderStatus.IN_PROGRESS).value


def begin(actor: User, order: Order, steps: list[ApprovalStep]) -> None:
    """The placed order's steps saved: its first approvers asked, or (nothing to wait for) its
    fulfillment started."""
    attach(actor, order, steps)
    if order.status != OrderStatus.AWAITING_APPROVAL:
        start_fulfillment(actor, order)


def attach(actor: User, order: Order, steps: list[ApprovalStep]) -> None:
    """Save the planned steps on the just-placed order and ask the first step's approvers."""
    for step in steps:
        step.order_id = order.id
        db.session.add(step)
    db.session.flush()
    for step in steps:
        if step.status != A.WAITING:
            audit.record(actor, "approval_step", step.id, step.status, summary=step.note[:255])
    if waits(steps):
        _start_next(actor, order)


def start_fulfillment(actor: User, order: Order) -> None:
    """An approved (or unguarded) order: its tasks, and their first steps run. A new instance
    first gets the contract the requester agreed to (a change's is amended when it is done)."""
    subscription = order.subscription
    if order.order_type == OrderType.EXTEND_LEASE:
        lease_approval.apply(actor, order)
        return
    if order.order_type == OrderType.MODIFY:
        target = db.session.get(ServiceOffer, order.target_offer_id) or subscription.offer
        plan_tasks(actor, order, subscription, target)
        advance(actor, order)
        return
    offer = db.session.get(ServiceOffer, order.agreement.get("offer_id")) or subscription.offer
    agreed_by = order.requested_by or subscription.owner or actor
    write_contract(subscription, offer, order.agreement, agreed_by, version=1)
    plan_tasks(actor, order, subscription, offer)
    move(actor, subscription, S.FULFILLING)
    advance(actor, order)


def _start_next(actor: User, order: Order) -> None:
    """Ask the next waiting step's approvers, or, with none left, start fulfillment."""
    step = next((s for s in order.approval_steps if s.status == A.WAITING), None)
    if step is None:
        changes = version_change(order)
        ORDER.move(order, OrderStatus.IN_PROGRESS)
        flush_versioned(order, noun="order", object_type="order")
        audit.record(actor, "order", order.id, "approved", changes=changes)
        _tell(order, _l("Approved: %(name)s", name=order.subscription.offer.name), _approved(order))
        start_fulfillment(actor, order)
        return
    asked, reached, note = routing.first_asked(step, order)
    APPROVAL_STEP.move(step, A.PENDING)
    step.asked, step.reached, step.started_at = asked, reached, clock.now()
    step.note = " ".join(part for part in (step.note, note) if part)
    flush_versioned(step, noun="approval", object_type="approval_step")
    audit.record(actor, "approval_step", step.id, "started", summary=f"asked {len(asked)}")
    ask(step, order, asked)


def _approved(order: Order) -> Any:
    if order.order_type == OrderType.EXTEND_LEASE:
        day = lease_approval.requested_end(order)
        return _l("The lease extension is approved: it now ends on %(day)s.", day=format_day(day))
    return _l("Your order is approved: fulfillment starts.")


def ask(step: ApprovalStep, order: Order, asked: list[int], *, reminder: bool = False) -> None:
    name = order.subscription.offer.name
    requester = order.requested_by.name if order.requested_by else "Offerdesk"
    subject = (
        _l("Reminder: approval waiting: %(name)s", name=name)
        if reminder
        else _l("Approval needed: %(name)s", name=name)
    )
    notify(
        routing.recipients(asked),
        subject,
        _l(
            "%(requester)s ordered %(name)s (order %(order)s): “%(step)s” waits for your decision.",
            requester=requester,
            name=name,
            order=order.id,
            step=step.name,
        ),
        "/approvals",
        kind=NotificationKind.APPROVALS,
    )


def _tell(order: Order, subject: Any, body: Any) -> None:
    """Tell the requester and the beneficiary."""
    subscription = order.subscription
    notify(
        [user for user in (order.requested_by, subscription.owner) if user is not None],
        subject,
        body,
        f"/subscriptions/{subscription.id}",
        kind=NotificationKind.ORDER_UPDATES,
    )


# --- deciding --------------------------------------------------------------------------------


def _lock_order(order_id_of: Any) -> None:
    """The order row's write lock, before anything of it is read again (see the module's doc)."""
    db.session.execute(
        sa.update(Order)
        .where(Order.id == order_id_of)
        .values(version=Order.version)
        .execution_options(synchronize_session=False)
    )


def _fresh_step(step_id: Any) -> tuple[ApprovalStep, Order]:
    number = whole_number(step_id)
    if number is None:
        raise NotFound(_("No such approval."))
    _lock_order(sa.select(ApprovalStep.order_id).where(ApprovalStep.id == number).scalar_subquery())
    step = db.session.get(ApprovalStep, number, populate_existing=True)
    if step is None:
        raise NotFound(_("No such approval."))
    order = db.session.get(Order, step.order_id, populate_existing=True)
    db.session.refresh(step, ["decisions"])
    return step, order


def check_decider(actor: User, step_id: Any) -> None:
    """Refuse (before the body is read) a caller who may not decide this step: reads only."""
    step = db.session.get(ApprovalStep, whole_number(step_id) or 0)
    if step is None:
        raise NotFound(_("No such approval."))
    order = db.session.get(Order, step.order_id)
    if routing.standing_for(actor, step, order) is None and step.status == A.PENDING:
        if getattr(actor, "id", None) in routing.excluded(order):
            raise NotAllowed(_("You cannot decide on your own order."))
        raise NotAllowed(_("This approval is not yours to decide."))


def decide(
    actor: User, step_id: Any, decision: Any, comment: Any = "", *, version: Any = None
) -> ApprovalStep:
    """Approve or reject a pending step as one of its asked approvers (or their delegate of
    today). Refused: someone else's step, one's own order, a step decided already or of a
    withdrawn order, a stale version, a rejection without a reason."""
    step, order = _fresh_step(step_id)
    for_user = routing.standing_for(actor, step, order)
    if for_user is None:
        if getattr(actor, "id", None) in routing.excluded(order):
            raise NotAllowed(_("You cannot decide on your own order."))
        raise NotAllowed(_("This approval is not yours to decide."))
    if step.status != A.PENDING:
        raise Conflict(_refusal(step, order), fields={"decision": [_refusal(step, order)]})
    check_version(step, version, noun="approval", object_type="approval_step")
    choice, reason = _clean_decision(decision, comment)
    if any(d.for_user_id == for_user for d in step.decisions):
        raise Conflict(
            _("You already decided this step."), fields={"decision": [_("Already decided.")]}
        )
    changes = version_change(step)
    db.session.add(
        ApprovalDecision(
            step=step,
            decided_by_id=actor.id,
            for_user_id=for_user,
            on_behalf=for_user != actor.id,
            decision=choice,
            comment=reason,
            decided_at=clock.now(),
        )
    )
    approvals = {d.for_user_id for d in step.decisions if d.decision == "approve"}
    done = choice == "reject" or step.mode == "one" or set(step.asked) <= approvals
    if done:
        APPROVAL_STEP.move(step, A.APPROVED if choice == "approve" else A.REJECTED)
        step.decided_at = clock.now()
    else:
        flag_modified(step, "asked")  # the step's version moves with every decision
    flush_versioned(step, noun="approval", object_type="approval_step")
    behalf = f" on behalf of user {for_user}" if for_user != actor.id else ""
    audit.record(
        actor,
        "approval_step",
        step.id,
        "approved" if choice == "approve" else "rejected",
        changes=changes,
        summary=f"order {order.id}{behalf}: {reason}"[:255],
    )
    if done and choice == "approve":
        _start_next(actor, order)
    elif done:
        _end(actor, order, OrderStatus.REJECTED, reason)
    return step


def _clean_decision(decision: Any, comment: Any) -> tuple[str, str]:
    choice = str(decision or "").strip().lower()
    reason = str(comment or "").strip()
    errors: dict[str, list[str]] = {}
    if choice not in DECISIONS:
        errors["decision"] = [_("Choose approve or reject.")]
    elif choice == "reject" and not reason:
        errors["comment"] = [_("Say why you reject it: the requester reads it.")]
    if len(reason) > 2000:
        errors["comment"] = [_("At most 2000 characters.")]
    if errors:
        raise ValidationFailed(_("The decision was not recorded."), fields=errors)
    return choice, reason


def _refusal(step: ApprovalStep, order: Order) -> str:
    if order.status == OrderStatus.CANCELLED:
        return _("The requester withdrew this order: there is nothing to decide.")
    last = step.decisions[-1] if step.decisions else None
    if last is not None and step.status in (A.APPROVED, A.REJECTED):
        who = last.decided_by.name if last.decided_by else "?"
        if step.status == A.APPROVED:
            return _("This step was already approved by %(name)s.", name=who)
        return _("This step was already rejected by %(name)s.", name=who)
    return _("This step is %(status)s: there is nothing to decide.", status=step.status)


def _end(actor: User, order: Order, to: OrderStatus, reason: str) -> None:
    """A rejected or withdrawn order: its open steps cancelled, the order and its subscription
    ended, nothing fulfilled, no contract; the requester is told why."""
    for step in order.approval_steps:
        if APPROVAL_STEP.allows(step.status, A.CANCELLED):
            APPROVAL_STEP.move(step, A.CANCELLED)
    changes = version_change(order)
    ORDER.move(order, to)
    order.failure_reason, order.completed_at = reason, clock.now()
    flush_versioned(order, noun="order", object_type="order")
    audit.record(actor, "order", order.id, str(to), changes=changes, summary=reason[:255])
    subscription = order.subscription
    if order.order_type == OrderType.MODIFY:
        ended = S.ACTIVE  # the subscription goes on as it was
    else:
        ended = S.REJECTED if to == OrderStatus.REJECTED else S.CANCELLED
    if order.order_type != OrderType.EXTEND_LEASE:  # a lease not extended runs on unchanged
        move(actor, subscription, ended, reason=reason)
    if to == OrderStatus.REJECTED:
        _tell(
            order,
            _l("Rejected: %(name)s", name=subscription.offer.name),
            _l("Your order was rejected: %(reason)s", reason=reason),
        )


def withdraw(actor: User, order: Order, reason: str) -> None:
    """Withdraw a waiting order for the system (a lease extension whose lease has ended)."""
    _end(actor, order, OrderStatus.CANCELLED, reason)


def cancel(actor: User, order_id: Any) -> Order:
    """The requester (or the beneficiary) withdraws an order that awaits approval."""
    number = whole_number(order_id)
    if number is None:
        raise NotFound(_("No such order."))
    _lock_order(number)
    order = db.session.get(Order, number, populate_existing=True)
    if order is None or getattr(actor, "id", -1) not in routing.excluded(order):
        raise NotFound(_("No such order."))
    if order.status != OrderStatus.AWAITING_APPROVAL:
        raise Conflict(
            _(
                "Only an order that awaits approval can be withdrawn; this one is %(status)s.",
                status=order.status,
            ),
            fields={"status": [_("It is %(status)s.", status=order.status)]},
        )
    _end(actor, order, OrderStatus.CANCELLED, _("Withdrawn by %(name)s.", name=actor.name))
    return order
