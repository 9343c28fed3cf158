"""Comparing three offers in a real browser: offers are chosen from the catalog's cards, and the
compare page fits the viewport at 1280 px and at 390 px (there the table scrolls inside its own
box, never the page). Screenshots are kept in the test's temporary folder."""

import re

import pytest
from playwright.sync_api import expect

from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer

LONG_SUMMARY = (
    "A managed workstation with a very long description: "
    "Ultra-high-availability-geo-redundant-failover-cluster-provisioning included, "
    "with every accessory a person could want for hybrid work, shipped to the office or home."
)


def document_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def column_boxes(page) -> list[dict]:
    """Each compared offer's column header, with its box and the scroll box's."""
    return page.evaluate(
        """() => {
          const wrap = document.querySelector('.compare-table');
          const box = wrap.getBoundingClientRect();
          return [...document.querySelectorAll('.compare-grid > thead > tr > th')].slice(1).map((th) => {
            const r = th.getBoundingClientRect();
            return {left: r.left - box.left + wrap.scrollLeft, right: r.right - box.left + wrap.scrollLeft,
                    scroll: wrap.scrollWidth, wrapRight: box.right};
          });
        }"""
    )


def test_three_offers_chosen_from_the_catalog_fit_at_1280_and_390(
    page, make_offer, users, tmp_path
):
    make_offer("VPN-ACCESS", name="VPN access")
    make_offer("LAPTOP", name="Laptop", summary=LONG_SUMMARY, price="45.00")
    make_offer("MONITOR", name="Monitor 27 inch", summary="A monitor.", price="12.00")
    dock = make_offer("DOCK", name="Docking station", summary=LONG_SUMMARY, price="9.00")

    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto("/catalog/")
    for name in ("VPN access", "Laptop", "Monitor 27 inch"):  # three of the four
        page.get_by_role("link", name=re.compile(rf"^Add to comparison\W+{name}$")).first.click()
        page.wait_for_load_state()
    bar = page.get_by_test_id("compare-bar")
    expect(bar).to_contain_text("3 offers chosen to compare")
    bar.get_by_role("link", name="Compare them").click()
    page.wait_for_url(re.compile(r"/compare\?ids=\d+,\d+,\d+$"))

    table = page.get_by_role("table").first
    for name in ("VPN access", "Laptop", "Monitor 27 inch"):
        expect(table.get_by_role("columnheader", name=re.compile(f"^{name}"))).to_be_visible()

    # 1280 px: every column inside the viewport, the page no wider than it.
    assert document_width(page) <= 1280
    for column in column_boxes(page):
        assert column["right"] <= column["scroll"] + 1 and column["scroll"] <= 1280
    for column in page.locator(".compare-grid > thead > tr > th").all()[1:]:
        box = column.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    page.screenshot(path=str(tmp_path / "compare-1280.png"), full_page=True)

    # 390 px: the page does not overflow; the table scrolls inside its own box, which holds
    # every column.
    page.set_viewport_size({"width": 390, "height": 844})
    assert document_width(page) <= 390
    columns = column_boxes(page)
    assert len(columns) == 3
    for column in columns:
        assert 0 <= column["left"] < column["right"] <= column["scroll"] + 1
    assert columns[0]["wrapRight"] <= 390
    wrap = page.locator(".compare-table")
    wrap.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    last = page.locator(".compare-grid > thead > tr > th").last
    expect(last).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "compare-390.png"), full_page=True)
    assert (tmp_path / "compare-1280.png").stat().st_size > 0
    assert (tmp_path / "compare-390.png").stat().st_size > 0

    # Removing one from the compare page and going back to the catalog keeps the others.
    page.set_viewport_size({"width": 1280, "height": 900})
    table.get_by_role("link", name="Remove Monitor 27 inch").click()
    expect(page.get_by_role("columnheader", name=re.compile("^Monitor"))).to_have_count(0)
    page.get_by_role("link", name="‹ Catalog").click()
    expect(page.get_by_test_id("compare-bar")).to_contain_text("2 offers chosen to compare")

    # Four offers, the most, still fit at 1280 px.
    chosen = page.url.split("compare=")[1].split("#")[0]
    page.goto(f"/compare?ids={chosen}&add={dock.id}")
    page.get_by_label("Add an offer").select_option(label="Monitor 27 inch (MONITOR)")
    page.get_by_role("button", name="Add to comparison").click()
    expect(page.get_by_text("You are comparing 4 offers, the most at a time.")).to_be_visible()
    headers = page.locator(".compare-grid > thead > tr > th")
    expect(headers).to_have_count(5)
    assert document_width(page) <= 1280
    for column in headers.all()[1:]:
        box = column.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    page.screenshot(path=str(tmp_path / "compare-4-1280.png"), full_page=True)
