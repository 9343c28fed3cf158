"""Code run in separate processes by test_concurrency.py (each is a fresh interpreter, like a
gunicorn worker): it builds its own app on the test database and the test index folder."""

from __future__ import annotations


def _app(database_url: str, index_dir: str, lock_timeout: float):
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key",
            "SEARCH_INDEX_DIR": index_dir,
            "SEARCH_LOCK_TIMEOUT": lock_timeout,
            "SEARCH_BACKEND": "whoosh",  # the processes race for the Whoosh index
            "MAIL_SERVER": "",
        }
    )


def publish_offers(
    database_url: str, index_dir: str, manager_id: int, codes: list[str], lock_timeout: float
) -> None:
    """Create and publish offers through the catalog services: the session listener indexes
    each one after its commits, while the other processes do the same."""
    from app import jobs, unit_of_work
    from app.accounts.models import User
    from app.catalog import services as catalog
    from app.extensions import db
    from app.knowledge import services as knowledge
    from tests.catalog.conftest import complete_offer_data

    jobs.huey.immediate = True  # each commit's search.index_changes runs here, as a worker's
    app = _app(database_url, index_dir, lock_timeout)
    with app.app_context():
        manager = db.session.get(User, manager_id)
        for code in codes:
            offer = catalog.create_offer(
                manager, complete_offer_data(code, name=f"Concurrent {code.lower()}")
            )
            article = knowledge.save_article(manager, title=f"Guide {code}", body="Read me.")
            knowledge.link_articles(manager, code, [article.id])
            unit_of_work.commit()
            for status in ("planned", "ready", "published"):
                offer = catalog.transition_offer(manager, offer.id, status)
                unit_of_work.commit()  # each move its own unit of work, as over HTTP
        db.session.remove()


def reindex_codes(database_url: str, index_dir: str, codes: list[str], lock_timeout: float) -> None:
    """Index offers one commit at a time, as the listener does."""
    from app.extensions import db
    from app.search import index

    app = _app(database_url, index_dir, lock_timeout)
    with app.app_context():
        for code in codes:
            index.apply_changes({f"offer:{code}"})
        db.session.remove()


def rebuild(database_url: str, index_dir: str, times: int) -> None:
    from app.extensions import db
    from app.search import index

    app = _app(database_url, index_dir, 5.0)
    with app.app_context():
        for _ in range(times):
            index.rebuild()
        db.session.remove()
