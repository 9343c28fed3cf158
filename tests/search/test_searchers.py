"""The Whoosh backend keeps one searcher per thread while the index is unchanged, and ranks with
BM25F computed from the posting lists: the same scores as Whoosh's own scoring."""

import shutil

import pytest

from app.search import searchers
from app.search.matching import matching_docs, scoring_query
from app.search.services import _expansion, parse_criteria

from .conftest import add_published_offers, names, search


def test_the_searcher_is_kept_until_the_index_changes(shop, users):
    assert names(search(users["consumer"], "enterprise"))
    first = searchers.current()
    search(users["consumer"], "vpn")
    assert searchers.current() is first

    add_published_offers(2, prefix="FRESH", name="Enterprise gizmo")  # one index commit
    assert searchers.current() is not first
    assert "Enterprise gizmo" in names(search(users["consumer"], "gizmo"))


def test_a_removed_index_is_not_answered_from_the_kept_searcher(shop, users, search_index):
    assert search(users["consumer"], "vpn").source == "index"
    shutil.rmtree(search_index)
    result = search(users["consumer"], "vpn")
    assert result.source == "database" and result.degraded
    assert names(result) == ["VPN access"]


@pytest.mark.parametrize("text", ["enterprise", "vpn acc", "stor", "databse", "support desk"])
def test_scores_equal_whooshs_own(shop, users, text):
    add_published_offers(30, prefix="RANK", description="Enterprise storage with support desk.")
    opened = searchers.current()
    expansions = [_expansion(opened, word) for word in parse_criteria(text).words]
    docnums = matching_docs(opened.ranker, expansions)
    ours = opened.ranker.scores(expansions, docnums)
    whoosh = (
        {
            docnum: score
            for score, docnum in opened.searcher.search(
                scoring_query(expansions), filter=docnums, limit=None
            ).top_n
        }
        if docnums
        else {}
    )
    assert set(ours) == set(whoosh)
    assert all(abs(ours[d] - whoosh[d]) < 1e-9 for d in ours)


def test_the_kept_match_sets_hold_a_bounded_number_of_documents(shop, users, monkeypatch):
    add_published_offers(12, prefix="KEPT", name="Kept widget")
    monkeypatch.setattr(searchers, "KEPT_DOCUMENTS", 20)
    opened = searchers.current()
    for text in ["widget", "kept", "kept widget", "widget kept", "widgets"]:
        assert len(names(search(users["consumer"], text))) == 12
        assert searchers.current() is opened and 0 < opened.documents <= 20
