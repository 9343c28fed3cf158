"""Catalog as code in the browser: download the catalog file, check a file (a dry run that
lists every field, revision, transition and notification) and import it exactly as checked."""

from __future__ import annotations

from flask import Response, flash, render_template, request
from flask_login import current_user

from ...errors import ValidationFailed
from ...i18n import _
from ...web import roles_required
from .. import exchange, forms
from .blueprint import MANAGER, bp


@bp.route("/manage/catalog.yaml")
@roles_required(MANAGER)
def catalog_file():
    return Response(
        exchange.dump_yaml(exchange.export_catalog(current_user)),
        mimetype="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="catalog.yaml"'},
    )


@bp.route("/manage/import", methods=["GET", "POST"])
@roles_required(MANAGER)
def catalog_import():
    form = forms.CatalogImportForm()
    if request.method == "GET":
        return render_template("catalog/import.html", form=form, report=None, text="")
    if not form.validate_on_submit():
        return render_template("catalog/import.html", form=form, report=None, text=""), 400
    text = form.text()
    form.document.data = text
    dry_run = request.form.get("op") != "import"
    try:
        report = exchange.import_text(
            current_user, text, dry_run=dry_run, expected=None if dry_run else form.expected.data
        )
    except ValidationFailed as error:
        return render_template(
            "catalog/import.html", form=form, report=None, text=text, refusal=error
        ), 422
    if not dry_run:
        flash(_("The catalog file was imported as checked."), "success")
    return render_template("catalog/import.html", form=form, report=report, text=text)
