"""Managing the category tree."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.forms import ConfirmForm
from ...errors import ValidationFailed
from ...i18n import _
from ...web import apply_field_errors, roles_required
from .. import forms, pages
from ..services import categories as category_services
from .blueprint import MANAGER, bp, form_int


def _parent_choices(tree, exclude_id: int | None = None) -> list[tuple[str, str]]:
    choices, skip_depth = [("", "— top level —")], None
    for category, depth in tree:
        if skip_depth is not None and depth > skip_depth:
            continue
        skip_depth = None
        if category.id == exclude_id:
            skip_depth = depth  # neither itself nor its subcategories
            continue
        choices.append((str(category.id), "— " * depth + category.name))
    return choices


def _parent_id(value: str | None) -> int | None:
    if not value:
        return None
    return form_int(value, -1)  # an unknown id is refused by the service


@bp.route("/manage/categories", methods=["GET", "POST"])
@roles_required(MANAGER)
def categories():
    page = pages.categories_page()
    form = forms.CategoryForm()
    form.parent_id.choices = _parent_choices(page["tree"])
    status = 200
    if form.validate_on_submit():
        try:
            created = category_services.save_category(
                current_user,
                name=form.name.data or "",
                parent_id=_parent_id(form.parent_id.data),
                description=form.description.data or "",
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
            status = 422
        else:
            flash(_("Category “%(name)s” created.", name=created.name), "success")
            return redirect(url_for(".categories"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "catalog/categories.html", form=form, confirm_form=ConfirmForm(formdata=None), **page
    ), status


@bp.route("/manage/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required(MANAGER)
def edit_category(category_id: int):
    category = category_services.get_category(category_id)
    if request.method == "GET":
        form = forms.CategoryForm(
            formdata=None,
            data={
                "name": category.name,
                "parent_id": str(category.parent_id or ""),
                "description": category.description,
            },
        )
    else:
        form = forms.CategoryForm()
    form.parent_id.choices = _parent_choices(
        category_services.category_tree(), exclude_id=category.id
    )
    status = 200
    if form.validate_on_submit():
        try:
            category_services.save_category(
                current_user,
                name=form.name.data or "",
                parent_id=_parent_id(form.parent_id.data),
                description=form.description.data or "",
                category_id=category.id,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
            status = 422
        else:
            flash(_("Category “%(strip)s” saved.", strip=form.name.data.strip()), "success")
            return redirect(url_for(".categories"))
    elif request.method == "POST":
        status = 422
    return render_template("catalog/category_form.html", category=category, form=form), status


@bp.route("/manage/categories/<int:category_id>/move", methods=["POST"])
@roles_required(MANAGER)
def move_category(category_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            category_services.move_category(
                current_user, category_id, request.form.get("direction", "")
            )
        except ValidationFailed as error:
            flash(error.message, "error")
    return redirect(url_for(".categories"))


@bp.route("/manage/categories/<int:category_id>/archive", methods=["POST"])
@roles_required(MANAGER)
def archive_category(category_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            archived = category_services.archive_category(current_user, category_id)
        except ValidationFailed as error:
            flash(" ".join([error.message, *sum(error.fields.values(), [])]), "error")
        else:
            flash(_("Category “%(name)s” archived.", name=archived.name), "success")
    return redirect(url_for(".categories"))
