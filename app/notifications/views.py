from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ConfirmForm
from ..accounts.models import Role
from ..i18n import _, ngettext
from ..web import is_safe_next, paginate, roles_required
from . import services

bp = Blueprint("notifications", __name__)


@bp.route("/inbox")
@login_required
def inbox():
    unread_only = request.args.get("unread") == "1"
    return render_template(
        "notifications/inbox.html",
        pagination=paginate(services.inbox_query(current_user, unread_only=unread_only)),
        unread_only=unread_only,
        confirm_form=ConfirmForm(),
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
    if ConfirmForm().validate_on_submit():
        count = services.mark_all_read(current_user)
        flash(
            ngettext(
                "%(num)s notification marked read.", "%(num)s notifications marked read.", count
            ),
            "success",
        )
    return redirect(url_for("notifications.inbox"))


@bp.route("/admin/outbox")
@roles_required(Role.ADMIN)
def outbox():
    return render_template(
        "notifications/outbox.html",
        pagination=paginate(services.outbox_query(pending_only=request.args.get("pending") == "1")),
        mail_enabled=services.mail_enabled(),
        confirm_form=ConfirmForm(),
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
