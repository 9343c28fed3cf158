"""Layout polish on the demo data (issue 15, item 16), measured in the browser: the header of a
consumer and of an agent is one row at 1280 px; a required field's `*` sits on its label's
line; the offer editor's tabs stay one row and scroll inside their bar; date fields have hints
in words (the browser shows its own date format); workspace dates do not break; usage charts
are as wide as their box with x-axis labels apart; dashboard counts step by whole numbers."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts.models import User
from app.catalog.models import ServiceOffer
from app.demo.seeds import load_seeds
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "offerdesk-demo"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def demo(live_server):
    load_seeds()
    db.session.commit()


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def _tops(locator) -> set[int]:
    return {round(_box(item)["y"]) for item in locator.all()}


@pytest.mark.parametrize(
    "email, entries",
    [
        ("erik@offerdesk.example", 7),  # a consumer (the Cart among them)
        ("fiona@offerdesk.example", 8),  # a consumer who manages Finance: My groups too
        ("agent1@offerdesk.example", 5),
    ],
)
def test_the_header_is_one_row_at_1280_for_consumers_and_agents(page, demo, email, entries):
    browser_login(page, email, DEMO_PASSWORD)
    nav_items = page.get_by_role("navigation", name="Main").get_by_role("listitem")
    assert nav_items.count() == entries
    assert len(_tops(nav_items)) == 1
    bar = _box(page.locator(".site-header .bar"))
    row = _box(nav_items.first)
    for part in ("a.brand", "form.header-search", ".user-menu"):
        box = _box(page.locator(f".site-header {part}"))
        assert box["y"] >= bar["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"]
        assert abs((box["y"] + box["height"] / 2) - (row["y"] + row["height"] / 2)) < 8, part
    assert bar["height"] < 2 * row["height"]


def test_a_required_star_sits_on_its_label_line(page):
    page.goto("/login")
    label = page.locator("label[for=email]")
    star = label.locator(".req")
    expect(star).to_have_text("*")
    # the star is not read out: the field's name stays "E-mail"
    expect(page.get_by_role("textbox", name="E-mail", exact=True)).to_be_visible()
    label_box, star_box = _box(label), _box(star)
    assert label_box["height"] < 30  # one line
    assert star_box["y"] >= label_box["y"] and star_box["x"] > label_box["x"]


def test_the_editor_tabs_stay_one_row_and_scroll_in_their_bar_on_a_phone(page, demo):
    offer = db.session.scalar(sa.select(ServiceOffer.id).where(ServiceOffer.code == "VPN-ACCESS"))
    browser_login(page, "catalog@offerdesk.example", DEMO_PASSWORD)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"/catalog/manage/offers/{offer}")
        tabs = page.get_by_role("navigation", name="Offer sections").get_by_role("listitem")
        assert tabs.count() >= 6
        assert len(_tops(tabs)) == 1, viewport
    bar = page.locator(".tabs ul")
    assert bar.evaluate("ul => ul.scrollWidth > ul.clientWidth")  # it scrolls, the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_date_fields_say_in_words_what_to_enter(page, demo):
    fiona = db.session.scalar(sa.select(User).where(User.email == "fiona@offerdesk.example"))
    subscription = db.session.scalar(
        sa.select(Subscription.id)
        .where(Subscription.status == "active", Subscription.group_id.in_(fiona.group_ids))
        .order_by(Subscription.id)
    )
    browser_login(page, fiona.email, DEMO_PASSWORD)
    page.goto(f"/status/subscriptions/{subscription}")
    start = page.locator("#from")
    expect(start).to_have_attribute("type", "date")
    expect(page.locator("#from-hint")).to_have_text("First day shown.")
    expect(page.get_by_role("form", name="Date range")).not_to_contain_text("YYYY")
    _check_charts(page, subscription)


def _check_charts(page, subscription: int) -> None:
    """Each usage chart fills its box, and its x-axis labels do not overlap, wide and narrow."""
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(f"/status/subscriptions/{subscription}")
        charts = page.locator("figure.usage-metric svg.chart")
        assert charts.count() >= 1
        for chart in charts.all():
            box = _box(chart)
            room = chart.evaluate(
                "svg => { const s = getComputedStyle(svg.parentElement);"
                " return svg.parentElement.clientWidth - parseFloat(s.paddingLeft)"
                " - parseFloat(s.paddingRight); }"
            )
            assert abs(box["width"] - room) <= 2, (viewport, box["width"], room)
            labels = [_box(t) for t in chart.locator(".chart-grid text[text-anchor=middle]").all()]
            assert len(labels) >= 2
            for left, right in zip(labels, labels[1:], strict=False):
                assert left["x"] + left["width"] < right["x"], viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_workspace_dates_do_not_break_and_dashboard_counts_step_by_whole_numbers(page, demo):
    browser_login(page, "catalog@offerdesk.example", DEMO_PASSWORD)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto("/catalog/manage/")
        dates = page.get_by_test_id("workspace-table").locator(".date")
        assert dates.count() >= 10
        for date in dates.all()[:20]:
            assert _box(date)["height"] < 26, (viewport, date.inner_text())  # one line
    page.set_viewport_size(DESKTOP)
    page.goto("/status/dashboard")
    counted = page.locator("svg.chart")  # active, new and ended, done per week: all counts
    assert counted.count() >= 1
    for chart in counted.all():
        steps = chart.locator(".chart-grid text[text-anchor=end]").all_text_contents()
        assert steps and all(re.fullmatch(r"\d[\d,]*", step) for step in steps), steps
