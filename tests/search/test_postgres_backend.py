"""The PostgreSQL search backend (SEARCH_BACKEND=postgres) needs no index: the database keeps its
search columns current in the transaction that changes a row, so a change committed through one
app host is found through another at once, with no reindex, and the Whoosh index is left alone."""

from __future__ import annotations

import pytest

from app import create_app, unit_of_work
from app.accounts.models import User
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from app.search_jobs import rebuild_broken_index
from tests.catalog.conftest import complete_offer_data
from tests.conftest import SERVER_URL, settings_for_tests
from tests.search.conftest import indexed_keys, names, search

pytestmark = pytest.mark.skipif(not SERVER_URL, reason="the PostgreSQL backend needs PostgreSQL")


@pytest.fixture
def postgres_backend(app, monkeypatch):
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "postgres")


def test_search_follows_every_commit_and_leaves_the_whoosh_index_alone(
    make_offer, users, postgres_backend
):
    manager, consumer = users["catalog_manager"], users["consumer"]
    offer = make_offer("VPN-ACCESS", publish=False)
    assert search(consumer, "vpn").total == 0  # a draft
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, offer.id, status)
    unit_of_work.commit()
    result = search(consumer, "vpn acc")
    assert names(result) == ["VPN access"] and result.source == "index"
    assert str(result.hits[0].title) == "<mark>VPN</mark> <mark>access</mark>"
    catalog.transition_offer(manager, offer.id, "retired")
    unit_of_work.commit()
    assert search(consumer, "vpn").total == 0
    assert indexed_keys() == []  # no listener wrote to Whoosh


def test_the_index_health_job_has_nothing_to_do(postgres_backend, search_index):
    assert rebuild_broken_index() == "SEARCH_BACKEND=postgres: search needs no index"


def test_reindex_says_there_is_nothing_to_rebuild(app, postgres_backend):
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0
    assert "there is no index to rebuild" in result.output


def _host(tmp_path, name: str):
    """An app host of its own: its own engine and session, its own (unused) index folder."""
    return create_app(
        settings_for_tests(
            SEARCH_BACKEND="postgres", SEARCH_INDEX_DIR=str(tmp_path / f"index-{name}")
        )
    )


def _publish_through(host, manager_id: int, code: str, name: str) -> None:
    with host.app_context():
        manager = db.session.get(User, manager_id)
        offer = catalog.create_offer(manager, complete_offer_data(code, name=name))
        article = knowledge.save_article(manager, title=f"How to use {code}", body="Read me.")
        knowledge.link_articles(manager, code, [article.id])
        for status in ("planned", "ready", "published"):
            offer = catalog.transition_offer(manager, offer.id, status)
        unit_of_work.commit()
        db.session.remove()


def _found_through(host, user_id: int, q: str) -> list[str]:
    with host.app_context():
        found = names(search(db.session.get(User, user_id), q))
        db.session.remove()
        return found


@pytest.mark.committed  # two app hosts: two engines, two connections
def test_a_change_committed_through_one_host_is_found_through_another(
    app, users, catalog_setup, tmp_path
):
    host_a, host_b = _host(tmp_path, "a"), _host(tmp_path, "b")
    manager, consumer = users["catalog_manager"].id, users["consumer"].id
    assert _found_through(host_b, consumer, "hyperloop") == []

    _publish_through(host_a, manager, "HYPERLOOP", "Hyperloop booking")
    assert _found_through(host_b, consumer, "hyperloop") == ["Hyperloop booking"]
    assert _found_through(host_b, consumer, "hyperlop") == ["Hyperloop booking"]  # a typo
    for folder in (tmp_path / "index-a", tmp_path / "index-b"):
        assert not folder.exists() or not any(folder.iterdir())  # nothing was indexed
    for host in (host_a, host_b):
        with host.app_context():
            db.engine.dispose()
