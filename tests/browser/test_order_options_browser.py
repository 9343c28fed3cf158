"""In Chromium: static/js/order-options.js passes the same condition table as the Python
evaluator (tests/fixtures/conditions.json), and the Virtual machine order form follows the
consumer's choices: data-centre choices follow the region, turning on GPU shows a required GPU
model, the monthly price goes up, and the contract shows the priced breakdown."""

import json
from pathlib import Path

import pytest

from tests.catalog import conftest as catalog_fixtures

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
