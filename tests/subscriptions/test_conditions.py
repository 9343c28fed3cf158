"""The approval condition language: parsed against a whitelist, refused at save with the
position of the error, evaluated the same way everywhere, explained with the order's values."""

from decimal import Decimal

import pytest

from app.subscriptions.services import conditions

LAPTOP = "price_one_time >= 1500"
EXPENSIVE = "price_monthly > 100"
BIG_VM = "options.memory_gb >= 32 or options.admin_rights == true"
SMALL = "price_monthly <= 50 and not options.admin_rights == true"
REGION = 'options.region in ["eu-west", "eu-central"]'

# policy condition × price × billing × options → does it hold (worked out by hand)
TABLE = [
    (EXPENSIVE, "45.00", "monthly", {}, False),
    (EXPENSIVE, "100.00", "monthly", {}, False),  # > is strict
    (EXPENSIVE, "100.01", "monthly", {}, True),
    (EXPENSIVE, "1212.00", "yearly", {}, True),  # 101.00 a month
    (EXPENSIVE, "1200.00", "yearly", {}, False),  # 100.00 a month
    (EXPENSIVE, "5000.00", "one_time", {}, False),  # nothing a month
    (LAPTOP, "1499.99", "one_time", {}, False),
    (LAPTOP, "1500.00", "one_time", {}, True),
    (LAPTOP, "1500.00", "monthly", {}, False),
    (BIG_VM, "80.00", "monthly", {"memory_gb": 16, "admin_rights": False}, False),
    (BIG_VM, "80.00", "monthly", {"memory_gb": 32, "admin_rights": False}, True),
    (BIG_VM, "80.00", "monthly", {"memory_gb": 8, "admin_rights": True}, True),
    (BIG_VM, "80.00", "monthly", {}, False),  # options not chosen are null
    (BIG_VM, "80.00", "monthly", {"memory_gb": "lots"}, False),  # text vs number: false
    (SMALL, "50.00", "monthly", {"admin_rights": False}, True),
    (SMALL, "50.00", "monthly", {"admin_rights": True}, False),
    (SMALL, "50.01", "monthly", {"admin_rights": False}, False),
    (SMALL, "600.00", "yearly", {}, True),  # 50.00 a month, no admin rights chosen
    (REGION, "10.00", "monthly", {"region": "eu-west"}, True),
    (REGION, "10.00", "monthly", {"region": "us-east"}, False),
    ("options.cores in [2, 4]", "10.00", "monthly", {"cores": 4}, True),
    ("options.cores not in [2, 4]", "10.00", "monthly", {"cores": 8}, True),
    ("10 < price_monthly < 20", "15.00", "monthly", {}, True),
    ("10 < price_monthly < 20", "25.00", "monthly", {}, False),
    ('currency == "EUR" and price_monthly >= 0', "0.00", "monthly", {}, True),
]


@pytest.mark.parametrize(("expression", "price", "period", "options", "expected"), TABLE)
def test_outcomes_by_hand(expression, price, period, options, expected):
    facts = conditions.facts_for(price, period, "EUR", options)
    assert conditions.evaluate(expression, facts) is expected
    assert conditions.explain(expression, facts)[0] is expected


def test_monthly_equivalent_prices():
    assert conditions.facts_for("1212.00", "yearly", "EUR", {}).price_monthly == Decimal("101.00")
    assert conditions.facts_for("90.00", "one_time", "EUR", {}).price_one_time == Decimal("90.00")
    assert conditions.facts_for("90.00", "one_time", "EUR", {}).price_monthly == Decimal("0")
    assert conditions.facts_for(None, "monthly", "EUR", {}).price_monthly == Decimal("0")


@pytest.mark.parametrize(
    ("expression", "price", "options", "reason"),
    [
        (EXPENSIVE, "45.00", {}, "price 45.00 EUR/month ≤ 100"),
        (EXPENSIVE, "145.50", {}, "price 145.50 EUR/month > 100"),
        (BIG_VM, "80.00", {"memory_gb": 64}, "memory_gb 64 ≥ 32"),
        (
            BIG_VM,
            "80.00",
            {"memory_gb": 16, "admin_rights": False},
            "memory_gb 16 < 32; admin_rights false ≠ true",
        ),
        (REGION, "1.00", {"region": "us"}, "region “us” not in [“eu-west”, “eu-central”]"),
        ("not price_monthly > 10", "5.00", {}, "price 5.00 EUR/month ≤ 10"),
    ],
)
def test_explanations_name_the_values(expression, price, options, reason):
    facts = conditions.facts_for(price, "monthly", "EUR", options)
    assert conditions.explain(expression, facts)[1] == reason


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("price_monthly >", "This is not a valid expression. (at column 16)"),
        ("price_monthly > 100 andd x", "This is not a valid expression. (at column 21)"),
        (
            '__import__("os").system("id")',
            "Only comparisons, and, or and not are allowed. (at column 1)",
        ),
        (
            "price_monthly > 1 and salary > 3",
            "Unknown name “salary”: use price_monthly, price_one_time, currency or options.<key>. (at column 23)",
        ),
        ("options.memory_gb.real > 1", "Only options.<key> can have a dot. (at column 1)"),
        (
            "price_monthly * 2 > 100",
            "Compare a price or an option with a number, a text or a list. (at column 1)",
        ),
        ("options.disk_gb > 100", "The offer has no option “disk_gb”. (at column 1)"),
        (
            "price_monthly > 1 if true else false",
            "Only comparisons, and, or and not are allowed. (at column 1)",
        ),
        ("options.x in [price_monthly]", "A list holds only numbers and texts. (at column 15)"),
        ("price_monthly is None", "This comparison is not allowed. (at column 1)"),
        ("", "The condition is empty. (at column 1)"),
        ("price_monthly > 1\nor true", "A condition is one line. (at column 18)"),
    ],
)
def test_invalid_expressions_are_refused_with_their_position(expression, message):
    assert conditions.validate(expression, option_keys={"memory_gb", "x"}) == message


def test_any_option_key_is_allowed_without_an_offer():
    assert conditions.validate("options.disk_gb > 100") is None
    assert conditions.validate("options.admin_rights == true") is None
