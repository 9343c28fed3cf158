"""The shared condition table (tests/fixtures/conditions.json) in the Python evaluator; the
browser test tests/browser/test_order_options_browser.py runs the same file in Chromium."""

import json
from pathlib import Path

import pytest

from app.conditions import evaluate, problem

CASES = json.loads((Path(__file__).parent / "fixtures" / "conditions.json").read_text())["cases"]


def test_the_table_has_enough_cases_with_nesting_and_missing_values():
    assert len(CASES) >= 30
    text = json.dumps([case["condition"] for case in CASES])
    assert '"all"' in text and '"any"' in text
    assert any(not case["values"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_python_evaluates_each_case_as_the_table_says(case):
    assert evaluate(case["condition"], case["values"]) is case["expected"]


@pytest.mark.parametrize("case", [c for c in CASES if c["condition"]], ids=lambda c: c["name"])
def test_every_condition_of_the_table_is_well_formed(case):
    assert problem(case["condition"]) is None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("gpu", "A condition is an object"),
        ({"field": "gpu"}, "Give the field and one test"),
        ({"field": "gpu", "equals": True, "in": [1]}, "Give the field and one test"),
        ({"equals": True}, "Name the field the condition reads"),
        ({"all": []}, "“all” takes a list of conditions."),
        ({"any": [{"field": "a", "equals": 1}], "field": "b"}, "Combine conditions"),
        ({"field": "m", "greater_than": "lots"}, "“greater_than” compares with a number."),
        ({"field": "m", "in": "eu"}, "“in” takes a list of values."),
        ({"field": "m", "is_set": "yes"}, "“is_set” is true or false."),
    ],
)
def test_malformed_conditions_are_explained(condition, message):
    assert problem(condition).startswith(message)
