from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ConfirmForm
from ..accounts.models import Role
from ..errors import ValidationFailed
from ..i18n import _, ngettext
from ..web import apply_field_errors, is_safe_next, paginate, roles_required
from . import services
from .forms import PreferencesForm
from .services import preferences

bp = Blueprint("notifications", __name__)


@bp.route("/inbox")
@login_required
def inbox():
    unread_only = request.args.get("unread") == "1"
    kind = services.kind_or_none(request.args.get("kind"))
    context = {"unread_only": unread_only, "kind": kind, "confirm_form": ConfirmForm()}
    if kind is None:
        context["groups"] = services.grouped(current_user, unread_only=unread_only)
    else:
        query = services.inbox_query(current_user, unread_only=unread_only, kind=kind)
        context["pagination"] = paginate(query)
    return render_template(
        "notifications/inbox.html", kind_labels=preferences.KIND_LABELS, **context
    )


@bp.route("/inbox/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    if ConfirmForm().validate_on_submit():
        notification = services.mark_read(current_user, notification_id)
        if request.form.get("follow") == "1" and is_safe_next(notification.link):
            return redirect(notification.link)
    return redirect(url_for("notifications.inbox"))


@bp.route("/inbox/read-all", methods=["POST"])
@login_required
def mark_all_read():
    named = request.form.get("kind", "")
    kind = services.kind_or_none(named)
    if named and kind is None:
        flash(_("No such kind of notification: nothing was marked read."), "error")
    elif ConfirmForm().validate_on_submit():
        count = services.mark_all_read(current_user, kind)
        flash(
            ngettext(
                "%(num)d notification marked read.", "%(num)d notifications marked read.", count
            ),
            "success",
        )
    return redirect(url_for("notifications.inbox"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences_page():
    return _preferences_form(
        save=preferences.save_preferences,
        chosen=lambda: {
            kind: row["channel"] for kind, row in preferences.preferences_of(current_user).items()
        },
        saved=_("Your notification preferences are saved."),
        admin_page=False,
    )


@bp.route("/admin/notifications", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def defaults_page():
    return _preferences_form(
        save=preferences.save_defaults,
        chosen=preferences.defaults,
        saved=_("The default notification channels are saved."),
        admin_page=True,
    )


def _preferences_form(*, save, chosen, saved: str, admin_page: bool):
    """A user's own channels and the admin's defaults are one form: a channel per kind."""
    form = PreferencesForm()
    if form.validate_on_submit():
        try:
            save(current_user, form.choices())
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(saved, "success")
            return redirect(request.path)
    elif request.method == "GET":
        form.fill(chosen())
    return render_template(
        "notifications/preferences.html",
        form=form,
        defaults=preferences.defaults(),
        channel_labels=preferences.CHANNEL_LABELS,
        admin_page=admin_page,
    ), (422 if form.errors else 200)


@bp.route("/admin/outbox")
@roles_required(Role.ADMIN)
def outbox():
    return render_template(
        "notifications/outbox.html",
        pagination=paginate(
            services.outbox_query(current_user, pending_only=request.args.get("pending") == "1")
        ),
        mail_enabled=services.mail_enabled(),
        status_of=services.email_status,
        confirm_form=ConfirmForm(),
    )


@bp.route("/admin/outbox/<int:email_id>")
@roles_required(Role.ADMIN)
def outbox_email(email_id: int):
    email = services.get_email(current_user, email_id)
    return render_template(
        "notifications/outbox_email.html", email=email, status=services.email_status(email)
    )


@bp.route("/admin/outbox/send", methods=["POST"])
@roles_required(Role.ADMIN)
def send_outbox():
    if ConfirmForm().validate_on_submit():
        if not services.mail_enabled():
            flash(
                _("Mail is not configured (MAIL_SERVER is empty): e-mails stay in the outbox."),
                "warning",
            )
        else:
            sent, failed = services.send_outbox()
            flash(
                _("Sent %(sent)s, failed %(failed)s.", sent=sent, failed=failed),
                "success" if not failed else "warning",
            )
    return redirect(url_for("notifications.outbox"))
