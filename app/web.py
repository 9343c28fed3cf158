"""Small helpers shared by HTML views: pagination, safe redirects, role guards, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, request
from flask_login import current_user, login_required

from .errors import ValidationFailed
from .extensions import db


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths are followed after log-in."""
    if not target:
        return False
    target = target.strip()
    if "\\" in target or any(ord(char) < 32 for char in target):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
    )


def roles_required(*roles: str) -> Callable:
    """Route-level guard; services still check permission on the object itself."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403, "Your role does not give access to this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def paginate(query: sa.Select, per_page: int | None = None):
    return db.paginate(
        query,
        page=page_number(),
        per_page=per_page or current_app.config["ITEMS_PER_PAGE"],
        max_per_page=200,
        error_out=False,
    )


def apply_field_errors(form, error: ValidationFailed) -> None:
    """Show a service's field errors next to the form's fields; the rest as a flash."""
    unplaced = []
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            unplaced.extend(messages)
    flash(" ".join([error.message, *unplaced]), "error")


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_csv_safe(value) for value in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_safe(value):
    """Neutralise cells a spreadsheet would run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def page_url(page: int) -> str:
    """The current page's URL with another page number, keeping every filter."""
    from flask import url_for

    # Leading underscores are url_for's own options (_external, _scheme): never take them from the query.
    args = {key: value for key, value in request.args.items() if not key.startswith("_")}
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)
