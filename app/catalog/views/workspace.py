"""The catalog manager's workspace: every current revision, filtered, and its CSV export."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ...web import arg_id, csv_response, page_number, roles_required
from .. import pages
from .blueprint import MANAGER, bp


def _filters() -> dict:
    status = request.args.get("status", "")
    return {
        "status": status if status in pages.WORKSPACE_STATUSES else "",
        "category_id": arg_id("category"),
        "group_id": -1 if request.args.get("group") == "-1" else arg_id("group"),  # -1: everyone
        "search": request.args.get("q", "")[:200],
    }


@bp.route("/manage/")
@roles_required(MANAGER)
def workspace():
    page = pages.workspace_page(current_user, _filters(), page_number())
    return render_template("catalog/workspace.html", **page)


@bp.route("/manage/export.csv")
@roles_required(MANAGER)
def workspace_export():
    header, rows = pages.workspace_export(current_user, _filters())
    return csv_response("offers.csv", header, rows)
