"""Matching, ranking, suggestions, snippets, facets, filters, sorting and pagination, answered
by each search backend (Whoosh; PostgreSQL full-text search on a PostgreSQL run) and (where the
criteria allow) by the database fallback alike."""

from decimal import Decimal

import pytest

from app import unit_of_work
from app.catalog import services as catalog
from app.errors import ValidationFailed
from app.knowledge import services as knowledge
from app.search import services as search_services
from app.search.services import SearchResult, search_offers
from tests.search.conftest import add_published_offers, names, search

pytestmark = pytest.mark.usefixtures("search_backend")


def found(result: SearchResult) -> list[str]:
    return sorted(names(result))


def facet_counts(result: SearchResult, name: str) -> dict[str, int]:
    return {value.value: value.count for value in result.facets[name]}


# --- matching and ranking -------------------------------------------------------------------


def test_stemming_finds_singular_from_plural_and_ranks_the_name_first(shop, users):
    result = search(users["consumer"], "databases")
    assert result.source == "index"
    assert names(result) == ["Managed database", "Premium support"]
    assert result.hits[0].score > result.hits[1].score
    assert result.suggestion is None


def test_a_word_typed_halfway_matches_as_a_prefix(shop, users):
    assert names(search(users["consumer"], "vpn acc")) == ["VPN access"]
    assert names(search(users["consumer"], "obj stor")) == ["Object storage"]
    assert names(search(users["consumer"], "manag datab")) == ["Managed database"]


def test_every_word_must_match(shop, users):
    assert names(search(users["consumer"], "vpn database")) == []
    assert sorted(names(search(users["consumer"], "enterprise backups"))) == [
        "Managed database",
        "Object storage",
    ]


def test_a_typo_still_finds_the_offer_and_suggests_the_spelling(shop, users):
    result = search(users["consumer"], "vpm access")
    assert names(result) == ["VPN access"]
    assert result.suggestion == "vpn access"
    assert str(result.hits[0].title) == "<mark>VPN</mark> <mark>access</mark>"

    result = search(users["consumer"], "databse")
    assert "Managed database" in names(result)
    assert result.suggestion == "database"

    result = search(users["consumer"], "stroage")
    assert names(result) == ["Object storage"]
    assert result.suggestion == "storage"


def test_a_typo_of_a_word_found_only_in_descriptions_is_corrected(shop, users):
    result = search(users["consumer"], "entreprise")
    assert result.total == 4 and result.suggestion == "enterprise"


def test_no_suggestion_for_words_the_index_knows_or_nothing_close(shop, users):
    assert search(users["consumer"], "vpn access").suggestion is None
    result = search(users["consumer"], "xylophone")
    assert result.total == 0 and result.suggestion is None


def test_code_matches(shop, users):
    assert names(search(users["consumer"], "DB-MANAGED")) == ["Managed database"]
    assert names(search(users["consumer"], "premium-support")) == ["Premium support"]


def test_unicode_and_punctuation(make_offer, users):
    make_offer("CAFE", name="Café Übersetzung", summary="Traduction für alle — 日本語 too.")
    assert names(search(users["consumer"], "café")) == ["Café Übersetzung"]
    assert names(search(users["consumer"], "übersetzung")) == ["Café Übersetzung"]
    assert names(search(users["consumer"], "日本語")) == ["Café Übersetzung"]
    # nothing searchable: browse everything, never an error
    result = search(users["consumer"], "🚀 !!! ??")
    assert result.total == 1 and result.source == "database" and not result.degraded
    assert search(users["consumer"], "'; DROP TABLE service_offers; --").total == 0
    assert search(users["consumer"], "100%_").total == 0


# --- snippets ---------------------------------------------------------------------------------


def test_snippets_escape_html_and_mark_only_the_hits(make_offer, users, search_source):
    make_offer(
        "XSS-TEST",
        name="Gateway <img src=x onerror=alert(1)>",
        summary="Summary <b>bold</b>",
        description="Use the <script>alert('x')</script> gateway & the *fast* lane.",
    )
    engine = search_source()
    result = search(users["consumer"], "gateway")
    assert result.source == engine
    hit = result.hits[0]
    snippet, title = str(hit.snippet), str(hit.title)
    assert "<script" not in snippet and "&lt;script&gt;" in snippet
    assert "&amp;" in snippet
    assert "<mark>gateway</mark>" in snippet
    assert "<img" not in title and "&lt;img" in title
    assert "<mark>Gateway</mark>" in title
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_snippet_falls_back_to_the_summary(shop, users):
    hit = search(users["consumer"], "vpn").hits[0]
    assert str(hit.snippet)  # never empty even when only the name matched
    assert "<mark>" in str(hit.title)


# --- facets, filters, sorting ------------------------------------------------------------------


def test_facet_counts(shop, users, search_source):
    engine = search_source()
    result = search(users["consumer"], "enterprise")
    assert result.source == engine and result.total == 4
    assert facet_counts(result, "category") == {"cloud": 2, "network": 1}
    assert [value.label for value in result.facets["category"]] == ["Cloud", "Network"]
    assert facet_counts(result, "billing") == {"one_time": 1, "monthly": 2, "yearly": 1}
    assert facet_counts(result, "kind") == {"new_instance": 3, "support": 1}
    assert facet_counts(result, "price") == {"under_10": 1, "10_50": 1, "50_200": 1, "200_plus": 1}


def test_facets_count_each_facet_with_the_other_filters(shop, users, search_source):
    search_source()
    result = search(users["consumer"], "enterprise", category="cloud")
    assert found(result) == ["Managed database", "Object storage"]
    # the category facet still offers the other category ...
    assert facet_counts(result, "category") == {"cloud": 2, "network": 1}
    assert [value.selected for value in result.facets["category"]] == [True, False]
    # ... and the other facets count inside Cloud only
    assert facet_counts(result, "billing") == {"monthly": 1, "yearly": 1}
    assert facet_counts(result, "price") == {"10_50": 1, "50_200": 1}


def test_filters(shop, users, categories, search_source):
    search_source()
    consumer = users["consumer"]
    assert found(search(consumer, "enterprise", billing="monthly")) == [
        "Managed database",
        "VPN access",
    ]
    assert names(search(consumer, "enterprise", kind="support")) == ["Premium support"]
    assert names(search(consumer, "enterprise", category=str(categories["network"].id))) == [
        "VPN access"
    ]
    assert names(search(consumer, "enterprise", price_range="10_50")) == ["Object storage"]
    assert found(search(consumer, "enterprise", min_price="25", max_price="120.00")) == [
        "Managed database",
        "Object storage",
    ]
    assert names(search(consumer, "enterprise", min_price=Decimal("121"))) == ["Premium support"]
    assert names(search(consumer, "enterprise", category="cloud", billing="yearly")) == [
        "Object storage"
    ]
    assert search(consumer, "enterprise", category="no-such-category").total == 0
    # browsing (no words) with filters
    assert names(search(consumer, "", category="cloud", sort="price_asc")) == [
        "Object storage",
        "Managed database",
    ]


def test_sorting(shop, users, search_source):
    search_source()
    consumer = users["consumer"]
    by_price = ["VPN access", "Object storage", "Managed database", "Premium support"]
    assert names(search(consumer, "enterprise", sort="price_asc")) == by_price
    assert names(search(consumer, "enterprise", sort="price_desc")) == by_price[::-1]
    assert names(search(consumer, "enterprise", sort="newest")) == [
        "Premium support",
        "Managed database",
        "Object storage",
        "VPN access",
    ]
    relevance = search(consumer, "database", sort="relevance")
    assert names(relevance)[0] == "Managed database"


def test_price_sort_and_filter_use_the_price_in_force_now(shop, users, search_source):
    manager = users["catalog_manager"]
    catalog.add_price_change(
        manager,
        "PREMIUM-SUPPORT",
        price="5.00",
        effective_from="2000-01-01",
        confirm_backdated=True,
    )
    search_source()
    result = search(users["consumer"], "enterprise", sort="price_asc")
    assert names(result)[0] == "Premium support"
    assert result.hits[0].price == Decimal("5.00")
    assert facet_counts(result, "price")["under_10"] == 2


def test_pagination(make_offer, users, search_source):
    add_published_offers(25)
    search_source()
    consumer = users["consumer"]
    pages = [search(consumer, "widget", page=page, per_page=10) for page in (1, 2, 3)]
    assert [len(page.hits) for page in pages] == [10, 10, 5]
    assert {page.total for page in pages} == {25}
    assert pages[0].pages == 3 and pages[0].has_next and not pages[0].has_prev
    assert pages[2].has_prev and not pages[2].has_next and pages[2].prev_num == 2
    seen = [hit.code for page in pages for hit in page.hits]
    assert len(set(seen)) == 25
    assert seen == sorted(seen)  # equal relevance: by name
    beyond = search(consumer, "widget", page=9, per_page=10)
    assert beyond.hits == [] and beyond.total == 25


def test_equal_scores_across_a_page_boundary_neither_repeat_nor_go_missing(users, search_source):
    """25 offers that score the same, indexed in the reverse of their names' order: each page
    lists the next ten by name, whichever ten the index happens to hold first."""
    for number in reversed(range(25)):
        add_published_offers(
            1, prefix=f"TIE{number:02d}", name=f"Widget {number:03d}", summary="A widget."
        )
    search_source()
    pages = [search(users["consumer"], "widget", page=page, per_page=10) for page in (1, 2, 3)]
    seen = [hit.name for page in pages for hit in page.hits]
    assert seen == [f"Widget {number:03d}" for number in range(25)]


def test_a_broad_match_reads_the_visible_offers_whole_with_the_same_answer(
    make_offer, users, monkeypatch
):
    """Above IN_LIMIT matched codes, search reads every visible offer instead of IN (...)."""
    add_published_offers(12)
    consumer = users["consumer"]
    narrow = search(consumer, "widget", sort="price_desc", per_page=5)
    monkeypatch.setattr(search_services, "IN_LIMIT", 3)
    broad = search(consumer, "widget", sort="price_desc", per_page=5)
    assert broad.source == narrow.source == "index"
    assert [hit.code for hit in broad.hits] == [hit.code for hit in narrow.hits]
    assert [hit.code for hit in broad.hits][0] == "BULK-011"
    assert broad.total == narrow.total == 12
    assert (
        facet_counts(broad, "price") == facet_counts(narrow, "price") == {"under_10": 9, "10_50": 3}
    )


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"q": "x" * 201}, "q"),
        ({"billing": "weekly"}, "billing"),
        ({"kind": "gift"}, "kind"),
        ({"price_range": "cheap"}, "price"),
        ({"min_price": "ten"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"max_price": "1e99"}, "max_price"),
        ({"min_price": "50", "max_price": "10"}, "max_price"),
        ({"sort": "random"}, "sort"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": 1000}, "per_page"),
    ],
)
def test_bad_parameters_are_field_errors(users, criteria, field):
    criteria = {"q": "vpn", **criteria}
    with pytest.raises(ValidationFailed) as raised:
        search_offers(users["consumer"], criteria.pop("q"), **criteria)
    assert field in raised.value.fields


def test_blank_parameters_mean_no_filter(shop, users):
    result = search_offers(
        users["consumer"],
        None,
        category="",
        billing=" ",
        kind=None,
        min_price="",
        max_price=None,
        price_range="",
        sort="",
        page="",
        per_page="",
    )
    assert result.total == 4 and result.page == 1 and result.per_page == 20


# --- knowledge articles ------------------------------------------------------------------------


def test_published_articles_are_found_in_their_own_list(shop, users):
    manager = users["catalog_manager"]
    knowledge.save_article(manager, title="Resetting a VPN token", body="Open the portal and ask.")
    knowledge.save_article(manager, title="Draft token notes", body="Not yet.", status="draft")
    unit_of_work.commit()  # the index follows commits
    result = search(users["consumer"], "token")
    assert names(result) == []
    assert [article.title for article in result.articles] == ["Resetting a VPN token"]
    assert "<mark>token</mark>" in str(result.articles[0].title_html)
    # an article linked to an offer is found by the offer's code too
    assert "How to use VPN-ACCESS" in [a.title for a in search(users["consumer"], "vpn").articles]


def test_to_dict_is_json_ready(shop, users):
    data = search(users["consumer"], "vpm", category="network").to_dict()
    assert data["total"] == 1 and data["source"] == "index"
    assert data["items"][0]["price"] == "7.50"
    assert data["items"][0]["category"]["slug"] == "network"
    assert data["items"][0]["url"].startswith("/catalog/offers/")
    assert data["suggestion"] == "vpn"
    assert data["facets"]["category"][0] == {
        "value": "network",
        "label": "Network",
        "count": 1,
        "selected": True,
    }
    import json

    json.dumps(data)
