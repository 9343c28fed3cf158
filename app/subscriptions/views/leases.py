"""The subscription page's Extend form: a lease's new end date, within its offer's maximum."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ...errors import Conflict, NotAllowed, ValidationFailed
from ...i18n import _, format_day
from ...web import apply_field_errors
from .. import pages
from ..forms import ConfirmForm, LeaseExtensionForm
from ..services import leases, subscriptions
from . import bp


@bp.route("/subscriptions/<int:subscription_id>/lease-extension", methods=["POST"])
@login_required
def extend_lease(subscription_id: int):
    subscription = subscriptions.subscription_for(current_user, subscription_id)
    if not leases.may_extend(current_user, subscription):  # authorization before validation
        try:
            leases.extend(current_user, subscription_id, None)
        except (Conflict, NotAllowed) as error:
            flash(error.message, "error")
            return redirect(url_for(".detail", subscription_id=subscription_id))
    form = LeaseExtensionForm()
    if form.validate_on_submit():
        try:
            extended = leases.extend(current_user, subscription_id, form.lease_ends_at.data)
        except ValidationFailed as error:
            apply_field_errors(form, error)
        except Conflict as error:
            flash(error.message, "error")
            return redirect(url_for(".detail", subscription_id=subscription_id))
        else:
            waiting = leases.pending_extension(extended)
            if waiting is not None:
                day = format_day(waiting["ends"])
                flash(_("Extension to %(day)s waiting for approval.", day=day), "info")
            else:
                day = format_day(extended.lease_ends_at)
                flash(_("The lease now ends on %(day)s.", day=day), "success")
            return redirect(url_for(".detail", subscription_id=subscription_id))
    elif "csrf_token" in form.errors:
        flash(_("The form expired; please submit it again."), "error")
    page = pages.subscription_page(current_user, subscription_id)
    return render_template(
        "subscriptions/detail.html", confirm_form=ConfirmForm(), lease_form=form, **page
    ), 422
