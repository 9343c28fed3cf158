"""Conditions on order-form fields: the one evaluator the server trusts.

A condition is JSON, written by catalog managers on an option's `visible_when` or
`required_when`:

    {"field": "gpu", "equals": true}
    {"field": "region", "not_equals": "eu-west"}
    {"field": "region", "in": ["eu-west", "eu-north"]}
    {"field": "memory_gb", "greater_than": 16}      (also "less_than")
    {"field": "notes", "is_set": true}              (false: not set)
    {"all": [...]}  {"any": [...]}  {"not": {...}}   (nestable)

Values are compared the same way in static/js/order-options.js (tests/fixtures/conditions.json
holds the cases both must agree on):
- a missing value (absent, None, "") equals nothing, is in no list and is neither greater nor
  less than anything; `not_equals` is the negation of `equals`, so it holds for a missing value;
- against a boolean, "true"/"yes"/"on"/"1" are true and "false"/"no"/"off"/"0" false;
- two numbers, or a number and a text that reads as one ("32", "-1.5"), compare as numbers;
- anything else compares as text.
"""

from __future__ import annotations

import re
from typing import Any

from .i18n import _

OPERATORS = ("equals", "not_equals", "in", "greater_than", "less_than", "is_set")
GROUPS = ("all", "any")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
MAX_DEPTH = 6


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and NUMBER_RE.match(value.strip()):
        return float(value.strip())
    return None


def _as_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    number = _as_number(value)
    if number is not None and not isinstance(value, str):
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value).strip()


def same(value: Any, expected: Any) -> bool:
    """Whether a field's value equals a condition's value (see the module's rules)."""
    if _missing(value) or expected is None:
        return False
    if isinstance(expected, bool) or isinstance(value, bool):
        left, right = _as_flag(value), _as_flag(expected)
        return left is not None and left == right
    left, right = _as_number(value), _as_number(expected)
    if left is not None and right is not None:
        return left == right
    return as_text(value) == as_text(expected)


def _compare(value: Any, bound: Any, greater: bool) -> bool:
    left, right = _as_number(value), _as_number(bound)
    if _missing(value) or left is None or right is None:
        return False
    return left > right if greater else left < right


def evaluate(condition: Any, values: dict) -> bool:
    """Whether `condition` holds for the form's `values` (key → value). No condition holds."""
    if not condition:
        return True
    if "all" in condition:
        return all(evaluate(part, values) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, values) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], values)
    value = values.get(condition.get("field"))
    if "equals" in condition:
        return same(value, condition["equals"])
    if "not_equals" in condition:
        return not same(value, condition["not_equals"])
    if "in" in condition:
        return any(same(value, item) for item in condition["in"] or [])
    if "greater_than" in condition:
        return _compare(value, condition["greater_than"], True)
    if "less_than" in condition:
        return _compare(value, condition["less_than"], False)
    if "is_set" in condition:
        return (not _missing(value)) == bool(condition["is_set"])
    return False


def fields_named(condition: Any) -> list[str]:
    """The field keys a (well-formed) condition reads, in order, once each."""
    names: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        for group in GROUPS:
            for part in node.get(group) or []:
                walk(part)
        if "not" in node:
            walk(node["not"])
        if isinstance(node.get("field"), str) and node["field"] not in names:
            names.append(node["field"])

    walk(condition)
    return names


def problem(condition: Any, depth: int = 0) -> str | None:
    """What is wrong with the shape of a condition, or None when it can be evaluated."""
    if depth > MAX_DEPTH:
        return _("Nest conditions at most %(count)s deep.", count=MAX_DEPTH)
    if not isinstance(condition, dict):
        return _('A condition is an object, e.g. {"field": "gpu", "equals": true}.')
    groups = [name for name in (*GROUPS, "not") if name in condition]
    if groups:
        if len(condition) != 1:
            return _("Combine conditions with one of all, any or not, alone in its object.")
        parts = condition[groups[0]]
        if groups[0] == "not":
            return problem(parts, depth + 1)
        if not isinstance(parts, list) or not parts:
            return _("“%(name)s” takes a list of conditions.", name=groups[0])
        for part in parts:
            found = problem(part, depth + 1)
            if found:
                return found
        return None
    field = condition.get("field")
    if not isinstance(field, str) or not field.strip():
        return _('Name the field the condition reads: "field": "<key>".')
    used = [name for name in OPERATORS if name in condition]
    if len(used) != 1 or len(condition) != 2:
        return _("Give the field and one test: %(names)s.", names=", ".join(OPERATORS))
    operand = condition[used[0]]
    if used[0] == "in" and not (isinstance(operand, list) and operand):
        return _("“in” takes a list of values.")
    if used[0] in ("greater_than", "less_than") and _as_number(operand) is None:
        return _("“%(name)s” compares with a number.", name=used[0])
    if used[0] == "is_set" and not isinstance(operand, bool):
        return _("“is_set” is true or false.")
    items = operand if used[0] == "in" else [operand]
    if any(isinstance(item, dict | list) for item in items):
        return _("Compare with a value, not an object.")
    return None
