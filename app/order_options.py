"""The rules an order-form field may carry beyond its type, and what they mean for an order:

- `visible_when` / `required_when`: conditions (app/conditions.py) over other fields' values;
- `depends_on` + `choice_map`: a choice field whose choices follow another choice field
  (region → data centre): {"eu-west": ["Dublin 1", "Dublin 2"], ...};
- `choice_list`: a choice field whose choices are a named choice list of the catalog;
- `prices`: what a chosen value adds, once and per month: {"32": {"monthly": "10.00"}}
  (a yes/no toggle prices its "true").

`check_definitions` refuses, with a message on the field, what cannot work (a condition on a
field that does not exist, conditions that go round in a circle, a dependent choice whose
parent is not a choice field). `settling_order` is the order the server and
static/js/order-options.js settle the fields in; `priced` the one price computation."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from . import conditions
from .i18n import _

CONDITION_KEYS = ("visible_when", "required_when")
PRICE_PERIODS = ("one_time", "monthly")
CENT = Decimal("0.01")
MAX_PRICE = Decimal("1000000")

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _json(errors: Errors, field: str, value: Any) -> Any:
    """The editor sends JSON as text; the API and YAML send it as data."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            _add(errors, field, _("This is not valid JSON."))
            return None
    return value


def _condition(errors: Errors, field: str, raw: Any) -> dict | None:
    value = _json(errors, field, raw)
    if value in (None, {}):
        return None
    found = conditions.problem(value)
    if found:
        _add(errors, field, found)
        return None
    return value


def _choice_map(errors: Errors, field: str, raw: Any) -> dict[str, list[str]] | None:
    value = _json(errors, field, raw)
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        _add(errors, field, _("Map each choice of the parent field to a list of choices."))
        return None
    cleaned: dict[str, list[str]] = {}
    for parent, children in value.items():
        if not isinstance(children, list) or not all(
            isinstance(item, str | int | float) and str(item).strip() for item in children
        ):
            _add(errors, field, _("“%(name)s” needs a list of choices.", name=str(parent)[:40]))
            return None
        cleaned[str(parent)] = [str(item).strip() for item in children]
    return cleaned


def _amount(errors: Errors, field: str, value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _add(errors, field, _("An amount is a number, e.g. 10.00."))
        return None
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        _add(errors, field, _("An amount is from 0 to 999999.99."))
        return None
    return amount.quantize(CENT)


def _prices(errors: Errors, field: str, raw: Any, kind: str) -> dict | None:
    value = _json(errors, field, raw)
    if value in (None, {}):
        return None
    if kind not in ("choice", "boolean"):
        _add(errors, field, _("Only a choice field or a yes/no toggle adds to the price."))
        return None
    if not isinstance(value, dict):
        _add(errors, field, _('Prices map a value to its amounts: {"32": {"monthly": "10.00"}}.'))
        return None
    cleaned: dict[str, dict[str, str]] = {}
    for choice, amounts in value.items():
        key = str(choice).strip()
        if kind == "boolean":
            if conditions.same(key, True):
                key = "true"
            else:
                _add(errors, field, _("A yes/no toggle prices its “true” only."))
                return None
        if not isinstance(amounts, dict) or not amounts or set(amounts) - set(PRICE_PERIODS):
            _add(
                errors,
                field,
                _("Give “one_time” and/or “monthly” amounts for “%(name)s”.", name=key[:40]),
            )
            return None
        row = {}
        for period, amount in amounts.items():
            money = _amount(errors, field, amount)
            if money is None:
                return None
            row[period] = str(money)
        cleaned[key] = row
    return cleaned


def clean_rules(errors: Errors, prefix: str, raw: dict, option: dict) -> None:
    """Add an option's conditions, dependent choices, choice list and prices to `option`."""
    for name in CONDITION_KEYS:
        condition = _condition(errors, f"{prefix}.{name}", raw.get(name))
        if condition is not None:
            option[name] = condition
    kind = option.get("type")
    depends_on = raw.get("depends_on")
    if isinstance(depends_on, str) and depends_on.strip():
        if kind != "choice":
            _add(errors, f"{prefix}.depends_on", _("Only a choice field depends on another."))
        option["depends_on"] = depends_on.strip()
        choice_map = _choice_map(errors, f"{prefix}.choice_map", raw.get("choice_map"))
        if choice_map is None and f"{prefix}.choice_map" not in errors:
            _add(errors, f"{prefix}.choice_map", _("Say which choices go with each parent value."))
        if choice_map:
            option["choice_map"] = choice_map
            option["choices"] = list(
                dict.fromkeys(item for items in choice_map.values() for item in items)
            )
    name = raw.get("choice_list")
    if isinstance(name, str) and name.strip():
        if kind != "choice":
            _add(errors, f"{prefix}.choice_list", _("Only a choice field takes a choice list."))
        option["choice_list"] = name.strip()
    prices = _prices(errors, f"{prefix}.prices", raw.get("prices"), kind)
    if prices:
        option["prices"] = prices


def reads(option: dict) -> list[str]:
    """The keys of the fields an option's rules read."""
    keys = [option["depends_on"]] if option.get("depends_on") else []
    for name in CONDITION_KEYS:
        for key in conditions.fields_named(option.get(name)):
            if key not in keys:
                keys.append(key)
    return keys


def settling_order(definitions: list[dict]) -> list[dict]:
    """The definitions, each after the fields it reads (for acyclic definitions)."""
    by_key = {option["key"]: option for option in definitions}
    order: list[dict] = []
    seen: set[str] = set()

    def visit(option: dict) -> None:
        if option["key"] in seen:
            return
        seen.add(option["key"])
        for key in reads(option):
            if key in by_key:
                visit(by_key[key])
        order.append(option)

    for option in definitions:
        visit(option)
    return order


def _cycle_from(start: str, by_key: dict[str, dict]) -> list[str] | None:
    path: list[str] = []

    def walk(key: str) -> list[str] | None:
        if key in path:
            return path[path.index(key) :] + [key]
        if key not in by_key:
            return None
        path.append(key)
        for other in reads(by_key[key]):
            found = walk(other)
            if found:
                return found
        path.pop()
        return None

    found = walk(start)
    return found if found and found[0] == start else None


def check_definitions(errors: Errors, options: list[dict]) -> None:
    """Refuse rules naming missing fields, going round in circles or depending on a non-choice."""
    by_key = {option["key"]: option for option in options if option.get("key")}
    for index, option in enumerate(options):
        prefix = f"options.{index}"
        for name in CONDITION_KEYS:
            unknown = [
                key for key in conditions.fields_named(option.get(name)) if key not in by_key
            ]
            if unknown:
                _add(
                    errors,
                    f"{prefix}.{name}",
                    _("No field of this form is called %(names)s.", names=", ".join(unknown)),
                )
        parent_key = option.get("depends_on")
        if parent_key:
            parent = by_key.get(parent_key)
            if parent is None:
                _add(
                    errors,
                    f"{prefix}.depends_on",
                    _("No field of this form is called %(names)s.", names=parent_key),
                )
            elif parent.get("type") != "choice":
                _add(
                    errors,
                    f"{prefix}.depends_on",
                    _(
                        "“%(name)s” is not a choice field; a dependent choice follows a choice.",
                        name=parent_key,
                    ),
                )
            elif (
                option.get("choice_map") and parent.get("choices") and not parent.get("choice_list")
            ):
                stray = [key for key in option["choice_map"] if key not in parent["choices"]]
                if stray:
                    _add(
                        errors,
                        f"{prefix}.choice_map",
                        _(
                            "Not a choice of %(parent)s: %(names)s.",
                            parent=parent_key,
                            names=", ".join(stray),
                        ),
                    )
        cycle = _cycle_from(option.get("key") or "", by_key)
        if cycle:
            field = next(
                (f"{prefix}.{name}" for name in CONDITION_KEYS if option.get(name)),
                f"{prefix}.depends_on",
            )
            _add(
                errors,
                field,
                _("These rules go round in a circle: %(path)s.", path=" → ".join(cycle)),
            )


def price_key(option: dict, value: Any) -> str | None:
    if value is None:
        return None
    if option.get("type") == "boolean":
        return "true" if conditions.same(value, True) else None
    return conditions.as_text(value)


def priced(definitions: list[dict], values: dict, base: Decimal, billing_period: str) -> dict:
    """The priced breakdown of an order: the offer's price, what each chosen value adds once
    and per month, and the totals one-time and per month (a monthly offer's price is in the
    monthly total, a one-time offer's in the one-time total, a yearly offer's stays apart)."""
    lines = []
    for option in definitions:
        key = price_key(option, values.get(option["key"]))
        amounts = (option.get("prices") or {}).get(key) if key is not None else None
        if amounts:
            lines.append(
                {
                    "key": option["key"],
                    "label": option.get("label") or option["key"],
                    "value": values[option["key"]],
                    **{period: amounts.get(period, "0.00") for period in PRICE_PERIODS},
                }
            )
    totals = {
        period: sum((Decimal(line[period]) for line in lines), Decimal("0.00"))
        for period in PRICE_PERIODS
    }
    extra = dict(totals)
    if billing_period in totals:
        totals[billing_period] += base
    return {
        "base": {"price": str(base), "billing_period": billing_period},
        "lines": lines,
        "extra": {period: str(amount.quantize(CENT)) for period, amount in extra.items()},
        "totals": {period: str(amount.quantize(CENT)) for period, amount in totals.items()},
    }
