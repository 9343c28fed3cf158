"""HTML pages of approvals: the approvals inbox (/approvals: what waits for me, my delegations),
a decision from the inbox or the subscription page, withdrawing a waiting order, and the
catalog managers' approval policies (/approval-policies). Each route parses its form, calls one
service (the same as the API) and renders or redirects."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import Role
from ..catalog.models import ServiceOffer
from ..errors import Conflict, DomainError, NotAllowed, ValidationFailed
from ..i18n import _
from ..web import apply_field_errors, is_safe_next, roles_required
from .approval_forms import DecisionForm, DelegationForm, PolicyForm, WithdrawForm
from .services import approval_queries, approvals, delegations, policies

bp = Blueprint("approvals", __name__)


@bp.route("/approvals")
@login_required
def inbox():
    return _render_inbox(DelegationForm())


def _render_inbox(form: DelegationForm, status: int = 200):
    return (
        render_template(
            "approvals/inbox.html",
            waiting=approval_queries.waiting_for(current_user),
            delegations=delegations.delegations_of(current_user),
            form=form,
            decision_form=DecisionForm(),
            today=delegations.today(),
        ),
        status,
    )


@bp.route("/approvals/<int:step_id>/decision", methods=["POST"])
@login_required
def decide(step_id: int):
    form = DecisionForm()
    back = form.next.data if is_safe_next(form.next.data) else url_for(".inbox")
    try:
        approvals.decide(
            current_user,
            step_id,
            form.decision.data,
            form.comment.data,
            version=form.version.data or None,
        )
    except ValidationFailed as error:
        flash(
            " ".join(m for messages in error.fields.values() for m in messages) or error.message,
            "error",
        )
        return redirect(back)
    except (Conflict, NotAllowed) as error:
        flash(error.message, "error")
        return redirect(back)
    if form.decision.data == "approve":
        flash(_("Approved."), "success")
    else:
        flash(_("Rejected: the requester is told why."), "success")
    return redirect(back)


@bp.route("/orders/<int:order_id>/withdraw", methods=["POST"])
@login_required
def withdraw(order_id: int):
    WithdrawForm()
    order = approvals.cancel(current_user, order_id)
    flash(_("Your order is withdrawn: nothing will be fulfilled."), "success")
    return redirect(url_for("subscriptions.detail", subscription_id=order.subscription_id))


@bp.route("/approvals/delegations", methods=["POST"])
@login_required
def delegate():
    form = DelegationForm()
    try:
        delegations.delegate(
            current_user,
            to=form.to.data,
            starts_on=form.starts_on.data or request.form.get("starts_on"),
            ends_on=form.ends_on.data or request.form.get("ends_on"),
        )
    except ValidationFailed as error:
        form.starts_on.errors, form.ends_on.errors = [], []  # the service's words, not WTForms'
        apply_field_errors(form, error)
        return _render_inbox(form, 422)
    flash(_("Your approvals are delegated."), "success")
    return redirect(url_for(".inbox"))


@bp.route("/approvals/delegations/<int:delegation_id>/revoke", methods=["POST"])
@login_required
def revoke(delegation_id: int):
    WithdrawForm()
    delegations.revoke(current_user, delegation_id)
    flash(_("The delegation is ended."), "success")
    return redirect(url_for(".inbox"))


# --- policies ------------------------------------------------------------------------------------


@bp.route("/approval-policies", methods=["GET", "POST"])
@roles_required(Role.CATALOG_MANAGER)
def policy_list():
    form = PolicyForm()
    status = 200
    if request.method == "GET" and request.args.get("scope"):
        form.scope.data, form.target.data = request.args["scope"], request.args.get("target", "")
        _fill(form, form.scope.data, form.target.data)
    elif request.method == "POST":
        status = _save(form)
        if status == 302:
            return redirect(url_for(".policy_list"))
    return (
        render_template(
            "approvals/policies.html",
            policies=policies.all_policies(),
            label=policies.label,
            steps_yaml=policies.steps_yaml,
            form=form,
        ),
        status,
    )


def _fill(form: PolicyForm, scope: str, target: str) -> None:
    found = policies.target_named(scope, target)
    key = found.code if isinstance(found, ServiceOffer) else (found.id if found else None)
    policy = policies.find(scope, key) if (found is not None or scope == "default") else None
    if policy is not None:
        form.steps.data = policies.steps_yaml(policy.steps)
        form.auto_approve.data = policy.auto_approve
        form.reminder_hours.data = policy.reminder_hours or ""
        form.escalation_hours.data = policy.escalation_hours or ""
        form.on_exceed.data = policy.on_exceed
        form.version.data = policy.version


def _save(form: PolicyForm) -> int:
    scope = form.scope.data
    found = policies.target_named(scope, form.target.data)
    if scope != "default" and found is None:
        form.target.errors = [
            _("No offer has this code.") if scope == "offer" else _("No such category.")
        ]
        return 422
    try:
        steps = policies.parse_steps_yaml(form.steps.data)
        policies.set_policy(
            current_user,
            scope,
            found.id if found is not None else None,
            {
                "steps": steps,
                "auto_approve": form.auto_approve.data,
                "reminder_hours": form.reminder_hours.data,
                "escalation_hours": form.escalation_hours.data,
                "on_exceed": form.on_exceed.data,
            },
            version=form.version.data or None,
        )
    except ValidationFailed as error:
        for name, messages in error.fields.items():
            if name in ("auto_approve", "reminder_hours", "escalation_hours", "on_exceed"):
                field = getattr(form, name)
                field.errors = list(field.errors) + list(messages)
            else:
                form.steps.errors = list(form.steps.errors) + [
                    message if name == "steps" else f"{name}: {message}" for message in messages
                ]
        return 422
    except DomainError as error:
        flash(error.message, "error")
        return error.status
    flash(_("The approval policy is saved."), "success")
    return 302
