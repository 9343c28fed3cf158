"""JSON routes of the Consume stream under /api/v1: they load a schema, call the same service as
the HTML pages, and dump a schema. Errors are problem+json through the shared handlers."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from ..api.core import (
    KEY_HEADER,
    api_user,
    bearer_token,
    endpoint,
    int_arg,
    json_body,
    key_errors_named_as_header,
    load,
)
from ..errors import ValidationFailed
from ..extensions import db
from ..i18n import _
from .approval_schemas import (
    ApprovalListSchema,
    ApprovalPolicySchema,
    ApprovalStepSchema,
    DecisionSchema,
)
from .models import Order, Subscription, SubscriptionStatus, TaskStatus
from .schemas import (
    FulfillmentTaskPageSchema,
    FulfillmentTaskSchema,
    GroupQuotasSchema,
    LeaseExtensionSchema,
    ModifySchema,
    OrderedSubscriptionSchema,
    ServiceContractSchema,
    SubscribeSchema,
    SubscriptionDetailSchema,
    SubscriptionPageSchema,
    SubscriptionSchema,
    TaskCallbackSchema,
    TaskTransitionSchema,
    TerminateSchema,
)
from .services import (
    approval_queries,
    approval_routing,
    approvals,
    automation,
    contracts,
    fulfillment,
    lease_approval,
    leases,
    orders,
    quota_admin,
    subscriptions,
)
from .services import policies as approval_policies

TAG = "subscriptions"


# --- helpers: query arguments, bodies --------------------------------------------------------


def _choice_arg(name: str, allowed: list[str]) -> str:
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        raise ValidationFailed(
            _("Unknown %(name)s.", name=name),
            fields={name: [_("Use one of: %(names)s.", names=", ".join(allowed))]},
        )
    return value


def _paginate(query):
    per_page = int_arg("per_page", current_app.config["ITEMS_PER_PAGE"], maximum=100)
    page = int_arg("page", 1)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def _page_body(pagination, items: list) -> dict:
    return {
        "items": items,
        "page": pagination.page,
        "pages": pagination.pages,
        "per_page": pagination.per_page,
        "total": pagination.total,
    }


def _order_body(order: Order | None) -> dict | None:
    if order is None:
        return None
    progress = fulfillment.progress(order)
    current = progress["current"]
    return {
        "id": order.id,
        "subscription_id": order.subscription_id,
        "order_type": order.order_type,
        "status": order.status,
        "target_offer_id": order.target_offer_id,
        "options": order.options or {},
        "created_at": order.created_at,
        "scheduled_for": order.scheduled_for,
        "completed_at": order.completed_at,
        "failure_reason": order.failure_reason or "",
        "tasks": order.tasks,
        "progress": {
            "done": progress["done"],
            "total": progress["total"],
            "percent": progress["percent"],
            "current_step": current.name if current is not None else None,
        },
        "approval_steps": [_approval_step_row(step) for step in order.approval_steps],
    }


def _approval_step_row(step) -> dict:
    return {
        "id": step.id,
        "sequence": step.sequence,
        "name": step.name,
        "status": step.status,
        "note": step.note,
        "asked": [row["user"].name for row in approval_routing.asked_people(step)]
        if step.status == "pending"
        else [],
        "decided_by": [d.decided_by.name for d in step.decisions if d.decided_by],
    }


def _subscription_body(subscription: Subscription, contract, order: Order | None) -> dict:
    return {
        "id": subscription.id,
        "offer": subscription.offer,
        "group": subscription.group,
        "owner": subscription.owner,
        "requested_by": subscription.requested_by or subscription.owner,
        "parent_id": subscription.parent_id,
        "status": subscription.status,
        "options": subscription.options or {},
        "failure_reason": subscription.failure_reason or "",
        "created_at": subscription.created_at,
        "active_since": subscription.active_since,
        "terminated_at": subscription.terminated_at,
        "terminates_on": subscription.terminates_on,
        "lease_ends_at": subscription.lease_ends_at,
        "lease_latest_end": leases.latest_end(subscription),
        "contract_id": contract.id if contract is not None else None,
        "current_order": _order_body(order),
        "next_actions": subscriptions.next_actions(api_user(), subscription),
    }


def _ordered(order: Order, created: bool):
    """201 with the order when this request made it; 200 with the same body when replayed."""
    subscription = db.session.get(Subscription, order.subscription_id)
    body = _subscription_body(
        subscription,
        contracts.current_contract(subscription),
        subscriptions.current_order(subscription),
    )
    body["order"] = _order_body(order)
    response = jsonify(OrderedSubscriptionSchema().dump(body))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.get_subscription", subscription_id=subscription.id)
    return response


def _key() -> str | None:
    return request.headers.get(KEY_HEADER)


# --- subscriptions ---------------------------------------------------------------------------


@endpoint(
    "/subscriptions",
    summary="Subscriptions the caller may see (its groups'; staff see all)",
    tag=TAG,
    response=SubscriptionPageSchema,
    query={
        "status": "Filter by status",
        "offer": "Filter by offer code",
        "group": "Filter by consumer group id",
        "page": "Page number (from 1)",
        "per_page": "Rows a page (1–100)",
    },
)
def list_subscriptions():
    user = api_user()
    query = subscriptions.visible_subscriptions_query(
        user,
        status=_choice_arg("status", [status.value for status in SubscriptionStatus]),
        offer_code=request.args.get("offer", "").strip()[:40],
        group_id=int_arg("group"),
    )
    pagination = _paginate(query)
    ids = [subscription.id for subscription in pagination.items]
    agreed = contracts.current_contracts(ids)
    running = subscriptions.current_orders(ids, with_approvals=True)
    items = [_subscription_body(s, agreed.get(s.id), running.get(s.id)) for s in pagination.items]
    return jsonify(SubscriptionPageSchema().dump(_page_body(pagination, items)))


@endpoint(
    "/subscriptions",
    "POST",
    summary=f"Agree to an offer's terms and order it (send an {KEY_HEADER} header; a replay returns 200 and the same order)",
    tag=TAG,
    body=SubscribeSchema,
    response=OrderedSubscriptionSchema,
    status=201,
)
def create_subscription():
    orders.require_consumer(api_user())
    data = load(SubscribeSchema())
    with key_errors_named_as_header():
        order, created = orders.subscribe(
            api_user(),
            data["offer_id"],
            options=data["options"],
            accept_terms=data["accept_terms"],
            idempotency_key=_key(),
            group_id=data["group_id"],
            requested_for=data["requested_for"],
            lease_ends_on=data["lease_ends_on"],
        )
    return _ordered(order, created)


@endpoint(
    "/subscriptions/<int:subscription_id>",
    summary="One subscription with its contracts, orders and tasks",
    tag=TAG,
    response=SubscriptionDetailSchema,
)
def get_subscription(subscription_id: int):
    user = api_user()
    subscription = subscriptions.subscription_for(user, subscription_id)
    body = _subscription_body(
        subscription,
        contracts.current_contract(subscription),
        subscriptions.current_order(subscription),
    )
    body["contracts"] = contracts.contracts_of(subscription)
    body["lease_extension"] = _pending_extension(subscription)
    body["orders"] = [_order_body(order) for order in subscriptions.orders_of(subscription)]
    body["members"] = [_subscription_body(child, None, None) for child in subscription.children]
    return jsonify(SubscriptionDetailSchema().dump(body))


@endpoint(
    "/subscriptions/<int:subscription_id>/modifications",
    "POST",
    summary=f"Change the options or move to another offer, accepting its terms ({KEY_HEADER} header)",
    tag=TAG,
    body=ModifySchema,
    response=OrderedSubscriptionSchema,
    status=201,
)
def create_modification(subscription_id: int):
    orders.changeable_subscription(api_user(), subscription_id)
    data = load(ModifySchema())
    with key_errors_named_as_header():
        order, created = orders.modify(
            api_user(),
            subscription_id,
            options=data["options"],
            target_offer_id=data["target_offer_id"],
            accept_terms=data["accept_terms"],
            idempotency_key=_key(),
        )
    return _ordered(order, created)


@endpoint(
    "/subscriptions/<int:subscription_id>/termination",
    "POST",
    summary=f"End the subscription now, or at `at` ({KEY_HEADER} header)",
    tag=TAG,
    body=TerminateSchema,
    response=OrderedSubscriptionSchema,
    status=201,
)
def create_termination(subscription_id: int):
    orders.changeable_subscription(api_user(), subscription_id)
    data = load(TerminateSchema()) if request.get_data(cache=True).strip() else {"at": None}
    with key_errors_named_as_header():
        order, created = orders.terminate(
            api_user(), subscription_id, at=data["at"], idempotency_key=_key()
        )
    return _ordered(order, created)


@endpoint(
    "/subscriptions/<int:subscription_id>/lease-extension",
    "POST",
    summary="Extend the subscription's lease to a later end, within its offer's maximum (200);"
    " when its offer's extensions need approval the end does not move yet: 202 with"
    " lease_extension, the order waiting for approval",
    tag=TAG,
    body=LeaseExtensionSchema,
    response=SubscriptionSchema,
)
def create_lease_extension(subscription_id: int):
    user = api_user()
    subscription = subscriptions.subscription_for(user, subscription_id)
    if not leases.may_extend(user, subscription):  # authorization before validation
        leases.extend(user, subscription_id, None)
    data = load(LeaseExtensionSchema())
    subscription = leases.extend(user, subscription_id, data["lease_ends_at"])
    body = _subscription_body(
        subscription,
        contracts.current_contract(subscription),
        subscriptions.current_order(subscription),
    )
    body["lease_extension"] = _pending_extension(subscription)
    response = jsonify(SubscriptionSchema().dump(body))
    response.status_code = 202 if body["lease_extension"] else 200
    return response


def _pending_extension(subscription: Subscription) -> dict | None:
    order = lease_approval.pending(subscription)
    if order is None:
        return None
    return {
        "order_id": order.id,
        "status": order.status,
        "lease_ends_at": lease_approval.requested_end(order),
    }


# --- contracts -------------------------------------------------------------------------------


@endpoint(
    "/contracts/<int:contract_id>",
    summary="A service contract: the frozen agreement",
    tag=TAG,
    response=ServiceContractSchema,
)
def get_contract(contract_id: int):
    contract = contracts.contract_for(api_user(), contract_id)
    return jsonify(ServiceContractSchema().dump(contract))


# --- fulfillment -----------------------------------------------------------------------------


@endpoint(
    "/fulfillment-tasks",
    summary="Manual fulfillment tasks in the caller's groups (support agents), oldest first",
    tag="fulfillment",
    response=FulfillmentTaskPageSchema,
    query={
        "group": "Only this group (id)",
        "status": "queued, in_progress, failed (default: all three), waiting or done",
        "page": "Page number (from 1)",
        "per_page": "Rows a page (1–100)",
    },
)
def list_fulfillment_tasks():
    query = fulfillment.queue_query(
        api_user(),
        group_id=int_arg("group"),
        status=_choice_arg("status", [status.value for status in TaskStatus]),
    )
    pagination = _paginate(query)
    return jsonify(FulfillmentTaskPageSchema().dump(_page_body(pagination, list(pagination.items))))


@endpoint(
    "/fulfillment-tasks/<int:task_id>/transitions",
    "POST",
    summary="Start (in_progress), complete (done), fail (failed, with a reason), release or retry (queued) a task; send the `version` you read and a stale one is refused with 409",
    tag="fulfillment",
    body=TaskTransitionSchema,
    response=FulfillmentTaskSchema,
)
def transition_fulfillment_task(task_id: int):
    fulfillment.worked_task(api_user(), task_id)
    data = load(TaskTransitionSchema())
    task = fulfillment.transition_task(
        api_user(), task_id, data["to"], reason=data["reason"], version=data["version"]
    )
    return jsonify(FulfillmentTaskSchema().dump(task))


def _callback_body():
    """The JSON body, counted as read when no Content-Length announced it."""
    if request.content_length is None:
        automation.check_size(len(request.get_data(cache=True)))
    return json_body()


@endpoint(
    "/fulfillment-tasks/<int:task_id>/callback",
    "POST",
    summary="The receiver of an automatic step reports on it, with `Authorization: Bearer <the callback token of its delivery>`: `status` running, done or failed, a `message` for its log, `outputs` (a flat map of text) kept on the subscription",
    tag="fulfillment",
    body=TaskCallbackSchema,
    response=FulfillmentTaskSchema,
    own_token=True,
)
def fulfillment_task_callback(task_id: int):
    task = automation.callback(
        task_id, bearer_token(), size=request.content_length, body=_callback_body
    )
    return jsonify(FulfillmentTaskSchema().dump(task))


@endpoint(
    "/groups/<int:group_id>/quotas",
    summary="A group's quotas and monthly budget with what is used and left (admins, product "
    "managers and the group's members). Orders past a quota are refused with its message.",
    tag=TAG,
    response=GroupQuotasSchema,
)
def group_quotas(group_id: int):
    group = quota_admin.group_for_quotas(api_user(), group_id)
    items = [quota_admin.describe(item) for item in quota_admin.usage_of(group)]
    return jsonify(GroupQuotasSchema().dump({"group": group, "items": items}))


# --- approvals -------------------------------------------------------------------------------


def _person(user) -> dict | None:
    return None if user is None else {"id": user.id, "name": user.name, "email": user.email}


def _step_body(step, order, for_user=None) -> dict:
    subscription = order.subscription
    asked = {row["user"].id: row["user"] for row in approval_routing.asked_people(step)}
    return {
        "id": step.id,
        "order_id": order.id,
        "subscription_id": subscription.id,
        "offer_code": subscription.offer_code,
        "offer_name": subscription.offer.name,
        "requested_by": _person(order.requested_by),
        "price": str(order.agreement.get("price", "")),
        "currency": order.agreement.get("currency", ""),
        "billing_period": order.agreement.get("billing_period", ""),
        "sequence": step.sequence,
        "name": step.name,
        "status": step.status,
        "mode": step.mode,
        "note": step.note,
        "asked": [_person(user) for user in asked.values()],
        "on_behalf_of": _person(for_user),
        "decisions": [
            {
                "decision": d.decision,
                "comment": d.comment,
                "decided_at": d.decided_at,
                "decided_by": _person(d.decided_by),
                "on_behalf_of": _person(d.for_user) if d.on_behalf else None,
            }
            for d in step.decisions
        ],
        "started_at": step.started_at,
        "version": step.version,
    }


@endpoint(
    "/approvals",
    summary="The approval steps waiting for the caller's decision (as an asked approver, or today's delegate of one), oldest first",
    tag="approvals",
    response=ApprovalListSchema,
)
def list_approvals():
    rows = approval_queries.waiting_for(api_user())
    items = [
        _step_body(row["step"], row["order"], row["for_user"] if row["on_behalf"] else None)
        for row in rows
    ]
    return jsonify(ApprovalListSchema().dump({"items": items}))


@endpoint(
    "/approvals/<int:step_id>/decision",
    "POST",
    summary="Approve or reject a waiting step (a reason is required to reject); deciding twice, someone else's step, one's own order, a withdrawn order or a stale `version` is refused with nothing changed",
    tag="approvals",
    body=DecisionSchema,
    response=ApprovalStepSchema,
)
def decide_approval(step_id: int):
    approvals.check_decider(api_user(), step_id)
    data = load(DecisionSchema())
    step = approvals.decide(
        api_user(), step_id, data["decision"], data["comment"], version=data["version"]
    )
    return jsonify(
        ApprovalStepSchema().dump(_step_body(step, db.session.get(Order, step.order_id)))
    )


@endpoint(
    "/orders/<int:order_id>/withdrawal",
    "POST",
    summary="The requester (or the beneficiary) withdraws an order that awaits approval",
    tag="approvals",
    status=200,
)
def withdraw_order(order_id: int):
    order = approvals.cancel(api_user(), order_id)
    return jsonify({"id": order.id, "status": order.status})


def _policy_body(offer) -> dict:
    own = approval_policies.find("offer", offer.code)
    policy = own or approval_policies.policy_for(offer)
    body = approval_policies.data_of(policy)
    body.update(
        scope=policy.scope if policy else "none",
        offer_code=policy.offer_code if policy else None,
        version=policy.version if policy else None,
        inherited=own is None and policy is not None,
    )
    return body


@endpoint(
    "/offers/<int:offer_id>/approval-policy",
    summary="The approval policy an order of this offer goes through (its own, else inherited from its category or the catalog default)",
    tag="approvals",
    response=ApprovalPolicySchema,
)
def get_approval_policy(offer_id: int):
    approval_policies.require_catalog_manager(api_user())
    offer = approval_policies.offer_by_id(offer_id)
    return jsonify(ApprovalPolicySchema().dump(_policy_body(offer)))


@endpoint(
    "/offers/<int:offer_id>/approval-policy",
    "PUT",
    summary="Set the offer's own approval policy (catalog managers); no steps and no auto_approve removes it. Conditions are checked with the column of the first error",
    tag="approvals",
    body=ApprovalPolicySchema,
    response=ApprovalPolicySchema,
)
def put_approval_policy(offer_id: int):
    approval_policies.require_catalog_manager(api_user())
    offer = approval_policies.offer_by_id(offer_id)
    data = load(ApprovalPolicySchema())
    version = data.pop("version")
    approval_policies.set_policy(api_user(), "offer", offer, data, version=version)
    return jsonify(ApprovalPolicySchema().dump(_policy_body(offer)))
