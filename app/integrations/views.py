"""Admin → Integrations: the integrations, their event webhooks and the delivery log."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.forms import ConfirmForm
from ..accounts.models import Role
from ..errors import Conflict, ValidationFailed
from ..i18n import _
from ..web import apply_field_errors, roles_required
from .forms import IntegrationForm, WebhookForm
from .services import integrations, webhooks

bp = Blueprint("integrations", __name__, url_prefix="/admin/integrations")


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return render_template(
        "integrations/index.html",
        integrations=integrations.list_integrations(current_user),
        confirm_form=ConfirmForm(),
    )


def _fields(form: IntegrationForm) -> dict:
    return {name: form[name].data for name in integrations.AUDITED + ("secret",)}


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create():
    form = IntegrationForm()
    if form.validate_on_submit():
        try:
            created = integrations.create_integration(current_user, **_fields(form))
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            return render_template("integrations/created.html", created=created)
    return render_template("integrations/form.html", form=form, integration=None)


@bp.route("/<int:integration_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(integration_id: int):
    integration = integrations.get_integration(current_user, integration_id)
    form = IntegrationForm(obj=integration if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            integrations.update_integration(current_user, integration_id, **_fields(form))
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("Integration %(name)s saved.", name=integration.name), "success")
            return redirect(url_for("integrations.index"))
    return render_template("integrations/form.html", form=form, integration=integration)


@bp.route("/<int:integration_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete(integration_id: int):
    if ConfirmForm().validate_on_submit():
        integrations.delete_integration(current_user, integration_id)
        flash(_("Integration deleted, with its webhooks."), "success")
    return redirect(url_for("integrations.index"))


@bp.route("/webhooks", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def webhook_list():
    form = WebhookForm()
    form.integration.choices = [
        (item.name, item.name) for item in integrations.list_integrations(current_user)
    ]
    if form.validate_on_submit():
        try:
            webhooks.subscribe(
                current_user, integration=form.integration.data, events=form.events.data
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("Webhook subscribed."), "success")
            return redirect(url_for("integrations.webhook_list"))
    return render_template(
        "integrations/webhooks.html",
        form=form,
        webhooks=webhooks.list_webhooks(current_user),
        confirm_form=ConfirmForm(),
    )


@bp.route("/webhooks/<int:webhook_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def webhook_delete(webhook_id: int):
    if ConfirmForm().validate_on_submit():
        webhooks.delete_webhook(current_user, webhook_id)
        flash(_("Webhook deleted."), "success")
    return redirect(url_for("integrations.webhook_list"))


@bp.route("/webhooks/<int:webhook_id>/deliveries")
@roles_required(Role.ADMIN)
def deliveries(webhook_id: int):
    return render_template(
        "integrations/deliveries.html",
        webhook=webhooks.get_webhook(current_user, webhook_id),
        deliveries=webhooks.list_deliveries(current_user, webhook_id),
        confirm_form=ConfirmForm(),
    )


@bp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@roles_required(Role.ADMIN)
def redeliver(webhook_id: int, delivery_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            webhooks.redeliver(current_user, webhook_id, delivery_id)
        except Conflict as error:
            flash(error.message, "error")
        else:
            flash(_("Delivery %(delivery_id)s queued again.", delivery_id=delivery_id), "success")
    return redirect(url_for("integrations.deliveries", webhook_id=webhook_id))
