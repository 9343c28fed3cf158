"""The /search page: form, results, facets, suggestions, pagination, errors, query counts."""

import re
from html import unescape

import pytest

from app.extensions import db
from tests.conftest import count_queries
from tests.search.conftest import add_published_offers

pytestmark = pytest.mark.usefixtures("search_backend")


def page_text(response) -> str:
    return response.get_data(as_text=True)


def words(html: str) -> str:
    """The page's text with the <mark> highlights taken out."""
    return html.replace("<mark>", "").replace("</mark>", "")


def hrefs(html: str, pattern: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html) if pattern in href]


def test_login_required(client):
    response = client.get("/search?q=vpn")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_has_an_accessible_search_form(client_as):
    html = page_text(client_as("consumer").get("/search"))
    assert 'role="search"' in html
    assert '<label for="search-q">Search offers and articles</label>' in html
    assert 'id="search-q" name="q"' in html
    assert '<label for="search-sort">Sort by</label>' in html
    assert 'id="header-q"' not in html  # the header box is left out on the search page itself
    assert "<h1>Search</h1>" in html


def test_the_header_has_a_search_box_elsewhere(client_as):
    html = page_text(client_as("consumer").get("/"))
    assert 'action="/search"' in html
    assert '<label for="header-q" class="visually-hidden">Find offers</label>' in html


def test_results_with_snippets_price_and_did_you_mean(shop, client_as):
    response = client_as("consumer").get("/search?q=vpm+access")
    html = page_text(response)
    assert response.status_code == 200
    offer_id = shop["VPN-ACCESS"].id
    assert f'href="/catalog/offers/{offer_id}"' in html
    assert "<mark>VPN</mark> <mark>access</mark>" in html
    assert "7.50 EUR" in html and "Monthly" in html and "Network" in html
    assert "Did you mean" in html
    assert hrefs(html, "q=vpn+access") == ["/search?q=vpn+access"]
    assert "1 offer for “vpm access”" in html
    assert "Knowledge articles" in html and "How to use" in html


def test_facet_links_filter_and_toggle(shop, client_as):
    client = client_as("consumer")
    html = page_text(client.get("/search?q=enterprise&sort=price_asc"))
    assert 'Cloud <span class="count">(2)</span>' in html
    cloud = hrefs(html, "category=cloud")[0]
    assert "sort=price_asc" in cloud and "q=enterprise" in cloud
    filtered = page_text(client.get(cloud))
    assert "2 offers for" in filtered
    assert 'class="selected" aria-current="true"' in filtered
    assert "Remove filter: </span>Cloud" in filtered
    remove = [href for href in hrefs(filtered, "/search?") if "category" not in href]
    assert any("sort=price_asc" in href for href in remove)
    assert 'type="hidden" name="category" value="cloud"' in filtered  # kept on a new query
    assert "Clear all filters" in filtered


def test_empty_state(shop, client_as):
    html = page_text(client_as("consumer").get("/search?q=xylophone"))
    assert "No offers match this search" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=" + "x" * 5000, "at most 200 characters"),
        ("q=vpn&sort=cheapest", "Choose one of"),
        ("q=vpn&min_price=abc", "Enter an amount"),
        ("q=vpn&min_price=50&max_price=10", "must not be below"),
        ("q=vpn&billing=weekly", "Choose one of"),
    ],
)
def test_bad_input_is_a_field_error_never_a_500(shop, client_as, query, message):
    response = client_as("consumer").get(f"/search?{query}")
    assert response.status_code == 422
    html = page_text(response)
    assert message in html and 'role="alert"' in html


def test_odd_input_is_escaped_and_answered(shop, client_as):
    client = client_as("consumer")
    response = client.get("/search?q=<script>alert(1)</script>&page=abc")
    assert response.status_code == 200
    assert "<script>alert(1)" not in page_text(response)
    assert client.get("/search?q=%F0%9F%9A%80+caf%C3%A9").status_code == 200
    assert client.get("/search?q=%01%02vpn").status_code == 200


def test_pagination_keeps_the_query(client_as, users):
    add_published_offers(45)
    client = client_as("consumer")
    html = page_text(client.get("/search?q=widget&sort=price_desc"))
    assert "Page 1 of 3 (45 in all)" in html
    next_page = hrefs(html, "page=2")[0]
    assert "q=widget" in next_page and "sort=price_desc" in next_page
    second = words(page_text(client.get(next_page)))
    assert "Page 2 of 3" in second and "Widget 024" in second and "Widget 044" not in second
    beyond = page_text(client.get("/search?q=widget&page=7"))
    assert "No more offers on this page" in beyond


def test_the_page_runs_a_bounded_number_of_queries(client_as, search_source):
    client = client_as("consumer")
    search_source()
    counts = []
    for total in (5, 40):
        add_published_offers(total if not counts else total - 5, prefix=f"Q{total}")
        db.session.expire_all()
        client.get("/search?q=widget")  # warm up
        with count_queries() as statements:
            response = client.get("/search?q=widget&sort=price_asc")
        assert response.status_code == 200
        assert page_text(response).count('class="hit"') == min(total, 20)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10


def test_links_carry_only_the_search_parameters(shop, client_as):
    html = page_text(
        client_as("consumer").get("/search?q=enterprise&_external=1&_scheme=javascript&x=1")
    )
    links = hrefs(html, "category=")
    assert links and all(link.startswith("/search?") and "x=1" not in link for link in links)
    assert "javascript:" not in html


def test_search_results_add_offers_to_a_comparison(client_as, make_offer):
    vpn = make_offer("VPN-ACCESS")
    consumer = client_as("consumer")
    page = page_text(consumer.get("/search?q=vpn"))
    assert (
        f'href="/search?q=vpn&amp;compare={vpn.id}#offer-card-{vpn.id}">Add to comparison' in page
    )
    page = page_text(consumer.get(f"/search?q=vpn&compare={vpn.id}"))
    assert f'href="/compare?ids={vpn.id}"' in page
    assert f'href="/search?q=vpn#offer-card-{vpn.id}">Remove from comparison' in page
