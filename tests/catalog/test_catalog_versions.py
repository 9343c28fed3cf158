"""The category tree and the number of visible offers are kept per application between
requests (app/catalog/services/catalog_versions.py): what one host changes shows on the other at
once, a change rolled back leaves nothing behind, and the count follows the offers' validity
windows without any write."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import clock, create_app, unit_of_work
from app.accounts import services as accounts
from app.accounts.models import User
from app.catalog import pages
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from tests.conftest import count_queries, settings_for_tests

from .conftest import complete_offer_data


def _host(tmp_path, name: str):
    """An app host of its own on the same database: its own engine, session and kept values."""
    return create_app(settings_for_tests(SEARCH_INDEX_DIR=str(tmp_path / f"index-{name}")))


def _catalog_through(host, user_id: int) -> tuple[list[str], int]:
    """(category names, "M in all") of page 1 of the catalog as the user sees it on that host."""
    with host.app_context():
        page = pages.browse_page(db.session.get(User, user_id), 1)
        seen = [category.name for category, _depth in page["tree"]], page["pagination"].total
        db.session.remove()
        return seen


def _through(host, work) -> None:
    with host.app_context():
        work(db.session.get(User, work.manager_id))
        unit_of_work.commit()
        db.session.remove()


def _offer(manager: User, code: str, **overrides) -> None:
    offer = catalog.create_offer(manager, complete_offer_data(code, **overrides))
    article = knowledge.save_article(manager, title=f"How to use {code}", body="Read me.")
    knowledge.link_articles(manager, code, [article.id])
    for status in ("planned", "ready", "published"):
        offer = catalog.transition_offer(manager, offer.id, status)


@pytest.mark.committed  # two app hosts: two engines, two connections
def test_a_change_committed_through_one_host_shows_on_another_at_once(app, catalog_setup, tmp_path):
    host_a, host_b = _host(tmp_path, "a"), _host(tmp_path, "b")
    manager, consumer = catalog_setup["catalog_manager"].id, catalog_setup["consumer"].id
    # more offers than the featured and new strips hold, so the list below them has some
    for number in range(14):
        _through(host_a, _run(manager, lambda m, n=number: _offer(m, f"OFFER-{n:02d}")))
    before = _catalog_through(host_b, consumer)
    assert before == ([], 8)  # the newest six are in their strip
    assert _catalog_through(host_b, consumer) == before  # kept, and still the same

    _through(host_a, _run(manager, lambda m: catalog.save_category(m, name="Quantum")))
    _through(host_a, _run(manager, lambda m: _offer(m, "OFFER-14")))
    assert _catalog_through(host_b, consumer) == (["Quantum"], 9)

    engineering = accounts.find_group_by_name("Engineering").id  # not the consumer's group
    _through(
        host_a,
        _run(manager, lambda m: catalog.set_audience(m, "OFFER-00", group_ids=[engineering])),
    )
    assert _catalog_through(host_b, consumer) == (["Quantum"], 8)
    _through(host_a, _run(manager, lambda m: catalog.set_audience(m, "OFFER-00", group_ids=[])))
    assert _catalog_through(host_b, consumer) == (["Quantum"], 9)
    for host in (host_a, host_b):
        with host.app_context():
            db.engine.dispose()


def _run(manager_id: int, work):
    work.manager_id = manager_id
    return work


def test_what_a_rolled_back_change_showed_is_not_kept(app, catalog_setup, make_offer):
    manager, consumer = catalog_setup["catalog_manager"], catalog_setup["consumer"]
    make_offer("VPN-ACCESS")
    assert [c.name for c, _ in pages.browse_page(consumer, 1)["tree"]] == []
    with db.session.begin_nested() as change:
        catalog.save_category(manager, name="Gone again")
        tree = pages.browse_page(consumer, 1)["tree"]
        assert [category.name for category, _depth in tree] == ["Gone again"]
        change.rollback()
    assert [c.name for c, _ in pages.browse_page(consumer, 1)["tree"]] == []


def test_the_count_follows_an_offers_validity_window_without_any_write(
    app, catalog_setup, make_offer
):
    consumer = catalog_setup["consumer"]
    now = clock.now().replace(microsecond=0)
    clock.freeze(now)
    # the oldest two: never among the newest six in their strip, so only the count shows them
    make_offer("ENDING", valid_to=now + timedelta(hours=1))
    make_offer("STARTING", valid_from=now + timedelta(hours=2))
    for number in range(12):
        make_offer(f"OFFER-{number:02d}")
    assert pages.browse_page(consumer, 1)["pagination"].total == 7  # 13 visible, 6 in the strip
    clock.freeze(now + timedelta(hours=1))  # ENDING's window closes
    assert pages.browse_page(consumer, 1)["pagination"].total == 6
    clock.freeze(now + timedelta(hours=2))  # STARTING's opens
    assert pages.browse_page(consumer, 1)["pagination"].total == 7
    clock.freeze(now + timedelta(minutes=90))  # set back: counted again, not the kept 7
    assert pages.browse_page(consumer, 1)["pagination"].total == 6


def test_the_catalog_runs_seven_statements_once_the_tree_and_count_are_kept(
    app, catalog_setup, client_as, make_offer, monkeypatch
):
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 5)
    catalog.save_category(catalog_setup["catalog_manager"], name="Network")
    for number in range(14):
        make_offer(f"OFFER-{number:02d}")
    http = client_as("consumer")
    http.get("/catalog/")
    with count_queries() as statements:
        page = http.get("/catalog/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Page 1 of 2 (8 in all)" in html
    assert '<a href="/catalog/categories/network">Network</a>' in html
    # the user, the header's counts, the markers, featured, new, the list and its prices
    assert len(statements) == 7, [s[:70] for s in statements]


@pytest.mark.committed
def test_two_catalog_writers_sharing_an_offer_do_not_deadlock_on_the_marker(app, make_offer):
    """One transaction changes offers A then B, another changes only B, let go together at their
    first write: the second waits for the first's row B or the other way round, never a cycle
    (a marker row taken at each transaction's first write would make one)."""
    import sqlalchemy as sa

    from app.catalog.models import ServiceOffer
    from tests.races import racing_at_first_write

    first, second = make_offer("VPN-ACCESS"), make_offer("TEAM-WIKI", name="Team wiki")
    db.session.commit()
    ids = first.id, second.id

    def change(*offer_ids):
        def work():
            for offer_id in offer_ids:  # without the version check: both may change B
                db.session.execute(
                    sa.update(ServiceOffer)
                    .where(ServiceOffer.id == offer_id)
                    .values(summary=f"changed by {offer_ids}")
                )
            return "committed"

        return work

    outcomes = racing_at_first_write(app, {"both": change(*ids), "second": change(ids[1])})
    assert outcomes == {"both": "committed", "second": "committed"}
