"""The /api/v1 blueprint: bearer-token auth, problem+json errors, endpoint registry for OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, g, request
from marshmallow import Schema, ValidationError

from ..accounts import services as accounts
from ..accounts.models import User
from ..errors import DomainError, Unauthorized, ValidationFailed, refuse_nul_input
from ..extensions import csrf
from ..i18n import gettext
from ..inputs import MAX_ID, library_message, unstorable_text, whole_number

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@dataclass
class Endpoint:
    rule: str
    method: str
    view: Callable
    summary: str
    tag: str
    body: type[Schema] | Schema | None = None
    response: type[Schema] | Schema | None = None
    status: int = 200
    public: bool = False
    query: dict[str, str] = field(default_factory=dict)
    own_token: bool = False


ENDPOINTS: list[Endpoint] = []


def endpoint(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    body=None,
    response=None,
    status: int = 200,
    public: bool = False,
    query: dict[str, str] | None = None,
    own_token: bool = False,
):
    """Register a JSON route and describe it for the OpenAPI document in one place. With
    `own_token`, the bearer token is the route's own (a fulfillment callback token), checked by
    its service, not a user's API token."""

    def decorator(view: Callable) -> Callable:
        if own_token:
            view.own_token = True  # type: ignore[attr-defined]
        elif not public:
            view.requires_token = True  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])
        ENDPOINTS.append(
            Endpoint(
                rule,
                method,
                view,
                summary,
                tag,
                body,
                response,
                status,
                public or own_token,
                query or {},
                own_token,
            )
        )
        return view

    return decorator


_token_use_job: Callable[[int, datetime], object] | None = None


def register_token_use(job: Callable[[int, datetime], object]) -> None:
    """The job that records a token's last use; app.api.token_use registers itself, so that
    this module (which every domain's API imports) does not import the job engine."""
    global _token_use_job
    _token_use_job = job


def _record_token_use(token_id: int, at: datetime) -> None:
    if _token_use_job is None:
        raise RuntimeError("No token-use job registered: import app.api.token_use.")
    _token_use_job(token_id, at)


@bp.before_request
def authenticate():
    view = request.url_rule and _view_of(request.url_rule.endpoint)
    header = request.headers.get("Authorization", "")
    g.api_user = None
    if view is not None and getattr(view, "own_token", False):
        return refuse_nul_input()  # the route checks its own token
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(gettext("Use 'Authorization: Bearer <token>'."))
        g.api_user = accounts.authenticate_token(token.strip(), on_use=_record_token_use)
    elif view is not None and getattr(view, "requires_token", False):
        raise Unauthorized(gettext("This endpoint needs 'Authorization: Bearer <token>'."))
    return refuse_nul_input()  # after the token: who asks is settled before what they send


def _view_of(endpoint_name: str):
    from flask import current_app

    return current_app.view_functions.get(endpoint_name)


def bearer_token() -> str:
    """The token of an `Authorization: Bearer <token>` header, or ""."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_user() -> User:
    user = g.get("api_user")
    if user is None:
        raise Unauthorized(gettext("This endpoint needs 'Authorization: Bearer <token>'."))
    return user


def json_body() -> Any:
    """The parsed JSON body, or None when it is not JSON. A body nested too deeply to parse,
    or text not every database can store (NUL, lone UTF-16 surrogates), is a 422 naming
    where."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        raise ValidationFailed(
            gettext("The JSON body is nested too deeply."),
            fields={"body": [gettext("Send a flatter document.")]},
        ) from None
    bad = unstorable_text(payload)
    if bad is not None:
        raise ValidationFailed(
            gettext("The request holds text that cannot be stored."),
            fields={
                bad: [gettext("Remove the invalid character (a NUL or a lone UTF-16 surrogate).")]
            },
        )
    return payload


KEY_HEADER = "Idempotency-Key"


@contextmanager
def key_errors_named_as_header() -> Iterator[None]:
    """The idempotency key travels in a header, so its errors are reported under the header's
    name."""
    try:
        yield
    except DomainError as error:
        if "idempotency_key" in error.fields:
            error.fields[KEY_HEADER] = error.fields.pop("idempotency_key")
        raise


def int_arg(
    name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """A whole-number query argument from `minimum` to `maximum`; absent or empty: `default`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = whole_number(raw, minimum=minimum, maximum=maximum)
    if value is None:
        bounds = f"{minimum}–{maximum}"
        raise ValidationFailed(
            gettext("'%(name)s' must be a whole number from %(bounds)s.", name=name, bounds=bounds),
            fields={name: [gettext("Use %(bounds)s.", bounds=bounds)]},
        )
    return value


def load(schema: Schema, *, partial: bool = False) -> dict:
    """Parse the JSON body with a schema; any problem is a 422 naming the fields."""
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed(
            gettext("The request body must be a JSON object."),
            fields={"body": [gettext("Send a JSON object.")]},
        )
    try:
        return schema.load(payload, partial=partial)
    except ValidationError as error:
        raise ValidationFailed(
            gettext("The request has invalid fields."), fields=_flatten(error.messages)
        ) from error


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, list):
        return {prefix or "body": [library_message(str(message)) for message in messages]}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = [
                library_message(str(message))
                for message in (value if isinstance(value, list) else [value])
            ]
    return flat


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)
