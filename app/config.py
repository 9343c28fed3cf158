"""Settings, read from environment variables with safe local defaults."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"
DEV_SECRET_KEY = "offerdesk-development-key-not-for-production"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _mapping(name: str) -> dict[str, list[str]]:
    """`claim=target,claim=target`: a claim value may be named more than once for several."""
    return parse_mapping(os.environ.get(name, ""))


def parse_mapping(text: str) -> dict[str, list[str]]:
    mapping: dict[str, list[str]] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        claim, _, target = pair.partition("=")
        if claim.strip() and target.strip():
            mapping.setdefault(claim.strip(), []).append(target.strip())
    return mapping


class Config:
    ENV_NAME = os.environ.get("OFFERDESK_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'offerdesk.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search_index"))
    SEARCH_LOCK_TIMEOUT = float(os.environ.get("SEARCH_LOCK_TIMEOUT", "2"))
    # "whoosh" (the embedded index on this host's disk) or "postgres" (full-text search in the
    # database, the same on every host). Blank: the default for the database (see load_config).
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # Attachments in S3-compatible object storage (s3://bucket/prefix) instead of UPLOAD_DIR,
    # for several hosts; the endpoint for a non-AWS store, and the longest wait per call.
    STORAGE_URL = os.environ.get("STORAGE_URL", "")
    STORAGE_ENDPOINT_URL = os.environ.get("STORAGE_ENDPOINT_URL", "")
    STORAGE_TIMEOUT = float(os.environ.get("STORAGE_TIMEOUT", "10"))
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 12 * 1024 * 1024)
    MAX_ATTACHMENT_BYTES = _int("MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "offerdesk@localhost")
    # The hour (0-23, UTC) from which the daily digest e-mails go out.
    NOTIFICATIONS_DIGEST_HOUR = _int("NOTIFICATIONS_DIGEST_HOUR", 7)

    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none,
    # the headers are ignored). Behind one nginx: 1.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 10)
    LOGIN_FAILURE_WINDOW_MINUTES = _int("LOGIN_FAILURE_WINDOW_MINUTES", 15)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    WTF_CSRF_TIME_LIMIT = None
    ITEMS_PER_PAGE = _int("ITEMS_PER_PAGE", 20)
    # Huey's storage: sqlite:///<file> (a path relative to the project) or redis://host:port/db.
    JOBS_URL = os.environ.get("JOBS_URL", "sqlite:///instance/jobs.db")
    JOBS_INTERVALS = os.environ.get("JOBS_INTERVALS", "")  # "catalog.expired=15,...": minutes
    # Integrations: the Fernet key of their secrets (derived from SECRET_KEY when unset outside
    # production), the hosts their URLs may name (comma list; empty: any host), and the first
    # retry delay of a delivery in seconds (doubled at each further attempt).
    OFFERDESK_ENCRYPTION_KEY = os.environ.get("OFFERDESK_ENCRYPTION_KEY", "")
    INTEGRATION_ALLOWED_HOSTS = os.environ.get("INTEGRATION_ALLOWED_HOSTS", "")
    INTEGRATION_RETRY_DELAY = float(os.environ.get("INTEGRATION_RETRY_DELAY", "30"))
    # A pending delivery this many seconds past its due attempt lost its job: sent again.
    INTEGRATION_LOST_AFTER = float(os.environ.get("INTEGRATION_LOST_AFTER", "300"))
    # Automatic fulfillment steps: the portal's address as the receivers reach it (their
    # callback URL), after how many times its expected hours a running step is flagged, and
    # how often a step's AWX job is polled while it runs.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    AWX_POLL_SECONDS = float(os.environ.get("AWX_POLL_SECONDS", "10"))
    FULFILLMENT_STALE_FACTOR = float(os.environ.get("FULFILLMENT_STALE_FACTOR", "2"))
    # OpenID Connect sign-in (off while OIDC_ISSUER is empty). The maps take a claim value of
    # OIDC_GROUPS_CLAIM to Offerdesk roles and consumer groups; OIDC_GROUP_MAP "*" makes every
    # value a group of that name, created on first sight.
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
    OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
    OIDC_ROLE_MAP = _mapping("OIDC_ROLE_MAP")
    OIDC_GROUP_MAP = (
        "*" if os.environ.get("OIDC_GROUP_MAP", "").strip() == "*" else _mapping("OIDC_GROUP_MAP")
    )
    OIDC_ONLY = _bool("OIDC_ONLY")
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "your organization's account")
    OIDC_TIMEOUT = float(os.environ.get("OIDC_TIMEOUT", "5"))


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)


def load_config(overrides: dict | None = None) -> dict:
    base = ProductionConfig if os.environ.get("OFFERDESK_ENV") == "production" else Config
    settings = {key: getattr(base, key) for key in dir(base) if key.isupper()}
    settings.update(overrides or {})
    if settings["ENV_NAME"] == "production" and settings["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError(
            "Refusing to start in production with the development SECRET_KEY: set SECRET_KEY."
        )
    if settings["ENV_NAME"] == "production" and not settings["OFFERDESK_ENCRYPTION_KEY"]:
        raise RuntimeError(
            "Refusing to start in production without OFFERDESK_ENCRYPTION_KEY (a Fernet key)."
        )
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        settings["SQLALCHEMY_DATABASE_URI"] = settings["SQLALCHEMY_DATABASE_URI"].replace(
            "postgres://", "postgresql+psycopg://", 1
        )
    elif settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        settings["SQLALCHEMY_DATABASE_URI"] = settings["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    settings["SEARCH_BACKEND"] = search_backend(settings)
    return settings


SEARCH_BACKENDS = ("whoosh", "postgres")


def search_backend(settings: dict) -> str:
    """SEARCH_BACKEND checked, or its default: "postgres" on PostgreSQL, "whoosh" otherwise
    (docs/search.md)."""
    on_postgres = settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    backend = (settings.get("SEARCH_BACKEND") or "").strip().lower()
    backend = backend or ("postgres" if on_postgres else "whoosh")
    if backend not in SEARCH_BACKENDS:
        raise RuntimeError(f"SEARCH_BACKEND must be one of {', '.join(SEARCH_BACKENDS)}.")
    if backend == "postgres" and not on_postgres:
        raise RuntimeError("SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL.")
    return backend
