"""Domain errors raised by services, and the one place they become responses."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .i18n import _, _l
from .inputs import NUL_MESSAGE, nul_input

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    title = _l("Bad request")

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        # translated texts (lazy ones too) become plain text here, in the user's language
        message = str(message)
        super().__init__(message)
        self.message = message
        self.fields = {
            name: [str(text) for text in texts] for name, texts in (fields or {}).items()
        }


class ValidationFailed(DomainError):
    status = 422
    title = _l("Validation failed")


class NotAllowed(DomainError):
    status = 403
    title = _l("Not allowed")


class NotFound(DomainError):
    status = 404
    title = _l("Not found")


class InvalidTransition(DomainError):
    status = 409
    title = _l("Invalid transition")


class Conflict(DomainError):
    status = 409
    title = _l("Conflict")


class Unauthorized(DomainError):
    status = 401
    title = _l("Unauthorized")


class RateLimited(DomainError):
    status = 429
    title = _l("Too many requests")


class Unavailable(DomainError):
    """A system the call needs (the file store) did not answer; nothing was saved."""

    status = 503
    title = _l("Service unavailable")


JSON_TYPES = ("application/json", "application/problem+json")


def wants_problem_json() -> bool:
    """The API, and the JSON a page's script asks for (an order form's choice-list search, live
    progress): their errors are problem documents, not the HTML error page."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best in JSON_TYPES


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": str(title), "status": status, "detail": str(detail)}
    body.update({key: value for key, value in extra.items() if value})
    body["instance"] = request.path
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="offerdesk"'
    return resp


NUL_PLACES = {
    "query parameter": _l("query parameter"),
    "form field": _l("form field"),
    "header": _l("header"),
}


# Pages a signed-out visitor may open; anywhere else, sign-in comes before input checks.
SIGNED_OUT_ENDPOINTS = frozenset(
    {"accounts.login", "accounts.oidc_login", "accounts.oidc_callback", "main.healthz", "static"}
)


def refuse_nul_input_on_pages():
    """Before any page: NUL in the request, once the visitor is known. A signed-out visitor is
    sent to sign in first (without a `next`, which would carry the NUL along). The API runs the
    check itself, after the token (app/api/core.py)."""
    if request.blueprint == "api":
        return None
    found = _nul_found()
    if found is None:
        return None
    if (
        not current_user.is_authenticated
        and request.endpoint is not None
        and request.endpoint not in SIGNED_OUT_ENDPOINTS
    ):
        return redirect(url_for("accounts.login"))
    return refuse_nul_input(found)


def _nul_found() -> tuple[str, str] | None:
    return nul_input(
        request.path,
        {
            "query parameter": request.args.items(multi=True),
            "form field": request.form.items(multi=True),
            "header": request.headers.items(),
        },
    )


def refuse_nul_input(found: tuple[str, str] | None = None):
    """NUL in the path, the query string, a form field or a header is answered 400
    (problem+json for the API, the error page otherwise) before it can reach a query."""
    found = found or _nul_found()
    if found is None:
        return None
    kind, name = found
    if kind == "path":
        message = _("The address holds a NUL character (\\0), which is not accepted.")
    else:
        message = _(
            "The %(kind)s “%(name)s” holds a NUL character (\\0), which is not accepted.",
            kind=NUL_PLACES.get(kind, kind),
            name=name,
        )
    if wants_problem_json():
        return problem(
            400,
            _("Bad request"),
            message,
            errors={name if kind != "path" else "path": [str(NUL_MESSAGE)]},
        )
    return render_error_page(400, _("%(message)s Remove it and try again.", message=message))


def register_error_handlers(app: Flask) -> None:
    app.before_request(refuse_nul_input_on_pages)

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        db.session.rollback()
        if wants_problem_json():
            return problem(error.status, error.title, error.message, errors=error.fields)
        if error.status in (403, 404, 401, 503):
            return render_error_page(error.status, error.message)
        flash(error.message, "error")
        return redirect(request.referrer or "/")

    @app.errorhandler(StaleDataError)
    def handle_stale_write(error: StaleDataError):
        """Two writers read the same version and the other one committed first."""
        log.info("Stale write on %s %s: %s", request.method, request.path, error)
        return handle_domain_error(
            Conflict(
                _(
                    "Someone else changed this while you were working on it, so nothing of yours "
                    "was saved. Reload to see their change, then try again."
                )
            )
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if wants_problem_json():
            title, detail = http_texts(error)
            return problem(error.code or 500, title, detail)
        return render_error_page(error.code or 500, http_texts(error)[1])

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_problem_json():
            return problem(500, _("Internal server error"), _("Something went wrong on our side."))
        return render_error_page(500, _("Something went wrong on our side."))


# Werkzeug's own texts, in the user's language; a text given to abort() is translated there.
HTTP_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Unauthorized"), _l("Please log in to see that page.")),
    403: (_l("Forbidden"), _l("You do not have permission to see this page.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that method.")),
    413: (_l("Request too large"), _l("What you sent is too large.")),
    415: (_l("Unsupported media type"), _l("This address does not accept that format.")),
    429: (_l("Too many requests"), _l("Too many requests: wait a moment, then try again.")),
}


def http_texts(error: HTTPException) -> tuple[str, str]:
    """The title and detail of an HTTP error: werkzeug's defaults replaced by ours."""
    title, detail = HTTP_TEXTS.get(error.code or 500, (error.name, error.description))
    described = error.description and error.description != type(error).description
    return str(title), str(error.description if described else detail)


def render_error_page(status: int, message: str | None):
    titles = {
        400: _("Bad request"),
        401: _("Please log in"),
        403: _("Not allowed"),
        404: _("Not found"),
        500: _("Server error"),
        503: _("Service unavailable"),
    }
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=titles.get(status, _("Error")),
            message=message,
        ),
        status,
    )
