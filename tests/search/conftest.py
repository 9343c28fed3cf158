"""Search fixtures: the catalog's offer factories, a fresh index for every test, and helpers."""

import logging
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm.attributes import set_committed_value

from app import clock, jobs
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.extensions import db
from app.search import index
from app.search.services import search_offers
from tests.catalog.conftest import *  # noqa: F403 - make_offer, catalog_setup, complete_offer_data
from tests.conftest import SERVER_URL

# The search backends this run can test: PostgreSQL full-text search needs PostgreSQL.
BACKENDS = ["whoosh", "postgres"] if SERVER_URL else ["whoosh"]
# Where a backend's answers can come from: its own search, or (Whoosh only) the SQL fallback
# that answers while the index is lost; the PostgreSQL backend has no index to lose.
SOURCES = [("whoosh", "index"), ("whoosh", "database")]
SOURCES += [("postgres", "index")] if SERVER_URL else []


def pytest_generate_tests(metafunc):
    """A test taking `search_source` runs once per pair in SOURCES; one taking only
    `search_backend` runs once per backend."""
    if "search_source" in metafunc.fixturenames:
        ids = [f"{backend}-{source}" for backend, source in SOURCES]
        metafunc.parametrize(("search_backend", "search_source"), SOURCES, indirect=True, ids=ids)
    elif "search_backend" in metafunc.fixturenames:
        metafunc.parametrize("search_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def whoosh_unless_chosen(request, app, monkeypatch):
    """Tests of the Whoosh index itself (its listeners, fallback, rebuilds) run on Whoosh, the
    default on SQLite, whatever the database; tests that take `search_backend` run on each."""
    if not {"search_backend", "postgres_backend"} & set(request.fixturenames):
        monkeypatch.setitem(app.config, "SEARCH_BACKEND", "whoosh")


@pytest.fixture
def search_backend(request, app, monkeypatch):
    """Run the test with each search backend this database has (SEARCH_BACKEND)."""
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", request.param)
    return request.param


@pytest.fixture(autouse=True)
def search_loggers_enabled(app):
    """migrations/env.py's logging.config.fileConfig() disables every logger that exists when
    the test session runs the migrations; the search warnings are part of what we test."""
    for name in ("app.search.services", "app.search.index"):
        logging.getLogger(name).disabled = False


@pytest.fixture(autouse=True)
def index_jobs_at_once():
    """Commits enqueue `search.index_changes` (the worker re-indexes); here Huey runs each job
    at once, in the committing process, so a test sees its change searched right after."""
    jobs.huey.immediate = True
    try:
        yield
    finally:
        jobs.huey.storage.flush_all()
        jobs.huey.immediate = False


@pytest.fixture(autouse=True)
def search_index(app):
    """Each test starts with an empty, completely built index (the tables are empty too) and
    leaves no index behind, so other folders' tests don't pay for index writes."""
    path = Path(app.config["SEARCH_INDEX_DIR"])
    shutil.rmtree(path, ignore_errors=True)
    index.create_empty()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def names(result) -> list[str]:
    return [hit.name for hit in result.hits]


def search(user, q="", **criteria):
    return search_offers(user, q, **criteria)


def indexed(key: str) -> dict | None:
    """The stored fields of one index document ("offer:CODE", "article:ID"), or None."""
    ix = index.open_index()
    with ix.searcher() as searcher:
        return searcher.document(key=key)


def indexed_keys() -> list[str]:
    ix = index.open_index()
    with ix.searcher() as searcher:
        return sorted(fields["key"] for fields in searcher.all_stored_fields())


def add_published_offers(count: int, prefix: str = "BULK", **fields) -> list[ServiceOffer]:
    """Many published offers in one commit (one index write), for pagination and query counts."""
    now = clock.now()
    offers = []
    for number in range(count):
        values = {
            "code": f"{prefix}-{number:03d}",
            "revision": 1,
            "status": "published",
            "name": f"Widget {number:03d}",
            "summary": f"Widget number {number} for the team.",
            "description": "A widget service with gadgets.",
            "kind": "new_instance",
            "price": Decimal(number + 1),
            "billing_period": "monthly",
            "published_at": now - timedelta(minutes=count - number),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        values.update(fields)
        status = values.pop("status")
        offer = ServiceOffer(**values)
        # Rows, not the lifecycle: the status is set past the offer's state machine (which
        # admits new offers only as drafts); the INSERT writes it all the same.
        set_committed_value(offer, "status", status)
        db.session.add(offer)
        offers.append(offer)
    db.session.commit()
    return offers


@pytest.fixture
def categories(catalog_setup):
    manager = catalog_setup["catalog_manager"]
    return {
        "cloud": catalog.save_category(manager, name="Cloud"),
        "network": catalog.save_category(manager, name="Network"),
    }


@pytest.fixture
def shop(make_offer, categories):
    """Four published offers with the word "enterprise" in each, published an hour apart:
    VPN access        7.50 monthly  new_instance  Network
    Object storage   25.00 yearly   new_instance  Cloud
    Managed database 120.00 monthly new_instance  Cloud
    Premium support  450.00 one-time support      (no category)"""
    start = clock.now() - timedelta(days=1)
    specs = [
        (
            "VPN-ACCESS",
            {
                "category_id": categories["network"].id,
                "description": "Connect securely from anywhere. Enterprise gateway.",
            },
        ),
        (
            "STORAGE",
            {
                "name": "Object storage",
                "summary": "S3-compatible buckets.",
                "description": "Store files and backups. Enterprise grade.",
                "price": "25.00",
                "billing_period": "yearly",
                "category_id": categories["cloud"].id,
            },
        ),
        (
            "DB-MANAGED",
            {
                "name": "Managed database",
                "summary": "A PostgreSQL database run for you.",
                "description": "Backups, monitoring and upgrades. Enterprise support included.",
                "price": "120.00",
                "category_id": categories["cloud"].id,
            },
        ),
        (
            "PREMIUM-SUPPORT",
            {
                "name": "Premium support",
                "summary": "Priority help from a named engineer.",
                "description": "An engineer who knows your databases. Enterprise hours.",
                "price": "450.00",
                "kind": "support",
                "billing_period": "one_time",
            },
        ),
    ]
    offers = {}
    for hours, (code, overrides) in enumerate(specs):
        clock.freeze(start + timedelta(hours=hours))
        offers[code] = make_offer(code, **overrides)
    clock.freeze(None)
    return offers


@pytest.fixture
def without_index(search_index):
    """Delete the index folder: search must answer from the database."""

    def remove():
        shutil.rmtree(search_index, ignore_errors=True)

    return remove


@pytest.fixture
def search_source(request, search_backend, without_index):
    """Call it once the test's offers are written: for the "database" source it deletes the
    index, so search answers from the SQL fallback. Returns the source the answer must name."""

    def prepare():
        if request.param == "database":
            without_index()
        return request.param

    return prepare
