"""The search page's filters (issue 15, item 12): a new query typed on the page starts without
the previous filters, the filters in use are listed by name, each removable, and a category
filter is shown by its name, never by its slug."""

import re
from html import unescape

import pytest

from app.catalog import services as catalog
from app.extensions import db

pytestmark = pytest.mark.usefixtures("search_backend")


def forms(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, re.S)


def inputs(form: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    }


def test_a_new_query_typed_on_the_search_page_does_not_carry_the_filters(shop, client_as):
    html = client_as("consumer").get("/search?q=enterprise&category=cloud&sort=price_desc").text
    query_form = next(form for form in forms(html) if 'role="search"' in form)
    assert inputs(query_form) == {"q": "enterprise", "sort": "price_desc"}
    assert "A new search starts without filters." in query_form
    refine = next(form for form in forms(html) if 'name="min_price"' in form)
    assert inputs(refine) == {
        "q": "enterprise",
        "min_price": "",
        "max_price": "",
        "category": "cloud",
    }


def test_filters_in_use_are_named_and_each_one_removable(shop, client_as, catalog_setup):
    catalog.save_category(catalog_setup["catalog_manager"], name="Access and accounts")
    db.session.commit()
    html = client_as("consumer").get("/search?q=laptop&category=access-and-accounts").text
    assert "0 offers for “laptop”" in html
    assert "access-and-accounts (0)" not in html
    assert re.search(
        r'<span class="visually-hidden">Remove filter: </span>Access and accounts '
        r'<span class="count">\(0\)</span>',
        html,
    )
    in_use = re.search(r'<section class="active-filters".*?</section>', html, re.S).group(0)
    assert "Filters in use:" in in_use
    assert re.search(
        r'<a class="tag" href="/search\?q=laptop"><span class="visually-hidden">Remove filter: '
        r"</span>Category: Access and accounts",
        in_use,
    )
    assert '<a href="/search?q=laptop">Clear all filters</a>' in in_use


def test_no_filters_no_list(shop, client_as):
    html = client_as("consumer").get("/search?q=enterprise").text
    assert "Filters in use:" not in html
