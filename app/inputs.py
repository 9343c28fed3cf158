"""Parsing values that arrive from outside (query strings, forms, JSON and YAML bodies) before
they reach the database: what every domain needs, so it depends on none of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import fields
from marshmallow.validate import Range

from .i18n import N_, _, _l, gettext

MAX_ID = 2**31 - 1  # the largest id an INTEGER key column holds


def whole_number(value: Any, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """`value` as a whole number from `minimum` to `maximum` (an int, or ASCII digits as text),
    else None. Other Unicode digits ("²") are not numbers here, and the default bound is what
    an id column holds: past it the database refuses the query rather than finding nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and (digits := value.strip()).isascii() and digits.isdigit():
        if len(digits) > len(str(maximum)):
            return None
        number = int(digits)
    else:
        return None
    return number if minimum <= number <= maximum else None


MAX_PRICE = Decimal("9999999999.99")  # what a price column holds


def _amount(errors: dict[str, list[str]], name: str, value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter an amount such as 25 or 9.90.")]
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        errors[name] = [_("Enter an amount between 0 and 9999999999.99.")]
        return None
    return amount


def price_bounds(
    low: Any, high: Any, *, names: tuple[str, str] = ("min_price", "max_price")
) -> tuple[Decimal | None, Decimal | None, dict[str, list[str]]]:
    """(minimum, maximum, field errors) of a price filter typed as text (the catalog's and the
    search's): blank is no bound, "9,90" is 9.90; an amount that is not a number, negative or
    past MAX_PRICE, and a maximum below the minimum, are errors under the field's name."""
    errors: dict[str, list[str]] = {}
    minimum = _amount(errors, names[0], low)
    maximum = _amount(errors, names[1], high)
    if minimum is not None and maximum is not None and minimum > maximum:
        errors[names[1]] = [_("The maximum price must not be below the minimum.")]
    return minimum, maximum, errors


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def search_text(value: Any, max_length: int = 100) -> str:
    """Typed search words, ready for a LIKE: control characters (NUL above all, which
    PostgreSQL refuses) removed, trimmed, at most `max_length` characters."""
    return CONTROL_CHARACTERS.sub("", str(value or "")).strip()[:max_length]


def unstorable_text(data: Any) -> str | None:
    """The path of the first string in `data` (parsed JSON or YAML) that not every database
    can store: a NUL character (PostgreSQL refuses it in text) or a lone UTF-16 surrogate such
    as "\\ud800" (not UTF-8); None when there is none."""
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                pending.append((path, key))  # a bad key is reported at its object
                pending.append((f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            if "\x00" in value:
                return path or "body"
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path or "body"
    return None


class IdField(fields.Integer):
    """A row (or version) number in a JSON body: a JSON integer an INTEGER column holds."""

    def __init__(self, **kwargs):
        super().__init__(
            strict=True,
            validate=Range(min=1, max=MAX_ID, error=_("Use a whole number from {min} to {max}.")),
            **kwargs,
        )


class ExactBoolean(fields.Boolean):
    """Only JSON true or false: agreeing to terms is never inferred from "yes", "1" or 1."""

    default_error_messages = {"invalid": _l("Use JSON true or false.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 1 == True for a set lookup, so check the type
            raise self.make_error("invalid")
        return value


NUL_MESSAGE = _l("Remove the NUL character (\\0): text with it cannot be stored or searched.")


def nul_input(path: str, parts: dict[str, Iterable[tuple[str, Any]]]) -> tuple[str, str] | None:
    """(kind, name) of the first request part holding a NUL character, which PostgreSQL
    refuses in text: ("path", ""), or a kind of `parts` (query parameter, form field, header:
    their (name, value) pairs) and the name; None when there is none."""
    if "\x00" in path:
        return "path", ""
    for kind, pairs in parts.items():
        for name, value in pairs:
            if "\x00" in name or "\x00" in str(value):
                return kind, name.replace("\x00", "\\0")
    return None


# marshmallow's own messages (an API field's "Not a valid integer."), which it wants as plain
# text: translated where the API answers (app/api/core.py), by `library_message`.
LIBRARY_MESSAGES = {
    text: text
    for text in (
        N_("Missing data for required field."),
        N_("Field may not be null."),
        N_("Invalid value."),
        N_("Not a valid string."),
        N_("Not a valid utf-8 string."),
        N_("Not a valid number."),
        N_("Number too large."),
        N_("Not a valid integer."),
        N_("Special numeric values (nan or infinity) are not permitted."),
        N_("Not a valid boolean."),
        N_("Not a valid datetime."),
        N_("Not a valid date."),
        N_("Not a valid list."),
        N_("Invalid type."),
        N_("Not a valid mapping type."),
        N_("Not a valid email address."),
        N_("Not a valid URL."),
        N_("Invalid input type."),
        N_("Unknown field."),
    )
}
LIBRARY_PATTERNS = (
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        N_("Shorter than minimum length %(min)s."),
    ),
    (
        re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"),
        N_("Longer than maximum length %(max)s."),
    ),
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        N_("Length must be between %(min)s and %(max)s."),
    ),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), N_("Must be one of: %(choices)s.")),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<min>[-\d.]+) and less than or equal to (?P<max>[-\d.]+)\.$"
        ),
        N_("Must be from %(min)s to %(max)s."),
    ),
    (
        re.compile(r"^Must be greater than or equal to (?P<min>[-\d.]+)\.$"),
        N_("Must be at least %(min)s."),
    ),
    (
        re.compile(r"^Must be less than or equal to (?P<max>[-\d.]+)\.$"),
        N_("Must be at most %(max)s."),
    ),
)


def library_message(text: str) -> str:
    """A message of marshmallow's in the user's language (itself when it is not one)."""

    if text in LIBRARY_MESSAGES:
        return gettext(text)
    for pattern, msgid in LIBRARY_PATTERNS:
        found = pattern.match(text)
        if found:
            return gettext(msgid, **found.groupdict())
    return text
