"""Query parsing: the raw parameters of a search (strings from a query string are fine)
checked and turned into Criteria, and the text split into words the way the index analyses it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..catalog.models import BillingPeriod, OfferKind
from ..errors import ValidationFailed
from ..i18n import _, _l
from ..inputs import price_bounds
from .facets import PRICE_RANGE_BY_VALUE
from .index.schema import ANALYZER

SORTS: dict[str, str] = {
    "relevance": _l("Relevance"),
    "price_asc": _l("Price, low to high"),
    "price_desc": _l("Price, high to low"),
    "newest": _l("Newest first"),
}

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MAX_PER_PAGE = 100

_WORD = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Word:
    raw: str  # as typed, lower case
    stem: str  # as the index stores it

    @property
    def needle(self) -> str:
        """What the SQL fallback looks for: the stem when it is a prefix of the word
        ("databas" finds database and databases), else the word."""
        return self.stem if self.raw.startswith(self.stem) else self.raw


def words_of(text: str) -> list[Word]:
    """The searchable words of a query, analysed as the index analyses its text."""
    words: list[Word] = []
    for raw in _WORD.findall(text.lower()):
        tokens = [token.text for token in ANALYZER(raw, mode="query")]
        if tokens and Word(raw, tokens[0]) not in words:
            words.append(Word(raw, tokens[0]))
    return words[:MAX_WORDS]


@dataclass(frozen=True)
class Criteria:
    text: str
    words: list[Word]
    category: str | None
    billing: str | None
    kind: str | None
    min_price: Decimal | None
    max_price: Decimal | None
    price_range: str | None
    sort: str
    page: int
    per_page: int

    def filters(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "billing": self.billing,
            "kind": self.kind,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "price": self.price_range,
        }


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(errors: dict, name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)]
        return low
    if not low <= number <= high:
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)]
        return low
    return number


def _choice(errors: dict, name: str, value: Any, choices: Iterable[str]) -> str | None:
    if _blank(value):
        return None
    value = str(value).strip()
    choices = list(choices)
    if value not in choices:
        errors[name] = [_("Choose one of: %(names)s.", names=", ".join(choices))]
        return None
    return value


def parse_criteria(
    q: Any,
    *,
    category: Any = None,
    billing: Any = None,
    kind: Any = None,
    min_price: Any = None,
    max_price: Any = None,
    price_range: Any = None,
    sort: Any = "relevance",
    page: Any = 1,
    per_page: Any = 20,
) -> Criteria:
    """Check the raw parameters (strings from a query string are fine); ValidationFailed with
    field errors otherwise."""
    errors: dict[str, list[str]] = {}
    text = CONTROL.sub(" ", "" if q is None else str(q)).strip()
    if len(text) > MAX_QUERY_LENGTH:
        errors["q"] = [
            _(
                "Search for at most %(MAX_QUERY_LENGTH)s characters.",
                MAX_QUERY_LENGTH=MAX_QUERY_LENGTH,
            )
        ]
        text = text[:MAX_QUERY_LENGTH]
    category_value = None if _blank(category) else str(category).strip()[:140]
    low, high, price_errors = price_bounds(min_price, max_price)
    errors.update(price_errors)
    criteria = Criteria(
        text=text,
        words=words_of(text),
        category=category_value,
        billing=_choice(errors, "billing", billing, [b.value for b in BillingPeriod]),
        kind=_choice(errors, "kind", kind, [k.value for k in OfferKind]),
        min_price=low,
        max_price=high,
        price_range=_choice(errors, "price", price_range, PRICE_RANGE_BY_VALUE),
        sort=_choice(errors, "sort", "relevance" if _blank(sort) else sort, SORTS) or "relevance",
        page=_integer(errors, "page", 1 if _blank(page) else page, 1, 100_000),
        per_page=_integer(
            errors, "per_page", 20 if _blank(per_page) else per_page, 1, MAX_PER_PAGE
        ),
    )
    if errors:
        raise ValidationFailed(_("Check the search filters."), fields=errors)
    return criteria
