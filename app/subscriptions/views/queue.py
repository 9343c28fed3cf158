"""The fulfillment queue: support agents start, complete, release, retry and fail the tasks of
orders; a task's own page with its steps' deliveries."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.models import Role
from ...errors import Conflict, InvalidTransition, ValidationFailed
from ...i18n import _
from ...web import apply_field_errors, arg_id, is_safe_next, page_number, query_args, roles_required
from .. import pages
from ..forms import TaskActionForm, TaskFailForm
from ..services import automation, fulfillment, tracking
from . import bp


def _render_queue(
    failed_form: TaskFailForm | None = None,
    failed_task_id: int | None = None,
    status: int = 200,
    task_errors: dict[int, list[str]] | None = None,
):
    """The queue page; `task_errors` are messages shown at a task's actions (a stale one)."""
    page = pages.queue_page(
        current_user,
        group_id=arg_id("group"),
        status=request.args.get("status", ""),
        page=page_number(),
    )
    fail_forms = {
        task.id: failed_form
        if task.id == failed_task_id
        else TaskFailForm(prefix=f"task{task.id}", formdata=None, data={"version": task.version})
        for task in page["pagination"].items
    }
    return (
        render_template(
            "subscriptions/queue.html",
            fail_forms=fail_forms,
            task_errors=task_errors or {},
            back=url_for(".queue", **query_args()),
            **page,
        ),
        status,
    )


def _stale_task(task_id: int, error: Conflict):
    """The queue again, answering 409, with who changed what at the task the agent acted on."""
    return _render_queue(status=409, task_errors={task_id: [error.message]})


@bp.route("/fulfillment")
@roles_required(Role.SUPPORT_AGENT)
def queue():
    return _render_queue()


def _back_to_queue():
    target = request.form.get("next") or request.args.get("next")
    return redirect(
        target if is_safe_next(target) and target.startswith("/fulfillment") else url_for(".queue")
    )


@bp.route("/fulfillment/tasks/<int:task_id>", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def task_action(task_id: int):
    form = TaskActionForm()
    labels = {
        "start": "started",
        "complete": "completed",
        "release": "released to the queue",
        "retry": "queued again",
    }
    action = (form.to.data or request.form.get("to", "")).strip()
    if not form.validate_on_submit() or action not in labels:
        flash(_("Choose start, complete, release or retry."), "error")
        return _back_to_queue()
    try:
        task = fulfillment.transition_task(
            current_user, task_id, action, version=form.version.data or None
        )
    except Conflict as error:
        return _stale_task(task_id, error)
    except (InvalidTransition, ValidationFailed) as error:
        flash(error.message, "error")
    else:
        flash(
            _(
                "Task “%(name)s” (order %(order_id)s) %(labels)s.",
                name=task.name,
                order_id=task.order_id,
                labels=labels[action],
            ),
            "success",
        )
    return _back_to_queue()


@bp.route("/fulfillment/tasks/<int:task_id>/fail", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT)
def task_fail(task_id: int):
    form = TaskFailForm(prefix=f"task{task_id}")
    if form.validate_on_submit():
        try:
            task = fulfillment.transition_task(
                current_user,
                task_id,
                "fail",
                reason=form.reason.data or "",
                version=form.version.data or None,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
            return _render_queue(form, task_id, 422)
        except Conflict as error:
            return _stale_task(task_id, error)
        except InvalidTransition as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "Task “%(name)s” (order %(order_id)s) failed; the consumer is told why.",
                    name=task.name,
                    order_id=task.order_id,
                ),
                "success",
            )
        return _back_to_queue()
    if "csrf_token" in form.errors:
        flash(_("The form expired; please submit it again."), "error")
        return _back_to_queue()
    return _render_queue(form, task_id, 422)


@bp.route("/fulfillment/tasks/<int:task_id>")
@roles_required(Role.SUPPORT_AGENT, Role.CATALOG_MANAGER)
def task_detail(task_id: int):
    return render_template(
        "subscriptions/task.html",
        form=TaskActionForm(),
        **tracking.task_page(current_user, task_id),
    )


@bp.route("/fulfillment/tasks/<int:task_id>/retry", methods=["POST"])
@roles_required(Role.SUPPORT_AGENT, Role.CATALOG_MANAGER)
def task_retry(task_id: int):
    form = TaskActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
    else:
        try:
            task = automation.retry_task(current_user, task_id, version=form.version.data or None)
        except (Conflict, InvalidTransition) as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "Step “%(name)s” (order %(order_id)s) runs again.",
                    name=task.name,
                    order_id=task.order_id,
                ),
                "success",
            )
    return redirect(url_for(".task_detail", task_id=task_id))
