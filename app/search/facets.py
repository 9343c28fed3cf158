"""Facets: the price ranges, what a candidate row shows to filters and facets (its Facts), which
filters it fails, and the facet values with their counts.

Facets are disjunctive: each facet's counts apply every *other* filter, so a user can switch
from one category to another without clearing the first one. Price ranges include their lower
bound and exclude their upper one; min_price and max_price include both."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from ..catalog.models import BillingPeriod, Category, OfferKind
from ..extensions import db
from ..i18n import _l

if TYPE_CHECKING:
    from .query import Criteria


@dataclass(frozen=True)
class PriceRange:
    value: str
    label: str
    low: Decimal | None  # included
    high: Decimal | None  # excluded

    def __contains__(self, price: Decimal | None) -> bool:
        if price is None:
            return False
        return (self.low is None or price >= self.low) and (self.high is None or price < self.high)


PRICE_RANGES: tuple[PriceRange, ...] = (
    PriceRange("under_10", _l("Under 10"), None, Decimal(10)),
    PriceRange("10_50", _l("10 to 50"), Decimal(10), Decimal(50)),
    PriceRange("50_200", _l("50 to 200"), Decimal(50), Decimal(200)),
    PriceRange("200_plus", _l("200 and more"), Decimal(200), None),
)
PRICE_RANGE_BY_VALUE = {price_range.value: price_range for price_range in PRICE_RANGES}
FACETS = ("category", "billing", "kind", "price")
FACET_LABELS = {
    "category": _l("Category"),
    "billing": _l("Billing"),
    "kind": _l("Kind"),
    "price": _l("Price"),
}


@dataclass(frozen=True)
class FacetValue:
    value: str  # what goes in the query string (category slug, billing period, kind, range)
    label: str
    count: int
    selected: bool

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "label": str(self.label),
            "count": self.count,
            "selected": self.selected,
        }


def category_labels() -> dict[int, tuple[str, str]]:
    """Every category's (slug, name) by id, for facet labels."""
    return {
        category_id: (slug, name)
        for category_id, slug, name in db.session.execute(
            sa.select(Category.id, Category.slug, Category.name)
        )
    }


def category_name(value: str) -> str:
    """The name of the category a filter names by slug (or id): what a person reads, never
    the slug; the value itself when no category has it."""
    condition = Category.slug == value
    if value.isascii() and value.isdigit() and len(value) < 10:
        condition = sa.or_(condition, Category.id == int(value))
    name = db.session.scalar(sa.select(Category.name).where(condition).limit(1))
    return name or value


class Facts(NamedTuple):
    """What filters and facets look at in a candidate row; many rows share the same facts."""

    category_id: int | None
    billing: str
    kind: str
    bucket: str | None  # the price range
    in_amount: bool  # inside min_price..max_price


@lru_cache(maxsize=20_000)  # prices repeat across rows and searches
def price_bucket(price: Decimal | None) -> str | None:
    """The value of the price range the price is in, or None."""
    if price is not None:
        for price_range in PRICE_RANGES:
            if price in price_range:
                return price_range.value
    return None


def in_amount(price: Decimal | None, criteria: Criteria) -> bool:
    return (criteria.min_price is None or (price is not None and price >= criteria.min_price)) and (
        criteria.max_price is None or (price is not None and price <= criteria.max_price)
    )


def missed_filters(
    facts: Facts, criteria: Criteria, categories: dict[int, tuple[str, str]]
) -> frozenset[str]:
    """The filters these facts fail: "category", "billing", "kind", "price" (the range) and
    "amount" (min/max price, which every facet applies)."""
    missed = set()
    if criteria.category:
        slug = categories.get(facts.category_id, (None,))[0]
        if slug is None or criteria.category not in (slug, str(facts.category_id)):
            missed.add("category")
    if criteria.billing and facts.billing != criteria.billing:
        missed.add("billing")
    if criteria.kind and facts.kind != criteria.kind:
        missed.add("kind")
    if not facts.in_amount:
        missed.add("amount")
    if criteria.price_range and facts.bucket != criteria.price_range:
        missed.add("price")
    return frozenset(missed)


def facets_from_facts(
    tally: Counter, misses: dict[Facts, frozenset[str]], criteria: Criteria, categories
) -> dict[str, list[FacetValue]]:
    """Each facet counts the rows that pass every filter but its own. `tally` counts the rows
    by their facts, so this loops over distinct facts, not rows."""
    category_counts: Counter = Counter()
    billing: Counter = Counter()
    kinds: Counter = Counter()
    prices: Counter = Counter()
    for facts, count in tally.items():
        missed = misses[facts]
        if len(missed) > 1:
            continue
        if facts.category_id in categories and missed <= {"category"}:
            category_counts[facts.category_id] += count
        if missed <= {"billing"}:
            billing[facts.billing] += count
        if missed <= {"kind"}:
            kinds[facts.kind] += count
        if missed <= {"price"} and facts.bucket is not None:
            prices[facts.bucket] += count
    return facet_values(
        criteria,
        [
            (*categories[category_id], category_id, count)
            for category_id, count in category_counts.items()
        ],
        billing,
        kinds,
        prices,
    )


def facet_values(
    criteria: Criteria,
    categories: list[tuple[str, str, int, int]],
    billing: dict[str, int],
    kinds: dict[str, int],
    prices: dict[str, int],
) -> dict[str, list[FacetValue]]:
    """Facet values in display order; zero counts are left out unless selected."""

    def keep(count: int, selected: bool) -> bool:
        return count > 0 or selected

    category_values = [
        FacetValue(slug, name, count, criteria.category in (slug, str(category_id)))
        for slug, name, category_id, count in sorted(
            categories, key=lambda item: (-item[3], item[1].lower())
        )
    ]
    if criteria.category and not any(value.selected for value in category_values):
        category_values.append(
            FacetValue(criteria.category, category_name(criteria.category), 0, True)
        )
    return {
        "category": category_values,
        "billing": [
            FacetValue(b.value, b.label, billing.get(b.value, 0), criteria.billing == b.value)
            for b in BillingPeriod
            if keep(billing.get(b.value, 0), criteria.billing == b.value)
        ],
        "kind": [
            FacetValue(k.value, k.label, kinds.get(k.value, 0), criteria.kind == k.value)
            for k in OfferKind
            if keep(kinds.get(k.value, 0), criteria.kind == k.value)
        ],
        "price": [
            FacetValue(p.value, p.label, prices.get(p.value, 0), criteria.price_range == p.value)
            for p in PRICE_RANGES
            if keep(prices.get(p.value, 0), criteria.price_range == p.value)
        ],
    }


def filtered_candidates(candidates: list[tuple], criteria, categories) -> tuple[list, dict]:
    """(the candidates, each a tuple led by its offer row, that every chosen filter keeps;
    the facets, counted over all of them): what both search backends do with their matches.
    Each row's facts are a plain tuple (the price range from a memo, not four comparisons);
    the filters they miss are worked out once per distinct facts."""
    bounded = criteria.min_price is not None or criteria.max_price is not None
    facts = [
        (
            row.category_id,
            row.billing_period,
            row.kind,
            price_bucket(row.price),
            in_amount(row.price, criteria) if bounded else True,
        )
        for row in map(itemgetter(0), candidates)
    ]
    tally: Counter = Counter()
    misses: dict[Facts, frozenset[str]] = {}
    for key, count in Counter(facts).items():
        distinct = Facts._make(key)
        tally[distinct] = count
        misses[distinct] = missed_filters(distinct, criteria, categories)
    if any(misses.values()):  # a Facts equals the plain tuple it was made of
        kept = [item for item, key in zip(candidates, facts, strict=True) if not misses[key]]
    else:
        kept = list(candidates)
    return kept, facets_from_facts(tally, misses, criteria, categories)
