"""Choice lists: the pages where catalog managers keep them, and the search an order form
calls as a consumer types into a field taking a long list."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...accounts.forms import ConfirmForm
from ...errors import Conflict, ValidationFailed
from ...i18n import _
from ...web import apply_field_errors, roles_required
from .. import forms
from ..services import choice_lists
from .blueprint import MANAGER, bp


@bp.route("/choice-lists/<name>/search")
@login_required
def choice_list_search(name: str):
    """Matching entries as JSON: {"entries": [{"value", "label"}], "more": bool}."""
    found, more = choice_lists.search_entries(name, request.args.get("q", ""))
    return jsonify(
        {
            "entries": [
                {"value": entry.value, "label": entry.label or entry.value} for entry in found
            ],
            "more": more,
        }
    )


@bp.route("/manage/choice-lists")
@roles_required(MANAGER)
def choice_lists_page():
    return render_template("catalog/choice_lists.html", lists=choice_lists.all_choice_lists())


def _entries_text(choice_list) -> str:
    return "\n".join(
        f"{entry.value} | {entry.label}" if entry.label else entry.value
        for entry in choice_list.entries
    )


@bp.route("/manage/choice-lists/new", methods=["GET", "POST"])
@bp.route("/manage/choice-lists/<name>", methods=["GET", "POST"])
@roles_required(MANAGER)
def edit_choice_list(name: str | None = None):
    existing = choice_lists.get_choice_list(name) if name is not None else None
    data = (
        {
            "name": existing.name,
            "label": existing.label,
            "description": existing.description,
            "entries": _entries_text(existing),
        }
        if existing is not None
        else None
    )
    form = forms.ChoiceListForm(data=data)
    status = 200
    if form.validate_on_submit():
        try:
            saved = choice_lists.save_choice_list(
                current_user,
                {
                    "name": form.name.data,
                    "label": form.label.data,
                    "description": form.description.data,
                    "entries": form.entries.data or "",
                },
                name=name,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
            status = 422
        else:
            flash(_("Choice list “%(name)s” saved.", name=saved.label), "success")
            return redirect(url_for(".choice_lists_page"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "catalog/choice_list_form.html",
        form=form,
        choice_list=existing,
        used_by=choice_lists.offers_using(existing.name) if existing else [],
        confirm_form=ConfirmForm(formdata=None),
    ), status


@bp.route("/manage/choice-lists/<name>/delete", methods=["POST"])
@roles_required(MANAGER)
def delete_choice_list(name: str):
    if ConfirmForm().validate_on_submit():
        try:
            choice_lists.delete_choice_list(current_user, name)
        except Conflict as error:
            flash(error.message, "error")
            return redirect(url_for(".edit_choice_list", name=name))
        flash(_("Choice list deleted."), "success")
    return redirect(url_for(".choice_lists_page"))
