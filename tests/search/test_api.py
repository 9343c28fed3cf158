"""Search in the REST API on the demo catalog: GET /api/v1/offers?q= ranks offers as the search
page does (an exact name finds that offer first, for every demo offer), GET /api/v1/search adds
knowledge articles, facets and highlights; visibility is the caller's, and bad input is a
problem document."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.accounts import services as accounts
from app.extensions import db
from app.search.index import writer
from tests.conftest import module_world, token_for

API = "/api/v1"
pytestmark = pytest.mark.usefixtures("search_backend")  # each backend this database has


@module_world
def demo(app):
    """The demo seed (`flask seed`) and a token for a catalog manager, an Engineering consumer
    (in MEETING-AI's pilot) and a Finance consumer (in its audience, not in the pilot)."""
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    users = {
        "manager": "catalog@offerdesk.example",
        "engineer": "erik@offerdesk.example",
        "finance": "fiona@offerdesk.example",
    }
    return {role: token_for(accounts.find_user_by_email(email)) for role, email in users.items()}


@pytest.fixture
def tokens(demo):
    writer.rebuild()  # every search test starts with an empty index
    return demo


def every_offer(client) -> list[dict]:
    items, page = [], 1
    while True:
        body = client.get(f"{API}/offers?per_page=100&page={page}").get_json()
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def test_an_exact_name_finds_that_offer_first_for_every_demo_offer(api, tokens):
    client = api(tokens["manager"])
    offers = every_offer(client)
    assert len(offers) == 40  # every offer a catalog manager may see now
    misses = []
    for offer in offers:
        response = client.get(f"{API}/offers", query_string={"q": offer["name"]})
        assert response.status_code == 200
        first = response.get_json()["items"][0]["code"] if response.get_json()["items"] else None
        if first != offer["code"]:
            misses.append((offer["name"], offer["code"], first))
    assert misses == []


def test_offers_q_is_ranked_paged_and_shaped_like_the_listing(api, tokens):
    client = api(tokens["engineer"])
    body = client.get(f"{API}/offers?q=virtual machine&per_page=2").get_json()
    assert body["query"] == "virtual machine"
    assert body["page"] == 1
    assert body["per_page"] == 2
    assert body["total"] >= 4
    assert body["pages"] == -(-body["total"] // 2)
    assert [item["code"] for item in body["items"]][0] == "VM"
    assert set(body["items"][0]) == set(client.get(f"{API}/offers").get_json()["items"][0])
    second = client.get(f"{API}/offers?q=virtual machine&per_page=2&page=2").get_json()
    assert second["page"] == 2
    assert len(second["items"]) == 2


def test_offers_q_keeps_the_category_and_price_filters(api, tokens):
    client = api(tokens["manager"])
    everything = client.get(f"{API}/offers?q=managed").get_json()["items"]
    category = everything[0]["category"]["id"]
    in_category = client.get(f"{API}/offers?q=managed&category_id={category}").get_json()
    assert in_category["items"]
    assert {item["category"]["id"] for item in in_category["items"]} == {category}
    cheap = client.get(f"{API}/offers?q=managed&max_price=10").get_json()["items"]
    assert all(float(item["current_price"]) <= 10 for item in cheap)
    assert len(cheap) < len(everything)


def test_a_pilot_offer_is_found_only_by_its_pilot_group(api, tokens):
    engineer = api(tokens["engineer"]).get(f"{API}/offers?q=AI meeting assistant").get_json()
    assert engineer["items"][0]["code"] == "MEETING-AI"
    finance = api(tokens["finance"])
    listed = finance.get(f"{API}/offers?q=AI meeting assistant").get_json()
    assert "MEETING-AI" not in [item["code"] for item in listed["items"]]
    searched = finance.get(f"{API}/search?q=meeting assistant").get_json()
    assert "MEETING-AI" not in [item["code"] for item in searched["items"]]
    assert "MEETING-AI" in [
        item["code"]
        for item in api(tokens["engineer"])
        .get(f"{API}/search?q=meeting assistant")
        .get_json()["items"]
    ]


def test_search_has_articles_facets_and_highlights(api, tokens):
    response = api(tokens["engineer"]).get(f"{API}/search?q=vpn")
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"][0]["code"] == "VPN-ACCESS"
    assert body["items"][0]["title_html"] == "<mark>VPN</mark> access"
    assert "<mark>" in body["items"][0]["snippet_html"]
    categories = body["facets"]["category"]
    assert categories and all(value["count"] >= 1 for value in categories)
    assert sum(value["count"] for value in categories) <= body["total"]
    assert {"value", "label", "count", "selected"} == set(categories[0])
    assert body["articles"], "the demo has VPN articles"
    article = body["articles"][0]
    assert "<mark>" in article["title_html"] + article["snippet_html"]
    assert article["url"] == f"/support/knowledge/{article['id']}"


def test_search_pages_the_offers(api, tokens):
    client = api(tokens["manager"])
    whole = client.get(f"{API}/search?q=laptop&sort=price_asc").get_json()
    assert whole["total"] >= 3
    codes = []
    for page in range(1, whole["total"] + 1):
        one = client.get(f"{API}/search?q=laptop&sort=price_asc&per_page=1&page={page}")
        body = one.get_json()
        assert (body["page"], body["per_page"], body["pages"]) == (page, 1, whole["total"])
        codes += [item["code"] for item in body["items"]]
    assert codes == [item["code"] for item in whole["items"]]


@pytest.mark.parametrize("path", ["/offers", "/search"])
def test_without_a_token_it_is_401(api, demo, path):
    response = api(None).get(f"{API}{path}?q=vpn")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("path", ["/offers", "/search"])
@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"q": "x" * 201}, 422, "q"),
        ({"q": "vpn", "page": "0"}, 422, "page"),
        ({"q": "vpn", "page": "abc"}, 422, "page"),
        ({"q": "vpn", "per_page": "500"}, 422, "per_page"),
        ({"q": "vpn", "max_price": "cheap"}, 422, "max_price"),
        ({"q": "vp\x00n"}, 400, None),
    ],
)
def test_bad_input_is_a_problem_document(api, demo, path, query, status, field):
    response = api(demo["engineer"]).get(f"{API}{path}", query_string=query)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    if field:
        assert field in response.get_json()["errors"]


HOSTILE = ['"vpn', "vpn OR 1=1", "%_%", "'; DROP TABLE service_offer; --", "a" * 200]


def test_hostile_queries_answer(api, tokens):
    """Quotes, operators, LIKE wildcards, SQL and the limit: 200; a lone surrogate (raw in the
    URL): a problem document, never a 500."""
    client = api(tokens["engineer"])
    for path in ("/offers", "/search"):
        for q in HOSTILE:
            response = client.get(f"{API}{path}?q={quote(q)}")
            assert response.status_code == 200, (path, q)
        response = client.get(f"{API}{path}?q=%ED%A0%80")
        assert response.status_code in (200, 400, 422), path
        assert response.status_code == 200 or response.content_type == "application/problem+json"


def test_q_and_status_together_are_refused(api, demo):
    response = api(demo["manager"]).get(f"{API}/offers?q=vpn&status=draft")
    assert response.status_code == 422
    assert "status" in response.get_json()["errors"]


def test_both_are_in_the_openapi_document(api, demo):
    spec = api(None).get(f"{API}/openapi.json").get_json()
    offers = {p["name"] for p in spec["paths"]["/offers"]["get"]["parameters"]}
    assert {"q", "category_id", "min_price", "max_price", "page", "per_page"} <= offers
    search = spec["paths"]["/search"]["get"]
    assert {"q", "category", "page", "per_page"} <= {p["name"] for p in search["parameters"]}
    assert search["security"] == [{"bearer": []}]
    schema = search["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SearchPage"}
    properties = spec["components"]["schemas"]["SearchPage"]["properties"]
    assert {"items", "facets", "articles", "total", "pages"} <= set(properties)
