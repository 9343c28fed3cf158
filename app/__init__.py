"""Offerdesk: the service catalog and consumption portal."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import i18n, storage, unit_of_work
from .config import INSTANCE_DIR, ROOT, load_config
from .extensions import csrf, db, login_manager, migrate
from .i18n import N_
from .inputs import MAX_ID


class Offerdesk(Flask):
    """A request is one unit of work: the view's changes are committed once, after it returns
    a success, inside Flask's error handling, so a failed commit (a stale version, a constraint)
    is answered like any other error. A view that answers 4xx or 5xx (a form shown again with
    its errors, a refusal) commits nothing; the session rolls back when the request ends."""

    def dispatch_request(self):
        response = self.make_response(super().dispatch_request())
        unit_of_work.finish(succeeded=response.status_code < 400)
        return response


def create_app(config: dict | None = None) -> Flask:
    app = Offerdesk(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    register_proxy(app)
    register_extensions(app)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    register_blueprints(app)
    register_listeners(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: past what an id column holds is "not found", not a database error."""

    def __init__(
        self, url_map, fixed_digits: int = 0, min: int = 0, max: int = MAX_ID, signed=False
    ):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_proxy(app: Flask) -> None:
    """Behind `TRUSTED_PROXIES` reverse proxies, the client's address, scheme and host come from
    their X-Forwarded-* headers (only that many hops are believed); otherwise they are ignored."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every model known before migrations run

    db.init_app(app)
    storage.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("Please log in to see that page.")
    login_manager.localize_callback = i18n._  # the message above, in the user's language
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from .accounts.services import load_user

    login_manager.user_loader(load_user)


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(connection, name):
    """pysqlite begins a transaction only before a write, not before a SAVEPOINT: SQLite then
    takes the SAVEPOINT as the transaction itself, and its RELEASE commits everything so far
    (a later rollback could not take back a row written under it). Begin first."""
    dbapi_connection = connection.connection.dbapi_connection
    if type(dbapi_connection).__module__.startswith("sqlite3") and not (
        dbapi_connection.in_transaction
    ):
        dbapi_connection.execute("BEGIN")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and a busy timeout let several processes share the SQLite file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from . import (
        fulfillment_jobs,  # noqa: F401 - registers the step jobs and their sweep
        search_jobs,  # noqa: F401 - registers the rebuild of a broken search index
    )
    from .accounts import api as accounts_api  # noqa: F401 - registers its endpoints
    from .accounts.views import admin
    from .accounts.views import bp as accounts_bp
    from .api import (
        openapi,  # noqa: F401 - registers the document route
        token_use,  # noqa: F401 - registers the token-use job with Huey
    )
    from .api.core import bp as api_bp
    from .audit.views import bp as audit_bp
    from .catalog import api as catalog_api  # noqa: F401 - registers its endpoints
    from .catalog.views import bp as catalog_bp
    from .integrations import api as integrations_api  # noqa: F401 - registers its endpoints
    from .integrations import (
        jobs as integrations_jobs,  # noqa: F401 - registers its delivery job and its periodic job
    )
    from .integrations.views import bp as integrations_bp
    from .knowledge import api as knowledge_api  # noqa: F401 - registers its endpoints
    from .knowledge.views import bp as knowledge_bp
    from .main.views import bp as main_bp
    from .notifications import api as notifications_api  # noqa: F401 - registers its endpoints
    from .notifications.views import bp as notifications_bp
    from .search import api as search_api  # noqa: F401 - registers its endpoints
    from .search.views import bp as search_bp
    from .status import api as status_api  # noqa: F401 - registers its endpoints
    from .status.views import bp as status_bp
    from .subscriptions import api as subscriptions_api  # noqa: F401 - registers its endpoints
    from .subscriptions import cart_api  # noqa: F401 - registers its endpoints
    from .subscriptions.approval_views import bp as approvals_bp
    from .subscriptions.quota_views import bp as quotas_bp
    from .subscriptions.views import bp as subscriptions_bp
    from .support import api as support_api  # noqa: F401 - registers its endpoints
    from .support.views import bp as support_bp
    from .worker.views import bp as jobs_bp

    blueprints = (
        main_bp,
        accounts_bp,
        admin,
        jobs_bp,
        audit_bp,
        notifications_bp,
        catalog_bp,
        search_bp,
        subscriptions_bp,
        quotas_bp,
        approvals_bp,
        support_bp,
        knowledge_bp,
        status_bp,
        integrations_bp,
        api_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def register_listeners(app: Flask) -> None:
    """Connect each listening domain's receivers to the domain events (blinker keeps one
    connection per receiver, so a second app changes nothing). They run in the sender's
    transaction."""
    from .catalog.listeners import register_listeners as catalog_listeners
    from .integrations.listeners import register_listeners as webhook_listeners
    from .search.index.listeners import install_listeners as search_listeners

    catalog_listeners()
    search_listeners()
    webhook_listeners()


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_error_handlers

    register_error_handlers(app)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(config) -> str:
    """Logging out sends the log-out form on to the identity provider's end-session endpoint
    (RP-initiated logout), which form-action must allow."""
    issuer = urlsplit(config.get("OIDC_ISSUER") or "")
    if not issuer.netloc:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {issuer.scheme}://{issuer.netloc}"
    )


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(app.config))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure or app.config["ENV_NAME"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user and current_user.is_authenticated and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response


def register_template_helpers(app: Flask) -> None:
    from .labels import capital_label, label
    from .markdown import render_markdown
    from .navigation import header_counts, navigation_for
    from .web import current_url, layout_url, page_url, query_args

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["capital_label"] = capital_label
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["current_url"] = current_url
    app.jinja_env.globals["query_args"] = query_args
    app.jinja_env.globals["layout_url"] = layout_url

    @app.context_processor
    def inject_navigation():
        if not current_user.is_authenticated:
            return {"unread_notifications": 0, "navigation": []}
        if "unread_notifications" not in g:
            from .accounts.models import Role

            consumer = current_user.has_role(Role.CONSUMER)
            # cart_count() (subscriptions.views.cart) reads g.cart_count when it is there
            g.unread_notifications, cart_count = header_counts(current_user, with_cart=consumer)
            g.setdefault("cart_count", cart_count)
        return {
            "unread_notifications": g.unread_notifications,
            "navigation": navigation_for(current_user),
        }


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
