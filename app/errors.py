"""Domain errors raised by services, and the one place they become responses."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .inputs import NUL_MESSAGE, nul_input

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"


class NotAllowed(DomainError):
    status = 403
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class InvalidTransition(DomainError):
    status = 409
    title = "Invalid transition"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({key: value for key, value in extra.items() if value})
    body["instance"] = request.path
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="offerdesk"'
    return resp


def refuse_nul_input():
    """Before any view: NUL in the path, the query string, a form field or a header is answered
    400 (problem+json for the API, the error page otherwise) before it can reach a query."""
    found = nul_input(
        request.path,
        {
            "query parameter": request.args.items(multi=True),
            "form field": request.form.items(multi=True),
            "header": request.headers.items(),
        },
    )
    if found is None:
        return None
    kind, name = found
    where = "The address" if kind == "path" else f"The {kind} “{name}”"
    message = f"{where} holds a NUL character (\\0), which is not accepted."
    if wants_problem_json():
        return problem(
            400, "Bad request", message, errors={name if kind != "path" else "path": [NUL_MESSAGE]}
        )
    return render_error_page(400, f"{message} Remove it and try again.")


def register_error_handlers(app: Flask) -> None:
    app.before_request(refuse_nul_input)

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        db.session.rollback()
        if wants_problem_json():
            return problem(error.status, error.title, error.message, errors=error.fields)
        if error.status in (403, 404, 401):
            return render_error_page(error.status, error.message)
        flash(error.message, "error")
        return redirect(request.referrer or "/")

    @app.errorhandler(StaleDataError)
    def handle_stale_write(error: StaleDataError):
        """Two writers read the same version and the other one committed first."""
        log.info("Stale write on %s %s: %s", request.method, request.path, error)
        return handle_domain_error(
            Conflict(
                "Someone else changed this while you were working on it, so nothing of yours "
                "was saved. Reload to see their change, then try again."
            )
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if wants_problem_json():
            return problem(error.code or 500, error.name, error.description or error.name)
        return render_error_page(error.code or 500, error.description)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_problem_json():
            return problem(500, "Internal server error", "Something went wrong on our side.")
        return render_error_page(500, "Something went wrong on our side.")


def render_error_page(status: int, message: str | None):
    titles = {
        400: "Bad request",
        401: "Please log in",
        403: "Not allowed",
        404: "Not found",
        500: "Server error",
    }
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=titles.get(status, "Error"),
            message=message,
        ),
        status,
    )
