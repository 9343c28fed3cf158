"""The consumer catalog's list: no offer shown twice on page 1 (featured, new, more offers), a
sort order and a price filter on the price in force, and field errors for bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app import clock
from app.catalog import services as catalog
from app.catalog.services import listing, workspace
from app.errors import ValidationFailed
from app.inputs import price_bounds


def html(response) -> str:
    return response.get_data(as_text=True)


def section(page: str, heading_id: str) -> str:
    """The <section> labelled by this heading ('' when there is none)."""
    parts = page.split(f'<section aria-labelledby="{heading_id}">')
    return parts[1].split("</section>")[0] if len(parts) > 1 else ""


def card_codes(chunk: str) -> list[str]:
    return re.findall(r'data-offer-code="([^"]+)"', chunk)


@pytest.fixture
def shelf(make_offer, catalog_setup):
    """Five offers: AAA featured, BBB to EEE at rising prices; an effective price change makes
    CHEAP cost 1.00 now while its own price says 99.00."""
    manager = catalog_setup["catalog_manager"]
    made = {}
    for code, name, price in (
        ("AAA", "Alpha", "20.00"),
        ("BBB", "Bravo", "5.00"),
        ("CCC", "Charlie", "50.00"),
        ("DDD", "Delta", "12.50"),
        ("CHEAP", "Echo", "99.00"),
    ):
        made[code] = make_offer(code, name=name, price=price)
    catalog.set_featured(manager, "AAA", True)
    catalog.add_price_change(
        manager,
        "CHEAP",
        price="1.00",
        effective_from=clock.now() - timedelta(days=1),
        confirm_backdated=True,
    )
    return made


def test_page_one_shows_each_offer_once(shelf, client_as):
    page = html(client_as("consumer").get("/catalog/"))
    featured = card_codes(section(page, "featured-heading"))
    newest = card_codes(section(page, "new-heading"))
    more = card_codes(section(page, "all-heading"))
    assert featured == ["AAA"]
    assert "AAA" not in newest and newest  # the newest, featured left out
    everything = featured + newest + more
    assert sorted(everything) == ["AAA", "BBB", "CCC", "CHEAP", "DDD"]
    assert len(everything) == len(set(everything))
    assert '<h2 id="all-heading">More offers</h2>' in page


def test_featured_and_new_never_hold_the_same_offer(shelf, users):
    featured, newest = workspace.featured_and_new(users["consumer"])
    assert [offer.code for offer in featured] == ["AAA"]
    assert "AAA" not in [offer.code for offer in newest]


def test_sorted_or_filtered_the_list_holds_every_match_and_no_strips(shelf, client_as):
    page = html(client_as("consumer").get("/catalog/?sort=price_asc"))
    assert section(page, "featured-heading") == "" and section(page, "new-heading") == ""
    assert '<h2 id="all-heading">All offers</h2>' in page
    # CHEAP costs 1.00 now (its price change), not its own 99.00.
    assert card_codes(section(page, "all-heading")) == ["CHEAP", "BBB", "DDD", "AAA", "CCC"]
    assert "1.00 EUR" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=name", ["AAA", "BBB", "CCC", "DDD", "CHEAP"]),
        ("sort=price_desc", ["CCC", "AAA", "DDD", "BBB", "CHEAP"]),
        ("min_price=5&max_price=20", ["AAA", "BBB", "DDD"]),
        ("min_price=12,50&sort=price_asc", ["DDD", "AAA", "CCC"]),
        ("max_price=2", ["CHEAP"]),
        ("min_price=60", []),
    ],
)
def test_sort_and_price_filter(shelf, client_as, query, expected):
    response = client_as("consumer").get(f"/catalog/?{query}")
    assert response.status_code == 200
    listed = card_codes(section(html(response), "all-heading"))
    if query == "sort=name":  # the default order: strips on page 1, the rest below
        page = html(response)
        listed = card_codes(page.split('<div class="catalog-layout">')[1])
        assert sorted(listed) == sorted(expected)
        return
    assert listed == expected


def test_newest_first(shelf, client_as):
    listed = card_codes(
        section(html(client_as("consumer").get("/catalog/?sort=newest")), "all-heading")
    )
    assert listed == ["CHEAP", "DDD", "CCC", "BBB", "AAA"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("min_price=abc", "min_price", "Enter an amount such as 25 or 9.90."),
        ("max_price=-3", "max_price", "Enter an amount between 0 and 9999999999.99."),
        (
            "min_price=30&max_price=10",
            "max_price",
            "The maximum price must not be below the minimum.",
        ),
        ("sort=cheapest", "sort", "Choose a sort order from the list."),
        ("min_price=NaN", "min_price", "Enter an amount between 0 and 9999999999.99."),
    ],
)
def test_bad_input_is_a_field_error(shelf, client_as, query, field, message):
    response = client_as("consumer").get(f"/catalog/?{query}")
    assert response.status_code == 422
    page = html(response)
    assert f'<p class="error" id="catalog-{field}-error">{message}</p>' in page
    assert f'aria-describedby="catalog-{field}-error"' in page
    assert "Correct the sort order or price above to see offers." in page
    assert card_codes(page.split('<div class="catalog-layout">')[1]) == []


def test_the_filter_form_is_labelled_and_keeps_the_values(shelf, client_as):
    page = html(client_as("consumer").get("/catalog/?sort=price_desc&min_price=5"))
    assert '<label for="catalog-sort">Sort by</label>' in page
    assert '<option value="price_desc" selected>Price, high to low</option>' in page
    assert '<label for="catalog-min_price">Minimum price</label>' in page
    assert 'id="catalog-min_price" name="min_price" value="5"' in page


def test_later_pages_keep_the_strips_offers_out(shelf, client_as, app):
    app.config["ITEMS_PER_PAGE"], before = 2, app.config["ITEMS_PER_PAGE"]
    try:
        http = client_as("consumer")
        first = html(http.get("/catalog/"))
        shown = card_codes(first.split('<div class="catalog-layout">')[1])
        pages = [
            card_codes(section(html(http.get(f"/catalog/?page={n}")), "all-heading"))
            for n in (2, 3)
        ]
        assert section(html(http.get("/catalog/?page=2")), "featured-heading") == ""
        everything = shown + [code for listed in pages for code in listed]
        assert sorted(everything) == ["AAA", "BBB", "CCC", "CHEAP", "DDD"]
    finally:
        app.config["ITEMS_PER_PAGE"] = before


def test_price_bounds_is_the_one_parser_of_catalog_and_search():
    assert price_bounds("9,90", "") == (Decimal("9.90"), None, {})
    assert price_bounds(None, " 25 ") == (None, Decimal("25"), {})
    assert price_bounds("5", "1")[2] == {
        "max_price": ["The maximum price must not be below the minimum."]
    }
    assert price_bounds("x", "1e999")[2] == {
        "min_price": ["Enter an amount such as 25 or 9.90."],
        "max_price": ["Enter an amount between 0 and 9999999999.99."],
    }
    with pytest.raises(ValidationFailed) as refused:
        listing.parse_listing("price_asc", "7", "3")
    assert refused.value.fields == {
        "max_price": ["The maximum price must not be below the minimum."]
    }


def test_a_category_page_sorts_and_filters_too(make_offer, catalog_setup, client_as):
    manager = catalog_setup["catalog_manager"]
    network = catalog.save_category(manager, name="Network")
    for code, price in (("NET-A", "30.00"), ("NET-B", "3.00"), ("NET-C", "15.00")):
        make_offer(code, name=code.title(), price=price, category_id=network.id)
    make_offer("ELSEWHERE", price="4.00")
    http = client_as("consumer")
    page = html(http.get(f"/catalog/categories/{network.slug}?sort=price_asc&max_price=20"))
    assert card_codes(page.split('data-testid="category-offers"')[1]) == ["NET-B", "NET-C"]
    refused = http.get(f"/catalog/categories/{network.slug}?min_price=9&max_price=1")
    assert refused.status_code == 422
    assert (
        '<p class="error" id="catalog-max_price-error">'
        "The maximum price must not be below the minimum.</p>" in html(refused)
    )
