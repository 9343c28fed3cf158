"""Small helpers shared by HTML views: pagination, safe redirects, role guards, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, request, url_for
from flask_login import current_user, login_required

from .errors import ValidationFailed
from .extensions import db
from .i18n import _
from .inputs import whole_number


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
                abort(403, _("Your role does not give access to this page."))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def page_number() -> int:
    return whole_number(request.args.get("page", "")) or 1


def arg_id(name: str) -> int | None:
    """A query argument naming a row by id; anything else (text, "²", past an id column's
    range) is None, so a filter on it finds nothing instead of failing."""
    return whole_number(request.args.get(name, ""))


def paginate(query: sa.Select, per_page: int | None = None):
    return db.paginate(
        query,
        page=page_number(),
        per_page=per_page or current_app.config["ITEMS_PER_PAGE"],
        max_per_page=200,
        error_out=False,
    )


def accept_any_id(field) -> None:
    """Let a checkbox list take any id posted, not only those the page listed (it lists a
    searched few); the service refuses ids that name no row, and text or out-of-range numbers
    fail the form here."""
    posted = [whole_number(value) for value in request.form.getlist(field.name)]
    field.choices = [(number, "") for number in posted if number is not None]


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


def query_args(*taken: str) -> dict[str, str]:
    """The query string, safe to pass to url_for beside the names in `taken`: url_for's own
    options (_external, _scheme, …), `endpoint` and those names are never taken from a visitor."""
    return {
        key: value
        for key, value in request.args.items()
        if not key.startswith("_") and key != "endpoint" and key not in taken
    }


def page_url(page: int) -> str:
    """The current page's URL with another page number, keeping every filter."""
    from flask import url_for

    view_args = request.view_args or {}
    return url_for(request.endpoint, **view_args, **query_args(*view_args, "page"), page=page)


def current_url(**changes) -> str:
    """The current page's URL with some query parameters changed (None or "" removes one),
    keeping the others (and the page number)."""
    from flask import url_for

    view_args = request.view_args or {}
    args = query_args(*view_args, *changes)
    args.update({key: value for key, value in changes.items() if value not in (None, "")})
    return url_for(request.endpoint, **view_args, **args)


def layout_url(endpoint: str, **values) -> str:
    """url_for for the layout's links (navigation, stylesheet, scripts: a dozen a page), which
    depend on nothing but the endpoint, its arguments and the script root: built once per
    application and script root, a dictionary look-up afterwards."""
    kept = current_app.extensions.setdefault("layout_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = kept.get(key)
    if url is None:
        url = kept[key] = url_for(endpoint, **values)
    return url
