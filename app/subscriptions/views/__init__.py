"""HTML pages of the Consume stream: compare, agree and subscribe, the subscription and contract
pages, changes and terminations, my subscriptions (the fulfillment queue is queue.py). Each route parses
its input, calls one service (the same as the API) or one page builder of pages.py, and renders
or redirects."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...accounts.models import Role
from ...catalog.models import BillingPeriod, ServiceOffer
from ...errors import Conflict, InvalidTransition, ValidationFailed
from ...i18n import _, _l, format_day, format_number
from ...labels import label
from ...web import (
    apply_field_errors,
    arg_id,
    csv_response,
    page_number,
    roles_required,
)
from .. import pages
from ..forms import (
    OPTION_PREFIX,
    ConfirmForm,
    LeaseExtensionForm,
    TerminateForm,
    is_form_key,
    modify_form_for,
    new_idempotency_key,
    order_form_for,
)
from ..models import Subscription
from ..services import comparison, contracts, drafts, orders, selection, tracking

bp = Blueprint("subscriptions", __name__)

STATUS_TONES = {
    "active": "ok",
    "done": "ok",
    "completed": "ok",
    "failed": "danger",
    "terminated": "muted",
    "ended": "muted",
    "superseded": "muted",
    "waiting": "muted",
}


def billing_label(value: str) -> str:
    try:
        return BillingPeriod(value).label
    except ValueError:
        return value or ""


ORDER_KINDS = {
    "new": _l("Order"),
    "modify": _l("Change"),
    "terminate": _l("Termination"),
    "extend_lease": _l("Lease extension"),
}


def option_value(value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format_number(value)
    return "" if value is None else str(value)


@bp.app_context_processor
def quota_helpers():
    """quota_left(offer): the offer page's lines on what the user's groups have left."""
    return {"quota_left": lambda offer: pages.quota_left(current_user, offer)}


@bp.context_processor
def helpers():
    """Template helpers for this blueprint's pages. Catalog URLs follow the house conventions
    (/catalog/, /catalog/offers/<id>), whichever blueprint serves them."""
    return {
        "billing_label": billing_label,
        "option_value": option_value,
        "tone": lambda status: STATUS_TONES.get(status or "", "warn"),
        "order_kind": lambda order_type: str(ORDER_KINDS.get(order_type, order_type)),
        "catalog_href": "/catalog/",
        "relation_labels": {
            "new_revision": _("its new revision"),
            "replacement": _("the replacement"),
            "upgrade": _("upgrade"),
            "downgrade": _("downgrade"),
            "same_product": _("same product"),
        },
        "offer_href": lambda offer_id: f"/catalog/offers/{offer_id}",
    }


def _place_errors(form, error: ValidationFailed) -> None:
    """Field errors next to their fields (options.<key> → the option's field); errors about hidden
    inputs (the idempotency key, the target offer) go to the flash."""
    hidden = {name for name, field in form._fields.items() if field.type == "HiddenField"}
    fields = {}
    for key, messages in error.fields.items():
        name = form.field_name_for(key) if hasattr(form, "field_name_for") else key
        fields[f"_{name}" if name in hidden else name] = messages
    apply_field_errors(form, ValidationFailed(error.message, fields=fields))
    if "idempotency_key" in error.fields:  # missing or mangled: the next submission gets a new one
        form.idempotency_key.data = new_idempotency_key()


# --- compare ---------------------------------------------------------------------------------


bp.add_app_template_global(comparison.MAX_COMPARED, "max_compared")


@bp.route("/compare")
@login_required
def compare():
    requested = request.args.getlist("ids")
    added = request.args.get("add", "").strip()
    if added:
        return redirect(url_for(".compare", ids=comparison.ids_with(requested, added)))
    return render_template(
        "subscriptions/compare.html", **comparison.compare(current_user, requested)
    )


# --- agree and subscribe ---------------------------------------------------------------------


def _render_not_orderable(page: dict, status: int):
    return (
        render_template(
            "subscriptions/not_orderable.html",
            offer=page["offer"],
            reason=page["refusal"],
            replacement=page["replacement"],
        ),
        status,
    )


@bp.route("/subscriptions/new", methods=["GET", "POST"])
@roles_required(Role.CONSUMER)
def new():
    offer_id = arg_id("offer")
    if offer_id is None:
        abort(404, _("Choose an offer in the catalog to order it."))
    key = request.args.get("form", "")
    draft_id, item_id = arg_id("draft"), arg_id("item")
    if draft_id is not None:  # someone else's draft or item: not found before anything else
        drafts.draft_for(current_user, draft_id)
    item = cart_views.item_being_edited(item_id, offer_id)
    page = pages.order_page(current_user, offer_id, key if is_form_key(key) else "")
    if page["refusal"]:
        return _render_not_orderable(page, 409 if request.method == "POST" else 200)
    page["stale"], page["cart_item"] = [], item
    page["draft"] = (
        drafts.draft_on(current_user, draft_id, page["offer"]) if draft_id is not None else None
    )
    if request.method == "GET" and not is_form_key(key):
        # a form opened anew gets its key in its address, so the same form shown again from
        # history (Back re-requests it: pages are no-store) posts the same key
        return redirect(
            url_for(
                ".new", offer=offer_id, form=new_idempotency_key(), draft=draft_id, item=item_id
            )
        )
    form = _order_form(page, key)
    status = 200
    if form.validate_on_submit():
        if "save_draft" in request.form:
            return _save_draft(form, page)
        if "add_to_cart" in request.form or item is not None:
            response = cart_views.to_cart(form, page)
            if response is not None:
                return response
            return _render_order_form(form, page, 422)
        response, status = _place_order(form, page)
        if response is not None:
            return response, status
    elif request.method == "POST":
        flash(_("The form expired; please submit it again."), "error")
        status = 400
    return _render_order_form(form, page, status)


def _render_order_form(form, page: dict, status: int):
    # the price summary of the form as it stands (order-options.js keeps it up to date)
    page["breakdown"] = selection.priced(
        page["offer"], selection.tentative_options(page["offer"], form.options_data())
    )
    return render_template("subscriptions/new.html", form=form, **page), status


def _order_form(page: dict, key: str):
    """The order form; opened from a draft (GET), filled with the draft's values that still
    apply, `page["stale"]` listing those that no longer do; opened on a cart item, with its."""
    draft, data = page["draft"], {}
    if page["cart_item"] is not None and request.method == "GET":
        item = page["cart_item"]
        data = {f"{OPTION_PREFIX}{name}": value for name, value in (item.options or {}).items()}
        data |= {"group_id": str(item.group_id or ""), "accept_terms": item.accept_terms}
        if item.lease_ends_on is not None:
            data["lease_ends_on"] = item.lease_ends_on.isoformat()
    if draft is not None and request.method == "GET":
        kept, page["stale"] = drafts.resumed(draft, page["offer"])
        data = {f"{OPTION_PREFIX}{name}": value for name, value in kept.items()}
        if draft.values.get("group_id"):
            data["group_id"] = draft.values["group_id"]
        if draft.values.get("lease_ends_on"):
            data["lease_ends_on"] = draft.values["lease_ends_on"]
    form = order_form_for(
        page["offer"],
        page["groups"],
        key=key,
        beneficiaries=page["beneficiaries"],
        sourced=page["sourced"],
        data=data,
    )
    if draft is not None and request.method == "GET" and draft.values.get("requested_for"):
        form.requested_for.data = draft.values["requested_for"]
    return form


def _save_draft(form, page: dict):
    draft = drafts.save(
        current_user,
        page["offer"],
        form.options_data(),
        group_id=form.group_id.data if page["show_groups"] else None,
        requested_for=form.requested_for.data if page["beneficiaries"] else None,
        draft_id=page["draft"].id if page["draft"] is not None else None,
        lease_ends_on=form.lease_ends_on.data,
    )
    flash(
        _("Saved a draft of your order of %(name)s. Resume it from Drafts.", name=draft.offer.name),
        "success",
    )
    return redirect(url_for(".mine") + "#drafts")


@bp.route("/subscriptions/drafts/<int:draft_id>/delete", methods=["POST"])
@login_required
def delete_draft(draft_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    drafts.discard(current_user, draft_id)
    flash(_("Draft deleted."), "success")
    return redirect(url_for(".mine") + "#drafts")


def _place_order(form, page: dict):
    """(response, status): the subscription's page once ordered, the refusal page, or no
    response when the form has errors to show."""
    offer = page["offer"]
    people = pages.people_chosen(current_user, form.requested_for.data or [])
    if not page["beneficiaries"]:
        people = [current_user.id]
    mine = people == [current_user.id]
    try:
        placed = orders.subscribe_for(
            current_user,
            offer.id,
            people,
            options=form.options_data(),
            accept_terms=form.accept_terms.data is True,
            idempotency_key=form.idempotency_key.data,
            group_id=form.group_id.data if page["show_groups"] and mine else None,
            lease_ends_on=form.lease_ends_on.data,
        )
    except ValidationFailed as error:
        _place_errors(form, error)
        return None, 422
    except InvalidTransition as error:
        return _render_not_orderable(pages.refusal_page(current_user, offer, error.message), 409)
    except Conflict as error:
        flash(error.message, "error")
        form.idempotency_key.data = new_idempotency_key()
        return None, 409
    (order, created), owners = placed[0], [o.subscription.owner for o, _created in placed]
    if page.get("draft") is not None:  # ordered from a resumed draft: the draft is done
        drafts.discard(current_user, page["draft"].id)
    if not created:
        flash(_("You had already placed this order; here it is."), "info")
    elif mine:
        flash(
            _(
                "Ordered %(name)s. You agreed to its terms; your contract is on this page.",
                name=offer.name,
            ),
            "success",
        )
    else:
        names = ", ".join(owner.name for owner in owners if owner is not None)
        flash(_("Ordered %(name)s for %(people)s.", name=offer.name, people=names), "success")
    if len(placed) > 1:
        return redirect(url_for(".mine")), 302
    return redirect(url_for(".detail", subscription_id=order.subscription_id)), 302


# --- one subscription ------------------------------------------------------------------------


@bp.route("/subscriptions/<int:subscription_id>")
@login_required
def detail(subscription_id: int):
    return render_template(
        "subscriptions/detail.html",
        confirm_form=ConfirmForm(),
        lease_form=LeaseExtensionForm(),
        **pages.subscription_page(current_user, subscription_id),
    )


@bp.route("/subscriptions/<int:subscription_id>/progress.json")
@login_required
def progress_json(subscription_id: int):
    """What the subscription page polls while its steps run."""
    return jsonify(tracking.progress_document(current_user, subscription_id))


@bp.route("/subscriptions/<int:subscription_id>/modify", methods=["GET", "POST"])
@roles_required(Role.CONSUMER)
def modify(subscription_id: int):
    posted = request.method == "POST"
    page = pages.modify_page(
        current_user,
        subscription_id,
        wanted=request.form.get("target_offer_id") if posted else request.args.get("target"),
        posted=posted,
        matching=request.args.get("find", ""),
    )
    subscription = page["subscription"]
    if not page["changeable"]:
        flash(
            _(
                "This subscription cannot be changed now (it is %(status)s).",
                status=label(subscription.status),
            ),
            "info",
        )
        return redirect(url_for(".detail", subscription_id=subscription.id))
    if page["refusal"]:
        flash(page["refusal"], "error")
        if posted:  # never apply a change meant for another offer
            return redirect(url_for(".modify", subscription_id=subscription.id))
    form = modify_form_for(page["target"], subscription.options)
    status = 200
    if form.validate_on_submit():
        response = _order_change(form, subscription, page["target"])
        if response is not None:
            return response
        status = 422
    elif posted:
        flash(_("The form expired; please submit it again."), "error")
        status = 400
    return render_template("subscriptions/modify.html", form=form, **page), status


def _order_change(form, subscription: Subscription, target: ServiceOffer):
    """Order the change and redirect; None when the form has errors to show."""
    try:
        order, created = orders.modify(
            current_user,
            subscription.id,
            options=form.options_data(),
            target_offer_id=target.id if target.id != subscription.offer_id else None,
            accept_terms=form.accept_terms.data is True,
            idempotency_key=form.idempotency_key.data,
        )
    except ValidationFailed as error:
        _place_errors(form, error)
        return None
    except (InvalidTransition, Conflict) as error:
        flash(error.message, "error")
        return redirect(url_for(".detail", subscription_id=subscription.id))
    if created:
        flash(
            _("Change ordered. The amended contract takes effect when it is fulfilled."), "success"
        )
    else:
        flash(_("You had already ordered this change; here it is."), "info")
    return redirect(url_for(".detail", subscription_id=order.subscription_id))


@bp.route("/subscriptions/<int:subscription_id>/terminate", methods=["GET", "POST"])
@roles_required(Role.CONSUMER)
def terminate(subscription_id: int):
    page = pages.terminate_page(current_user, subscription_id)
    subscription = page["subscription"]
    form = TerminateForm()
    status = 200
    if form.validate_on_submit():
        try:
            order, created = orders.terminate(
                current_user,
                subscription.id,
                at=(form.at.data or "").strip() if form.end_at.data else None,
                idempotency_key=form.idempotency_key.data,
            )
        except ValidationFailed as error:
            _place_errors(form, error)
            status = 422
        except (InvalidTransition, Conflict) as error:
            flash(error.message, "error")
            return redirect(url_for(".detail", subscription_id=subscription.id))
        else:
            if not created:
                flash(_("You had already asked to end this subscription; here it is."), "info")
            elif order.scheduled_for is not None:
                flash(
                    _("The subscription will end on %(day)s.", day=format_day(order.scheduled_for)),
                    "success",
                )
            else:
                flash(
                    _("Termination ordered: the subscription ends once it is decommissioned."),
                    "success",
                )
            return redirect(url_for(".detail", subscription_id=subscription.id))
    elif request.method == "POST":
        status = 422 if form.errors.keys() - {"csrf_token"} else 400
        if "csrf_token" in form.errors:
            flash(_("The form expired; please submit it again."), "error")
    return render_template("subscriptions/terminate.html", form=form, **page), status


@bp.route("/subscriptions/<int:subscription_id>/cancel-termination", methods=["POST"])
@roles_required(Role.CONSUMER)
def cancel_termination(subscription_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            orders.cancel_scheduled_termination(current_user, subscription_id)
        except (InvalidTransition, Conflict) as error:
            flash(error.message, "error")
        else:
            flash(_("The scheduled end is cancelled; the subscription keeps running."), "success")
    return redirect(url_for(".detail", subscription_id=subscription_id))


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    agreement = contracts.contract_for(current_user, contract_id)
    return render_template(
        "subscriptions/contract.html",
        contract=agreement,
        snapshot=agreement.snapshot or {},
        subscription=agreement.subscription,
    )


# --- my subscriptions ------------------------------------------------------------------------


def _filters() -> dict:
    return {
        "status": request.args.get("status", "").strip(),
        "offer_code": request.args.get("offer", "").strip(),
        "group_id": arg_id("group"),
    }


@bp.route("/subscriptions")
@login_required
def mine():
    return render_template(
        "subscriptions/mine.html",
        filtered=any(request.args.get(name) for name in ("status", "offer", "group")),
        confirm_form=ConfirmForm(),
        **pages.my_subscriptions_page(current_user, **_filters(), page=page_number()),
    )


@bp.route("/subscriptions/export.csv")
@login_required
def export():
    rows = pages.export_rows(current_user, **_filters())
    return csv_response(
        "subscriptions.csv",
        [
            "id",
            "offer_code",
            "offer",
            "group",
            "status",
            "ordered_at",
            "active_since",
            "ends_on",
            "terminated_at",
            "contract_version",
            "current_order",
            "progress",
        ],
        (
            [
                row["subscription"].id,
                row["subscription"].offer_code,
                row["subscription"].offer.name,
                row["subscription"].group.name,
                row["subscription"].status,
                _iso(row["subscription"].created_at),
                _iso(row["subscription"].active_since),
                _iso(row["subscription"].terminates_on),
                _iso(row["subscription"].terminated_at),
                row["contract"].version if row["contract"] else "",
                f"{row['order'].order_type} #{row['order'].id} ({row['order'].status})"
                if row["order"]
                else "",
                f"{row['progress']['done']}/{row['progress']['total']}" if row["order"] else "",
            ]
            for row in rows
        ),
    )


def _iso(value) -> str:
    return value.isoformat(timespec="minutes") if value else ""


from . import cart as cart_views  # noqa: E402  (the Cart page's routes)
from . import compare_links, leases, queue  # noqa: E402,F401  (routes and list-page helpers)
