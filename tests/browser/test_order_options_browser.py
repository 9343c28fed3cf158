"""In Chromium: static/js/order-options.js passes the same condition table as the Python
evaluator (tests/fixtures/conditions.json), and the Virtual machine order form follows the
consumer's choices: data-centre choices follow the region, turning on GPU shows a required GPU
model, the monthly price goes up, and the contract shows the priced breakdown."""

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.subscriptions.models import ServiceContract
from tests.catalog import conftest as catalog_fixtures
from tests.conftest import DEMO_PASSWORD, browser_login
from tests.vm_options import VM_OPTIONS

pytestmark = pytest.mark.browser

catalog_setup = catalog_fixtures.catalog_setup
make_offer = catalog_fixtures.make_offer
TABLE = json.loads((Path(__file__).parents[1] / "fixtures" / "conditions.json").read_text())
SCRIPT = (Path(__file__).parents[2] / "static" / "js" / "order-options.js").read_text()


def test_the_javascript_evaluator_passes_the_shared_condition_table(page):
    page.set_content("<!doctype html><html><body><p>table</p></body></html>")
    page.add_script_tag(content=SCRIPT)
    results = page.evaluate(
        "cases => cases.map(c => window.OrderOptions.evaluate(c.condition, c.values))",
        TABLE["cases"],
    )
    wrong = [
        case["name"]
        for case, result in zip(TABLE["cases"], results, strict=True)
        if result is not case["expected"]
    ]
    assert len(results) >= 30
    assert wrong == []


def _choices(page, label: str) -> list[str]:
    return page.get_by_label(label).evaluate("s => Array.from(s.options).map(o => o.value)")


def test_the_virtual_machine_form_follows_the_consumers_choices(page, make_offer, users):
    vm = make_offer("VM-TEST", name="Virtual machine", price="80.00", options=VM_OPTIONS)
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.goto(f"/subscriptions/new?offer={vm.id}")
    monthly = page.get_by_test_id("total-monthly")
    expect(monthly).to_have_text("80.00 EUR")
    expect(page.get_by_label("GPU model")).to_be_hidden()

    page.get_by_label("Region").select_option("eu-west")
    assert _choices(page, "Data centre") == ["", "Dublin 1", "Dublin 2"]
    page.get_by_label("Region").select_option("eu-north")
    assert _choices(page, "Data centre") == ["", "Stockholm 1"]
    page.get_by_label("Data centre").select_option("Stockholm 1")

    page.get_by_label("Memory (GB)").select_option("32")
    expect(monthly).to_have_text("90.00 EUR")
    page.get_by_label("GPU", exact=True).check()
    expect(page.get_by_label("GPU model")).to_be_visible()
    expect(page.get_by_label("GPU model")).to_have_attribute("aria-required", "true")
    expect(monthly).to_have_text("130.00 EUR")
    expect(page.get_by_test_id("total-one-time")).to_have_text("25.00 EUR")

    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()  # no GPU model yet: refused
    expect(page.get_by_text("GPU model is required.")).to_be_visible()
    page.get_by_label("GPU model").select_option("A100")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))

    db.session.expire_all()
    contract = db.session.scalars(sa.select(ServiceContract)).one()
    assert contract.snapshot["options"] == {
        "region": "eu-north",
        "data_centre": "Stockholm 1",
        "memory_gb": "32",
        "gpu": True,
        "gpu_model": "A100",
    }
    page.goto(f"/contracts/{contract.id}")
    breakdown = page.get_by_test_id("price-breakdown")
    expect(breakdown).to_contain_text("Memory (GB): 32")
    expect(breakdown.locator("tfoot")).to_have_text(re.compile(r"Total\s*25.00 EUR\s*130.00 EUR"))


def test_a_long_choice_list_is_searched_as_the_consumer_types(page, make_offer, users):
    from app.catalog.services import choice_lists

    choice_lists.save_choice_list(
        users["catalog_manager"],
        {
            "name": "cost-centres",
            "label": "Cost centres",
            "entries": [
                {"value": f"CC-{n:04d}", "label": f"Department {n}"} for n in range(1, 501)
            ],
        },
    )
    field = {
        "key": "cost_centre",
        "label": "Cost centre",
        "type": "choice",
        "choice_list": "cost-centres",
        "required": True,
    }
    offer = make_offer("SEATS-CC", options=[field])
    browser_login(page, users["consumer"].email, DEMO_PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/subscriptions/new?offer={offer.id}")
    box = page.get_by_role("combobox", name="Cost centre")
    expect(page.locator("#option_cost_centre-list option")).to_have_count(0)
    box.press_sequentially("CC-049")
    suggestions = page.locator("#option_cost_centre-list option")
    expect(suggestions).to_have_count(10)  # CC-0490 to CC-0499
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box.fill("CC-0042")
    page.get_by_label("I accept the terms and conditions").check()
    page.get_by_role("button", name="Agree and order").click()
    page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
    db.session.expire_all()
    assert db.session.scalars(sa.select(ServiceContract)).one().snapshot["options"] == {
        "cost_centre": "CC-0042"
    }
