"""The quotas page: each group's quotas and budget with what is used and left, for group
managers (their groups), product managers and admins (every group, and they edit them)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..catalog import services as catalog
from ..errors import NotFound, ValidationFailed
from ..i18n import _
from ..validation import CURRENCIES
from ..web import apply_field_errors
from .forms import ConfirmForm, QuotaForm
from .services import quota_admin

bp = Blueprint("quotas", __name__)


def _form(groups) -> QuotaForm:
    form = QuotaForm(prefix="q")
    form.group_id.choices = [(str(group.id), group.name) for group in groups]
    form.category_id.choices = [("", "—")] + [
        (str(category.id), "— " * depth + category.name)
        for category, depth in catalog.category_tree()
    ]
    form.currency.choices = [(code, code) for code in CURRENCIES]
    return form


def _render(form: QuotaForm, status: int = 200):
    groups = quota_admin.quota_groups(current_user)
    return render_template(
        "subscriptions/quotas.html",
        rows=[(group, quota_admin.usage_of(group)) for group in groups],
        form=form if quota_admin.sees_every_group(current_user) else None,
        editor=current_user.has_role(*quota_admin.EDITORS),
        confirm_form=ConfirmForm(),
    ), status


@bp.route("/quotas")
@login_required
def index():
    return _render(_form(quota_admin.quota_groups(current_user)))


@bp.route("/quotas", methods=["POST"])
@login_required
def save():
    groups = quota_admin.quota_groups(current_user)
    form = _form(groups)
    if not form.validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return _render(form, 400)
    kind = form.kind.data
    try:
        quota_admin.set_quota(
            current_user,
            form.group_id.data,
            offer_code=form.offer_code.data if kind == "offer" else None,
            category_id=(form.category_id.data or "-") if kind == "category" else None,
            max_active=form.max_active.data if kind != "budget" else None,
            monthly_budget=form.monthly_budget.data if kind == "budget" else None,
            currency=form.currency.data if kind == "budget" else None,
        )
    except ValidationFailed as error:
        apply_field_errors(form, error)
        return _render(form, 422)
    flash(_("Quota saved."), "success")
    return redirect(url_for(".index"))


@bp.route("/quotas/<int:quota_id>/delete", methods=["POST"])
@login_required
def delete(quota_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            quota_admin.delete_quota(current_user, quota_id)
        except NotFound as error:
            flash(error.message, "error")
        else:
            flash(_("Quota removed."), "success")
    return redirect(url_for(".index"))
