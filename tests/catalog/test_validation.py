"""Bad input to the offer services: each refused with a message on the right dotted field,
and nothing saved."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import validation as check
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.models import BundleMember, OfferSettings, ServiceOffer
from app.errors import ValidationFailed
from app.extensions import db

from .conftest import complete_offer_data


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def refused(manager, data: dict) -> dict[str, list[str]]:
    """create_offer refuses `data`; return the field errors, after checking nothing was saved
    (not even once the caller commits whatever the session holds)."""
    before = [count(model) for model in (ServiceOffer, OfferSettings, AuditEvent)]
    with pytest.raises(ValidationFailed) as failure:
        catalog.create_offer(manager, data)
    db.session.commit()
    assert [count(model) for model in (ServiceOffer, OfferSettings, AuditEvent)] == before
    return failure.value.fields


@pytest.fixture
def manager(catalog_setup):
    return catalog_setup["catalog_manager"]


def option(**fields) -> dict:
    return {"key": "size", "label": "Size", "type": "text", **fields}


def test_complete_data_is_accepted(manager):
    offer = catalog.create_offer(manager, complete_offer_data())
    assert offer.price == Decimal("7.50")
    assert offer.options[1]["min"] == 1 and offer.options[1]["max"] == 5


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        ("2030-06-01", "2030-05-31"),
        ("2030-06-01", "2030-06-01"),
        ("2030-06-01T10:00", "2030-06-01T09:59"),
    ],
)
def test_validity_must_end_after_it_starts(manager, valid_from, valid_to):
    fields = refused(manager, complete_offer_data(valid_from=valid_from, valid_to=valid_to))
    assert list(fields) == ["valid_to"]
    assert "after its start" in fields["valid_to"][0]


@pytest.mark.parametrize("value", ["next tuesday", "2030-13-01", 20300101, ["2030-01-01"]])
def test_unreadable_dates_are_refused(manager, value):
    assert list(refused(manager, complete_offer_data(valid_from=value))) == ["valid_from"]


def test_dates_with_an_offset_are_stored_in_utc(manager):
    offer = catalog.create_offer(
        manager, complete_offer_data(valid_from="2030-06-01T02:00:00+02:00")
    )
    db.session.expire_all()
    assert offer.valid_from == datetime(2030, 6, 1, 0, 0, tzinfo=UTC)
    assert offer.valid_from.utcoffset().total_seconds() == 0


# --- money -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["price", "cost"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-0.01", "cannot be negative"),
        (-5, "cannot be negative"),
        ("7.505", "two decimal places"),
        ("0.001", "two decimal places"),
        ("10000000000.00", "too large"),
        ("1e400", "too large"),
        (10**40, "too large"),
        ("abc", "amount such as"),
        ("12,50", "amount such as"),
        ("NaN", "amount such as"),
        ("Infinity", "amount such as"),
        (True, "amount such as"),
        (False, "amount such as"),
        ([7], "amount such as"),
        ({"amount": 7}, "amount such as"),
    ],
)
def test_bad_amounts_are_refused(manager, field, value, message):
    fields = refused(manager, complete_offer_data(**{field: value}))
    assert list(fields) == [field]
    assert message in fields[field][0]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("12", Decimal("12.00")),
        (12.5, Decimal("12.50")),
        ("9999999999.99", Decimal("9999999999.99")),
        (" 0 ", Decimal("0.00")),
        ("7.500", Decimal("7.50")),
    ],
)
def test_good_amounts_are_stored_exactly(manager, value, stored):
    offer = catalog.create_offer(manager, complete_offer_data(price=value))
    db.session.expire_all()
    assert offer.price == stored
    assert isinstance(offer.price, Decimal)


@pytest.mark.parametrize("value", ["XYZ", "EURO", 978, "eu", ["EUR"]])
def test_unknown_currency_is_refused(manager, value):
    fields = refused(manager, complete_offer_data(currency=value))
    assert list(fields) == ["currency"]
    assert "Unknown currency" in fields["currency"][0]


def test_empty_currency_defaults_to_eur_and_case_is_ignored(manager):
    assert catalog.create_offer(manager, complete_offer_data("A-1", currency="")).currency == "EUR"
    assert (
        catalog.create_offer(manager, complete_offer_data("A-2", currency="usd")).currency == "USD"
    )


@pytest.mark.parametrize(("field", "value"), [("kind", "gadget"), ("billing_period", "weekly")])
def test_unknown_kind_and_billing_period_are_refused(manager, field, value):
    assert list(refused(manager, complete_offer_data(**{field: value}))) == [field]


# --- the order form (payload options) ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ([option(type="choice")], "options.0.choices", "at least one choice"),
        ([option(type="choice", choices=[])], "options.0.choices", "at least one choice"),
        ([option(type="choice", choices="  , ")], "options.0.choices", "at least one choice"),
        ([option(type="choice", choices=["s", "s"])], "options.0.choices", "once"),
        (
            [option(type="choice", choices=["s", "m"], default="xl")],
            "options.0.default",
            "one of the choices",
        ),
        ([option(type="number", min=10, max=5)], "options.0.min", "above the maximum"),
        ([option(type="number", min=1, max=5, default=6)], "options.0.default", "at most 5"),
        ([option(type="number", min=1, max=5, default=0)], "options.0.default", "at least 1"),
        ([option(type="number", min="one")], "options.0.min", "Enter a number"),
        ([option(type="number", max=True)], "options.0.max", "Enter a number"),
        ([option(type="number", max=10**400)], "options.0.max", "Enter a number"),
        ([option(type="text", max_length=0)], "options.0.max_length", "at least 1"),
        ([option(type="slider")], "options.0.type", "field type"),
        ([option(key="Size")], "options.0.key", "lower-case"),
        ([option(key="1size")], "options.0.key", "lower-case"),
        ([option(key="size-large")], "options.0.key", "lower-case"),
        ([option(key="")], "options.0.key", "required"),
        ([option(key="k" * 41)], "options.0.key", "40 characters"),
        ([option(label="")], "options.0.label", "required"),
        ([option(), option(label="Size again")], "options.1.key", "used twice"),
        (["size"], "options.0", "object"),
        ({"size": "text"}, "options", "list"),
        ([option(key=f"k{i}") for i in range(51)], "options", "50 fields"),
    ],
)
def test_bad_order_form_fields_are_refused(manager, options, field, message):
    fields = refused(manager, complete_offer_data(options=options))
    assert field in fields, fields
    assert any(message in text for text in fields[field]), fields[field]
    assert all(key == "options" or key.startswith("options.") for key in fields)


def test_duplicate_empty_keys_report_the_missing_key_only(manager):
    fields = refused(manager, complete_offer_data(options=[option(key=""), option(key="")]))
    assert fields["options.0.key"] == ["This field is required."]
    assert fields["options.1.key"] == ["This field is required."]


@pytest.mark.parametrize(
    ("raw", "required", "default"),
    [
        ({"required": "false", "default": "false"}, False, False),
        ({"required": "true", "default": "true"}, True, True),
        ({"required": "0", "default": "0"}, False, False),
        ({"required": "on", "default": "yes"}, True, True),
        ({"required": False, "default": True}, False, True),
    ],
)
def test_boolean_flags_given_as_text_mean_what_they_say(manager, raw, required, default):
    offer = catalog.create_offer(
        manager, complete_offer_data(options=[option(type="boolean", **raw)])
    )
    assert offer.options[0]["required"] is required
    assert offer.options[0]["default"] is default


# --- fulfillment plan, support plan, service levels --------------------------------------


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        (
            {"name": "Approve", "mode": "manual", "expected_hours": 2},
            "fulfillment_plan.0.group",
            "needs the group",
        ),
        (
            {"name": "Approve", "mode": "manual", "group": "Nobody", "expected_hours": 2},
            "fulfillment_plan.0.group",
            "Unknown group",
        ),
        (
            {"name": "", "mode": "automatic", "integration": None, "expected_hours": 2},
            "fulfillment_plan.0.name",
            "required",
        ),
        ({"name": "Run", "mode": "magic", "expected_hours": 2}, "fulfillment_plan.0.mode", "mode"),
        (
            {"name": "Run", "mode": "automatic", "integration": None},
            "fulfillment_plan.0.expected_hours",
            "Enter a number",
        ),
        (
            {"name": "Run", "mode": "automatic", "integration": None, "expected_hours": 0},
            "fulfillment_plan.0.expected_hours",
            "more than 0",
        ),
        (
            {"name": "Run", "mode": "automatic", "integration": None, "expected_hours": 9000},
            "fulfillment_plan.0.expected_hours",
            "at most",
        ),
    ],
)
def test_bad_fulfillment_steps_are_refused(manager, step, field, message):
    fields = refused(manager, complete_offer_data(fulfillment_plan=[step]))
    assert list(fields) == [field]
    assert message in fields[field][0]


def test_automatic_steps_need_no_group(manager):
    offer = catalog.create_offer(
        manager,
        complete_offer_data(
            fulfillment_plan=[
                {
                    "name": "Run",
                    "mode": "automatic",
                    "group": "x",
                    "integration": None,
                    "expected_hours": 1,
                }
            ]
        ),
    )
    assert offer.fulfillment_plan == [
        {"name": "Run", "mode": "automatic", "expected_hours": 1, "group": "", "integration": None}
    ]


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        (
            {"tier1_group": "Support Desk", "channels": ["portal", "pigeon"]},
            "support_plan.channels",
        ),
        ({"tier1_group": "Support Desk", "channels": "portal, fax"}, "support_plan.channels"),
        ({"tier1_group": "Nobody", "channels": ["portal"]}, "support_plan.tier1_group"),
        ({"tier1_group": "Support Desk", "escalation_path": 5}, "support_plan.escalation_path"),
        ("Support Desk", "support_plan"),
    ],
)
def test_bad_support_plans_are_refused(manager, plan, field):
    assert list(refused(manager, complete_offer_data(support_plan=plan))) == [field]


def levels(**overrides) -> dict:
    return {**complete_offer_data()["service_levels"], **overrides}


@pytest.mark.parametrize(
    ("service_levels", "field", "message"),
    [
        (levels(availability_pct=0), "service_levels.availability_pct", "more than 0"),
        (levels(availability_pct=101), "service_levels.availability_pct", "at most 100"),
        (levels(availability_pct=-3), "service_levels.availability_pct", "more than 0"),
        (levels(availability_pct="high"), "service_levels.availability_pct", "Enter a number"),
        (levels(availability_pct=True), "service_levels.availability_pct", "Enter a number"),
        (
            levels(fulfillment_target_hours=0),
            "service_levels.fulfillment_target_hours",
            "more than 0",
        ),
        (levels(support_hours="sometimes"), "service_levels.support_hours", "support hours"),
        (
            levels(response_hours={"critical": 8}, resolution_hours={"critical": 4}),
            "service_levels.resolution_hours.critical",
            "before the first response",
        ),
        (levels(response_hours={"urgent": 1}), "service_levels.response_hours", "Unknown priority"),
        (levels(response_hours=[1, 2]), "service_levels.response_hours", "per priority"),
        (
            levels(resolution_hours={"low": -1}),
            "service_levels.resolution_hours.low",
            "more than 0",
        ),
        ([99.9], "service_levels", "object"),
    ],
)
def test_bad_service_levels_are_refused(manager, service_levels, field, message):
    fields = refused(manager, complete_offer_data(service_levels=service_levels))
    assert list(fields) == [field]
    assert message in fields[field][0]


def test_resolution_equal_to_response_is_fine_and_100_pct_is_allowed(manager):
    offer = catalog.create_offer(
        manager,
        complete_offer_data(
            service_levels=levels(
                availability_pct=100,
                response_hours={"critical": 4},
                resolution_hours={"critical": 4},
            )
        ),
    )
    assert offer.service_levels["availability_pct"] == 100
    assert offer.service_levels["resolution_hours"] == {"critical": 4}


# --- text ---------------------------------------------------------------------------------


def test_unicode_text_is_kept_intact(manager):
    name = "Ünïcödé café ☕ 日本語のサービス — «VPN» 🚀"
    offer = catalog.create_offer(
        manager, complete_offer_data(name=name, summary="Ελληνικά, עברית, العربية")
    )
    db.session.expire_all()
    stored = db.session.get(ServiceOffer, offer.id)
    assert stored.name == name
    assert stored.summary == "Ελληνικά, עברית, العربية"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 10_000, "160 characters"),
        ("name", "x" * 161, "160 characters"),
        ("name", "", "required"),
        ("name", "   ", "required"),
        ("name", None, "required"),
        ("name", 42, "Enter text"),
        ("name", ["VPN"], "Enter text"),
        ("name", "VPN\x00access", "characters"),
        ("summary", "s" * 301, "300 characters"),
        ("terms", "t" * 50_001, "50,000 characters"),
    ],
)
def test_bad_text_is_refused(manager, field, value, message):
    fields = refused(manager, complete_offer_data(**{field: value}))
    assert list(fields) == [field]
    assert message in fields[field][0]


def test_a_name_of_exactly_160_characters_is_fine(manager):
    assert len(catalog.create_offer(manager, complete_offer_data(name="n" * 160)).name) == 160


@pytest.mark.parametrize("code", ["", "A", "vpn access", "VPN_ACCESS", "-VPN", "V" * 41, "VPN/1"])
def test_bad_codes_are_refused(manager, code):
    assert "code" in refused(manager, complete_offer_data(code=code))


def test_a_used_code_is_refused(manager):
    catalog.create_offer(manager, complete_offer_data("VPN"))
    fields = refused(manager, complete_offer_data("vpn"))
    assert fields == {"code": ["The code VPN is already used."]}


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["category_id", "release_id", "product_id"])
@pytest.mark.parametrize("value", [999_999, "abc", True, 1.5, 10**30, float("inf"), -1])
def test_unknown_or_malformed_references_are_refused(manager, field, value):
    fields = refused(manager, complete_offer_data(**{field: value}))
    assert fields == {field: ["Choose from the list."]}


def test_fractional_and_textual_ids(manager):
    category = catalog.save_category(manager, name="Devices")
    assert (
        catalog.create_offer(
            manager, complete_offer_data("A-1", category_id=str(category.id))
        ).category_id
        == category.id
    )
    fields = refused(manager, complete_offer_data("A-2", category_id=category.id + 0.5))
    assert fields == {"category_id": ["Choose from the list."]}


def test_several_errors_are_reported_together(manager):
    fields = refused(
        manager,
        complete_offer_data(
            code="bad code",
            name="",
            price="-1",
            currency="XXX",
            valid_from="2030-02-01",
            valid_to="2030-01-01",
        ),
    )
    assert set(fields) == {"code", "name", "price", "currency", "valid_to"}


# --- edits: refused with nothing changed -------------------------------------------------


def test_a_refused_edit_changes_nothing(manager):
    offer = catalog.create_offer(manager, complete_offer_data())
    events = count(AuditEvent)
    with pytest.raises(ValidationFailed) as failure:
        catalog.update_offer(
            manager,
            offer.id,
            {"name": "New name", "price": "-2", "options": [option(type="choice")]},
            expected_version=1,
        )
    assert set(failure.value.fields) == {"price", "options.0.choices"}
    db.session.commit()
    db.session.expire_all()
    offer = db.session.get(ServiceOffer, offer.id)
    assert (offer.name, offer.price, offer.version) == ("VPN access", Decimal("7.50"), 1)
    assert count(AuditEvent) == events


def test_a_partial_edit_keeps_the_other_fields(manager):
    offer = catalog.create_offer(manager, complete_offer_data())
    catalog.update_offer(manager, offer.id, {"price": "8"}, expected_version=1)
    db.session.expire_all()
    offer = db.session.get(ServiceOffer, offer.id)
    assert offer.price == Decimal("8.00")
    assert offer.name == "VPN access"
    assert [item["key"] for item in offer.options] == ["profile", "devices", "split_tunnel", "note"]
    assert offer.version == 2


def test_a_bundle_cannot_become_a_plain_offer_while_it_has_members(manager, make_offer):
    make_offer("MEMBER-A")
    bundle = catalog.create_offer(manager, complete_offer_data("KIT", kind="bundle"))
    catalog.set_bundle_members(manager, bundle.id, ["MEMBER-A"])
    with pytest.raises(ValidationFailed) as failure:
        catalog.update_offer(manager, bundle.id, {"kind": "new_instance"}, expected_version=2)
    assert list(failure.value.fields) == ["kind"]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ServiceOffer, bundle.id).kind == "bundle"
    assert count(BundleMember) == 1


# --- the field checks on their own --------------------------------------------------------


def test_number_refuses_huge_integers_without_crashing():
    errors: check.Errors = {}
    assert check.number(errors, "n", 10**400) is None
    assert errors == {"n": ["Enter a number."]}


def test_moment_accepts_dates_and_returns_aware_utc():
    errors: check.Errors = {}
    assert check.moment(errors, "d", "2030-01-02") == datetime(2030, 1, 2, tzinfo=UTC)
    assert check.moment(errors, "d", "2030-01-02T00:00:00Z") == datetime(2030, 1, 2, tzinfo=UTC)
    assert check.moment(errors, "d", "9999-12-31T23:59:59-05:00") is None
    assert list(errors) == ["d"]
