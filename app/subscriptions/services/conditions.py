"""Approval conditions: a small, safe expression language over an order's price and options.

    price_monthly > 100
    price_one_time >= 500 or options.memory_gb >= 32
    options.admin_rights == true and not (options.region in ["eu-west", "eu-central"])

An expression is parsed with Python's `ast` (mode "eval") and every node is checked against a
whitelist: boolean operators (and, or, not), comparisons (==, !=, <, <=, >, >=, in, not in,
chained), parentheses, numbers, strings, true/false/null, lists of literals, and the names
`price_monthly`, `price_one_time`, `currency` and `options.<key>`. Nothing is ever passed to
`eval`: `evaluate` walks the checked tree itself. `validate` answers with the position of the
first error (line 1, column counted from 1), so a policy is refused when saved, never when an
order meets it.

Evaluation never fails: a missing option is null, and a comparison between values of different
kinds (a text with a number) is false, so `options.memory_gb >= 32` does not hold for an order
without that option. `explain` says why an expression came out as it did, with the order's
values: "price 45.00 EUR/month ≤ 100"."""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ...i18n import _

PRICE_NAMES = ("price_monthly", "price_one_time")
NAMES = (*PRICE_NAMES, "currency")
CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False}
MAX_LENGTH = 500

_COMPARE = {
    ast.Eq: (operator.eq, "==", "≠"),
    ast.NotEq: (operator.ne, "≠", "=="),
    ast.Lt: (operator.lt, "<", "≥"),
    ast.LtE: (operator.le, "≤", ">"),
    ast.Gt: (operator.gt, ">", "≤"),
    ast.GtE: (operator.ge, "≥", "<"),
    ast.In: (None, "in", "not in"),
    ast.NotIn: (None, "not in", "in"),
}


class ConditionError(ValueError):
    """An expression that is not a condition: `message` and where (1-based column)."""

    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (column {column})")
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return _("%(message)s (at column %(column)d)", message=self.message, column=self.column)


@dataclass
class Facts:
    """What a condition reads of an order: its monthly-equivalent and one-time price, the
    currency and the chosen options."""

    price_monthly: Decimal = Decimal("0")
    price_one_time: Decimal = Decimal("0")
    currency: str = "EUR"
    options: dict = field(default_factory=dict)


def facts_for(price: Any, billing_period: str, currency: str, options: dict | None) -> Facts:
    """The facts of an order at `price` per `billing_period` (one_time, monthly, yearly)."""
    try:
        amount = Decimal(str(price if price is not None else "0"))
    except InvalidOperation:
        amount = Decimal("0")
    monthly = {
        "monthly": amount,
        "yearly": (amount / 12).quantize(Decimal("0.01")),
    }.get(billing_period, Decimal("0"))
    one_time = amount if billing_period == "one_time" else Decimal("0")
    return Facts(monthly, one_time, currency or "EUR", dict(options or {}))


# --- parsing and checking ----------------------------------------------------------------------


def parse(text: str, option_keys: set[str] | None = None) -> ast.Expression:
    """The checked tree of `text`; ConditionError otherwise. With `option_keys`, an option the
    offer does not have is an error too."""
    source = str(text or "").strip()
    if not source:
        raise ConditionError(_("The condition is empty."), 1)
    if len(source) > MAX_LENGTH:
        raise ConditionError(_("A condition is at most %(max)d characters.", max=MAX_LENGTH), 1)
    if "\n" in source:
        raise ConditionError(_("A condition is one line."), source.index("\n") + 1)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = min(error.offset or len(source) + 1, len(source) + 1)
        raise ConditionError(_("This is not a valid expression."), column) from None
    _check(tree.body, option_keys)
    return tree


def validate(text: str, option_keys: set[str] | None = None) -> str | None:
    """None if `text` is a valid condition, else the message with its position."""
    try:
        parse(text, option_keys)
    except ConditionError as error:
        return str(error)
    return None


def _column(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


def _check(node: ast.AST, option_keys: set[str] | None) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, option_keys)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, option_keys)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if not _is_number(node.operand):
            raise ConditionError(_("Only a number can be negative."), _column(node))
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ConditionError(_("This comparison is not allowed."), _column(node))
        for operand in (node.left, *node.comparators):
            _check_operand(operand, option_keys)
    elif isinstance(node, ast.Name | ast.Attribute | ast.Constant):
        _check_operand(node, option_keys)
    else:
        raise ConditionError(_("Only comparisons, and, or and not are allowed."), _column(node))


def _is_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _check_operand(node: ast.AST, option_keys: set[str] | None) -> None:
    if isinstance(node, ast.Constant):
        if node.value is not None and not isinstance(node.value, str | int | float):
            raise ConditionError(_("Only numbers and texts are allowed."), _column(node))
    elif (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_number(node.operand)
    ):
        return
    elif isinstance(node, ast.Name):
        if node.id not in NAMES and node.id not in CONSTANTS:
            raise ConditionError(
                _(
                    "Unknown name “%(name)s”: use price_monthly, price_one_time, currency or "
                    "options.<key>.",
                    name=node.id,
                ),
                _column(node),
            )
    elif isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id == "options"):
            raise ConditionError(_("Only options.<key> can have a dot."), _column(node))
        if option_keys is not None and node.attr not in option_keys:
            raise ConditionError(
                _("The offer has no option “%(key)s”.", key=node.attr), _column(node)
            )
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if not isinstance(element, ast.Constant) and not (
                isinstance(element, ast.UnaryOp) and _is_number(element.operand)
            ):
                raise ConditionError(_("A list holds only numbers and texts."), _column(element))
            _check_operand(element, option_keys)
    else:
        raise ConditionError(
            _("Compare a price or an option with a number, a text or a list."), _column(node)
        )


# --- evaluating ----------------------------------------------------------------------------------


def evaluate(text: str, facts: Facts) -> bool:
    """Whether the condition holds for the order's facts. The one evaluation everywhere."""
    return _truth(parse(text).body, facts)


def _value(node: ast.AST, facts: Facts) -> Any:
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.UnaryOp):
        return -_number(node.operand.value)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        return getattr(facts, node.id)
    if isinstance(node, ast.Attribute):
        return _number(facts.options.get(node.attr))
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(element, facts) for element in node.elts]
    return _truth(node, facts)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | list):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return value


def _same_kind(left: Any, right: Any) -> bool:
    kinds = (bool, Decimal, str)
    return any(isinstance(left, kind) and isinstance(right, kind) for kind in kinds)


def _holds(op: ast.cmpop, left: Any, right: Any) -> bool:
    if isinstance(op, ast.In | ast.NotIn):
        inside = isinstance(right, list) and any(
            _same_kind(left, item) and left == item for item in right
        )
        return inside if isinstance(op, ast.In) else not inside
    if isinstance(op, ast.Eq | ast.NotEq):
        equal = _same_kind(left, right) and left == right or (left is None and right is None)
        return equal if isinstance(op, ast.Eq) else not equal
    if not _same_kind(left, right) or isinstance(left, bool):
        return False
    return _COMPARE[type(op)][0](left, right)


def _truth(node: ast.AST, facts: Facts) -> bool:
    if isinstance(node, ast.BoolOp):
        results = (_truth(value, facts) for value in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _truth(node.operand, facts)
    if isinstance(node, ast.Compare):
        left = _value(node.left, facts)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, facts)
            if not _holds(op, left, right):
                return False
            left = right
        return True
    return bool(_value(node, facts))


# --- explaining ----------------------------------------------------------------------------------


def explain(text: str, facts: Facts) -> tuple[bool, str]:
    """(whether it holds, why): each comparison that decided it, with the order's values, e.g.
    "price 45.00 EUR/month ≤ 100" for `price_monthly > 100` on a 45.00 EUR monthly order."""
    tree = parse(text).body
    held = _truth(tree, facts)
    return held, "; ".join(_reasons(tree, facts, held))


def _reasons(node: ast.AST, facts: Facts, held: bool) -> list[str]:
    if isinstance(node, ast.BoolOp):
        outcomes = [(value, _truth(value, facts)) for value in node.values]
        deciding = [value for value, result in outcomes if result == held]
        if isinstance(node.op, ast.And) != held:  # one deciding part is enough to say why
            deciding = deciding[:1]
        return [reason for value in deciding for reason in _reasons(value, facts, held)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _reasons(node.operand, facts, not held)
    if isinstance(node, ast.Compare):
        parts, left = [], node.left
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            symbol = _COMPARE[type(op)][1 if held else 2]
            parts.append(f"{_describe(left, facts)} {symbol} {_literal(comparator, facts)}")
            left = comparator
        return parts[:1] if not held else parts
    return [f"{_describe(node, facts)}"]


def _describe(node: ast.AST, facts: Facts) -> str:
    """An operand as people read it, with its value for this order."""
    if isinstance(node, ast.Name) and node.id == "price_monthly":
        return _(
            "price %(amount)s %(currency)s/month",
            amount=_money(facts.price_monthly),
            currency=facts.currency,
        )
    if isinstance(node, ast.Name) and node.id == "price_one_time":
        return _(
            "one-time price %(amount)s %(currency)s",
            amount=_money(facts.price_one_time),
            currency=facts.currency,
        )
    if isinstance(node, ast.Name) and node.id == "currency":
        return _("currency %(currency)s", currency=facts.currency)
    if isinstance(node, ast.Attribute):
        return f"{node.attr} {_shown(facts.options.get(node.attr))}"
    return _literal(node, facts)


def _literal(node: ast.AST, facts: Facts) -> str:
    if isinstance(node, ast.Name | ast.Attribute) and not (
        isinstance(node, ast.Name) and node.id in CONSTANTS
    ):
        return _describe(node, facts)
    return _shown(_value(node, facts))


def _money(amount: Decimal) -> str:
    return f"{Decimal(amount).quantize(Decimal('0.01'))}"


def _shown(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return _("(not set)")
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)
