"""List pages run a bounded number of SQL statements, whatever the number of offers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import clock
from app.accounts import services as accounts
from app.catalog import services as catalog
from tests.conftest import count_queries

PAGES = {
    "workspace": ("catalog_manager", "/catalog/manage/"),
    "workspace filtered": ("catalog_manager", "/catalog/manage/?status=published&group=-1"),
    "workspace export": ("catalog_manager", "/catalog/manage/export.csv"),
    "catalog home": ("consumer", "/catalog/"),
    "catalog home page 2": ("consumer", "/catalog/?page=2"),
    "catalog sorted by price": ("consumer", "/catalog/?sort=price_desc&min_price=0.5&max_price=90"),
    "catalog newest first": ("consumer", "/catalog/?sort=newest"),
    "category page": ("consumer", "/catalog/categories/network"),
    "category page sorted": ("consumer", "/catalog/categories/network?sort=price_asc&min_price=1"),
    "home page": ("consumer", "/"),
}


@pytest.fixture
def grow(make_offer, catalog_setup):
    """grow(n) adds offers until there are n: published and draft, with categories,
    audiences, featured flags and price changes, so every list column has data."""
    manager = catalog_setup["catalog_manager"]
    finance = accounts.find_group_by_name("Finance")
    network = catalog.save_category(manager, name="Network")
    devices = catalog.save_category(manager, name="Devices", parent_id=network.id)
    made: list = []

    def factory(total: int) -> None:
        while len(made) < total:
            number = len(made)
            code = f"OFFER-{number:03d}"
            offer = make_offer(
                code,
                name=f"Offer {number}",
                publish=number % 5 != 4,
                category_id=(network.id, devices.id)[number % 2],
                group_ids=[finance.id] if number % 3 == 0 else (),
            )
            if number % 4 == 0:
                catalog.set_featured(manager, code, True)
                catalog.add_price_change(
                    manager,
                    code,
                    price="1.00",
                    effective_from=clock.now() - timedelta(days=1),
                    confirm_backdated=True,
                )
            made.append(offer)

    return factory


def measure(client_as) -> dict[str, int]:
    counts = {}
    for name, (role, path) in PAGES.items():
        http = client_as(role)
        http.get(path)  # warm: the first request of a client may load what later ones reuse
        with count_queries() as statements:
            response = http.get(path)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(statements)
    return counts


def test_list_pages_run_the_same_number_of_queries_for_5_and_30_offers(grow, client_as):
    grow(5)
    few = measure(client_as)
    grow(30)
    many = measure(client_as)
    assert many == few
    assert max(few.values()) < 25, few


def test_workspace_filtered_by_a_category_tree_runs_the_same_queries_however_deep(
    make_offer, client_as, catalog_setup
):
    """The subcategories are found in the same SQL statement (a recursive CTE), not one
    query per level or per category."""
    manager = catalog_setup["catalog_manager"]
    top = catalog.save_category(manager, name="Top")
    http = client_as("catalog_manager")
    path = f"/catalog/manage/?category={top.id}"

    def measure() -> int:
        http.get(path)
        with count_queries() as statements:
            response = http.get(path)
        assert response.status_code == 200
        return len(statements)

    parent, counts = top, []
    for depth in range(1, 7):
        parent = catalog.save_category(manager, name=f"Level {depth}", parent_id=parent.id)
        make_offer(f"DEEP-{depth}", category_id=parent.id)
        if depth in (2, 6):
            counts.append(measure())
    assert counts[0] == counts[1]
    page = http.get(path).get_data(as_text=True)
    assert all(f"DEEP-{depth}" in page for depth in range(1, 7))
