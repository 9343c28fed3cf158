"""Digital products and their releases."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.models import Role
from ...errors import InvalidTransition, ValidationFailed
from ...i18n import _
from ...labels import label
from ...web import apply_field_errors, roles_required
from .. import forms, pages
from ..services import access
from ..services import products as product_services
from .blueprint import MANAGER, bp

PRODUCT_STAFF = (Role.PRODUCT_MANAGER, MANAGER)


def _release_form(product_id: int, formdata=None) -> forms.ReleaseForm:
    if formdata is None:
        return forms.ReleaseForm(formdata=None, prefix=f"rel{product_id}")
    return forms.ReleaseForm(prefix=f"rel{product_id}")


def _render_products(form=None, release_forms=None, status: int = 200):
    page = pages.products_page(current_user)
    release_forms = release_forms or {}
    for product in page["products"]:
        release_forms.setdefault(product.id, _release_form(product.id))
    return render_template(
        "catalog/products.html",
        form=form or forms.ProductForm(formdata=None),
        release_forms=release_forms,
        **page,
    ), status


@bp.route("/products", methods=["GET", "POST"])
@roles_required(*PRODUCT_STAFF)
def products():
    if request.method == "GET":
        return _render_products()
    form = forms.ProductForm()
    if form.validate_on_submit():
        try:
            product = product_services.save_product(
                current_user, name=form.name.data or "", description=form.description.data or ""
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("Product “%(name)s” created.", name=product.name), "success")
            return redirect(url_for(".products"))
    return _render_products(form=form, status=422)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(*PRODUCT_STAFF)
def edit_product(product_id: int):
    product = product_services.get_product(product_id)
    if request.method == "GET":
        form = forms.ProductForm(
            formdata=None, data={"name": product.name, "description": product.description}
        )
    else:
        form = forms.ProductForm()
    status = 200
    if form.validate_on_submit():
        try:
            product_services.save_product(
                current_user,
                name=form.name.data or "",
                description=form.description.data or "",
                product_id=product.id,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
            status = 422
        else:
            flash(_("Product “%(strip)s” saved.", strip=form.name.data.strip()), "success")
            return redirect(url_for(".products"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "catalog/product_form.html",
        product=product,
        form=form,
        can_edit=access.can_manage_products(current_user),
    ), status


@bp.route("/products/<int:product_id>/releases", methods=["POST"])
@roles_required(*PRODUCT_STAFF)
def new_release(product_id: int):
    product = product_services.get_product(product_id)
    form = _release_form(product.id, formdata=request.form)
    if form.validate_on_submit():
        try:
            release = product_services.create_release(
                current_user,
                product.id,
                version=form.version.data or "",
                planned_date=form.planned_date.data or None,
                notes=form.notes.data or "",
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(
                _(
                    "Release %(name)s %(version)s created.",
                    name=product.name,
                    version=release.version,
                ),
                "success",
            )
            return redirect(url_for(".products") + f"#product-{product.id}")
    return _render_products(release_forms={product.id: form}, status=422)


@bp.route("/releases/<int:release_id>/transition", methods=["POST"])
@roles_required(*PRODUCT_STAFF)
def release_transition(release_id: int):
    form = forms.ReleaseTransitionForm()
    if form.validate_on_submit():
        try:
            release = product_services.transition_release(
                current_user, release_id, form.to.data or ""
            )
        except InvalidTransition as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "Release %(label)s is now %(status)s.",
                    label=release.label,
                    status=label(release.status),
                ),
                "success",
            )
    return redirect(url_for(".products"))
