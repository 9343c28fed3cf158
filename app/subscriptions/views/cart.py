"""The Cart page: items added from the order form (or a resumed draft), edited on the order
form, removed, their terms accepted, and checked out once (the page's hidden idempotency key,
made when it renders, and the cart version it shows); then the page of the new orders."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.models import Role
from ...errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from ...i18n import _, ngettext
from ...inputs import whole_number
from ...web import roles_required
from ..forms import CheckoutForm, ConfirmForm, new_idempotency_key
from ..services import cart, cart_checkout
from . import _place_errors, bp


@bp.app_context_processor
def cart_helpers():
    """cart_count(): the navigation's count of the consumer's cart items (one query, the first
    time a page asks)."""

    def cart_count() -> int:
        if "cart_count" not in g:
            consumer = current_user.is_authenticated and current_user.has_role(Role.CONSUMER)
            g.cart_count = cart.item_count(current_user) if consumer else 0
        return g.cart_count

    return {"cart_count": cart_count}


def _render_cart(form: CheckoutForm, errors: dict | None = None, status: int = 200):
    page = cart.cart_page(current_user)
    form.cart_version.data = str(page["version"])
    form.idempotency_key.data = new_idempotency_key()  # a new one each time the page renders
    return render_template(
        "subscriptions/cart.html",
        form=form,
        confirm_form=ConfirmForm(),
        errors=_by_item(errors or {}),
        **page,
    ), status


def _by_item(fields: dict) -> dict[int, list[str]]:
    """The service's field errors (items.<id>.<field>) by item id; others go to the flash."""
    found: dict[int, list[str]] = {}
    for name, messages in fields.items():
        parts = name.split(".")
        item_id = whole_number(parts[1]) if len(parts) > 1 and parts[0] == "items" else None
        if item_id is not None:
            found.setdefault(item_id, []).extend(messages)
    return found


@bp.route("/cart")
@roles_required(Role.CONSUMER)
def cart_page():
    return _render_cart(CheckoutForm())


@bp.route("/cart/checkout", methods=["POST"])
@roles_required(Role.CONSUMER)
def checkout():
    form = CheckoutForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return redirect(url_for(".cart_page"))
    ticked = set(request.form.getlist("accept"))
    shown = [whole_number(value) for value in request.form.getlist("items")]
    accepted = {item_id: str(item_id) in ticked for item_id in shown if item_id is not None}
    try:
        placed, created = cart_checkout.checkout(
            current_user,
            expected_cart_version=form.cart_version.data,
            idempotency_key=form.idempotency_key.data,
            accepted=accepted,
        )
    except ValidationFailed as error:
        flash(error.message, "error")
        return _render_cart(CheckoutForm(formdata=None), error.fields, 422)
    except (Conflict, InvalidTransition) as error:
        flash(error.message, "error")
        return _render_cart(CheckoutForm(formdata=None), error.fields, 409)
    if created:
        message = ngettext(
            "Ordered %(num)d item. You agreed to its terms.",
            "Ordered %(num)d items. You agreed to their terms.",
            len(placed),
        )
        flash(message, "success")
    else:
        flash(_("You had already checked out this cart; here are its orders."), "info")
    return redirect(url_for(".checkout_done", key=form.idempotency_key.data))


@bp.route("/cart/checkouts/<key>")
@roles_required(Role.CONSUMER)
def checkout_done(key: str):
    done = cart_checkout.checkout_for(current_user, key)
    return render_template(
        "subscriptions/checkout_done.html", checkout=done, orders=cart_checkout.orders_of(done)
    )


@bp.route("/cart/items/<int:item_id>/remove", methods=["POST"])
@roles_required(Role.CONSUMER)
def remove_item(item_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    item = cart.item_for(current_user, item_id)
    name = item.offer.name
    cart.remove_item(current_user, item_id)
    flash(_("Removed %(name)s from your cart.", name=name), "success")
    return redirect(url_for(".cart_page"))


# --- from the order form ---------------------------------------------------------------------


def item_being_edited(item_id: int | None, offer_id: int):
    """The cart item the order form edits (?item=), which must be the user's and of that
    offer."""
    if item_id is None:
        return None
    item = cart.item_for(current_user, item_id)
    if item.offer_id != offer_id:
        raise NotFound(_("No such item in your cart."))
    return item


def to_cart(form, page: dict):
    """The order form's "Add to cart" (or, editing an item, "Save changes"): the response, or
    None with the field errors placed on the form."""
    editing = page.get("cart_item")
    try:
        if editing is not None:
            cart.change_item(
                current_user,
                editing.id,
                options=form.options_data(),
                accept_terms=form.accept_terms.data is True,
                group_id=form.group_id.data if page["show_groups"] else None,
                lease_ends_on=form.lease_ends_on.data,
            )
        else:
            cart.add_item(
                current_user,
                page["offer"].id,
                options=form.options_data(),
                accept_terms=form.accept_terms.data is True,
                group_id=form.group_id.data if page["show_groups"] else None,
                lease_ends_on=form.lease_ends_on.data,
                draft_id=page["draft"].id if page.get("draft") is not None else None,
            )
    except ValidationFailed as error:
        _place_errors(form, error)
        form.idempotency_key.data = form.idempotency_key.data or new_idempotency_key()
        return None
    if editing is not None:
        flash(_("Saved your changes to %(name)s in the cart.", name=page["offer"].name), "success")
    else:
        flash(_("Added %(name)s to your cart.", name=page["offer"].name), "success")
    return redirect(url_for(".cart_page"))
