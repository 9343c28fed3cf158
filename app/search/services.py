"""Searching offers and knowledge articles: the one service behind /search and GET /api/v1/offers.

How a search is answered
------------------------
1. The text is split into words the way the index analyses it (lower case, stop words dropped,
   Porter stems). Each word must match (AND); a word matches its stem in any text field, any
   term it is a prefix of ("acc" finds "access"), and, when it is in no field at all, terms
   within one or two edits ("vpm" finds "vpn"). Such a word also gets a spelling correction
   from the index's unstemmed words: "did you mean vpn access?".
2. Whoosh ranks the matching documents. Which of them the user may see, their effective price
   now, category and billing come from ONE SQL query over `visible_offers_query(user)` (catalog
   managers: every live offer), so audiences, canary pilots and validity windows apply at query
   time: an offer whose valid_from passes becomes findable with no reindex, and a stale index
   can never show an offer the user may not see.
3. Filters, facet counts, sorting and pagination run over those rows; snippets are highlighted
   by Whoosh and rendered safely (everything escaped, then <mark> around the hits).
4. If the index is missing, empty, broken or raises while searching, the same criteria run as
   SQL (a LIKE over the visible offers, facets by GROUP BY, LIMIT/OFFSET) and a warning is
   logged. `SearchResult.source` says which answered; `degraded` is True for that fallback.
   An empty query (browse with filters) is always answered by SQL.

Knowledge articles are listed apart (the top five). A published article is found by
everyone when it is tied to no offer, or to at least one offer the user may see now; catalog
managers and support agents find every published article. So an article never gives away a
hidden, canary or scheduled offer, and neither does "did you mean": a correction is offered
only when the corrected words find something the user may see.

Facets are disjunctive: each facet's counts apply every *other* filter, so a user can switch
from one category to another without clearing the first one. Price ranges include their lower
bound and exclude their upper one; min_price and max_price include both.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import sqlalchemy as sa
from markupsafe import Markup, escape
from whoosh import query as wq
from whoosh.highlight import ContextFragmenter, Formatter, WholeFragmenter, get_text, highlight

from .. import clock
from ..accounts.models import Role, User
from ..catalog.models import (
    LIVE_STATUSES,
    MONEY,
    BillingPeriod,
    Category,
    OfferKind,
    PriceChange,
    ServiceOffer,
)
from ..catalog.services import can_manage_catalog, visible_offers_query
from ..errors import ValidationFailed
from ..extensions import db
from ..knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles
from ..paging import Paged
from . import index as search_index

log = logging.getLogger(__name__)

SORTS: dict[str, str] = {
    "relevance": "Relevance",
    "price_asc": "Price, low to high",
    "price_desc": "Price, high to low",
    "newest": "Newest first",
}


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
    PriceRange("under_10", "Under 10", None, Decimal(10)),
    PriceRange("10_50", "10 to 50", Decimal(10), Decimal(50)),
    PriceRange("50_200", "50 to 200", Decimal(50), Decimal(200)),
    PriceRange("200_plus", "200 and more", Decimal(200), None),
)
PRICE_RANGE_BY_VALUE = {price_range.value: price_range for price_range in PRICE_RANGES}
FACETS = ("category", "billing", "kind", "price")
FACET_LABELS = {"category": "Category", "billing": "Billing", "kind": "Kind", "price": "Price"}

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MAX_PER_PAGE = 100
MAX_PRICE = Decimal("9999999999.99")
ARTICLE_LIMIT = 5
ARTICLE_CANDIDATES = 25
IN_LIMIT = 5000  # above this many matched codes, reading every visible offer beats IN (...)
PREFIX_MIN = 2
PREFIX_LIMIT = 50  # terms one word may expand to as a prefix, per field
FUZZY_MIN = 3
NEAR_LIMIT = 8

_WORD = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MARK_START, MARK_END = "\x02", "\x03"


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetValue:
    value: str  # what goes in the query string (category slug, billing period, kind, range)
    label: str
    count: int
    selected: bool

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "label": self.label,
            "count": self.count,
            "selected": self.selected,
        }


@dataclass
class OfferHit:
    id: int
    code: str
    name: str
    summary: str
    title: Markup  # the name, hits marked
    snippet: Markup  # from the description or summary, hits marked
    price: Decimal | None
    currency: str
    billing_period: str
    kind: str
    category_id: int | None
    category_name: str | None
    category_slug: str | None
    published_at: datetime | None
    status: str  # display status: published, retiring (managers also see scheduled, expired...)
    score: float | None = None

    @property
    def billing_label(self) -> str:
        return _label(BillingPeriod, self.billing_period)

    @property
    def kind_label(self) -> str:
        return _label(OfferKind, self.kind)

    @property
    def url(self) -> str:
        return f"/catalog/offers/{self.id}"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "summary": self.summary,
            "title_html": str(self.title),
            "snippet_html": str(self.snippet),
            "price": None if self.price is None else f"{self.price:.2f}",
            "currency": self.currency,
            "billing_period": self.billing_period,
            "kind": self.kind,
            "category": None
            if self.category_id is None
            else {"id": self.category_id, "name": self.category_name, "slug": self.category_slug},
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "status": self.status,
            "score": self.score,
            "url": self.url,
        }


@dataclass
class ArticleHit:
    id: int
    title: str
    title_html: Markup
    snippet: Markup

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "title_html": str(self.title_html),
            "snippet_html": str(self.snippet),
        }


@dataclass
class SearchResult(Paged):
    query: str
    hits: list[OfferHit]
    total: int
    page: int
    per_page: int
    sort: str
    filters: dict[str, Any]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None
    source: str  # "index" or "database"
    degraded: bool  # True when the index was unavailable and the database answered instead
    articles: list[ArticleHit] = field(default_factory=list)

    @property
    def items(self) -> list[OfferHit]:
        return self.hits

    @property
    def filtered(self) -> bool:
        return any(value not in (None, "") for value in self.filters.values())

    def to_dict(self) -> dict:
        """JSON-ready (prices as strings, snippets as HTML with <mark>, everything else escaped)."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "sort": self.sort,
            "filters": {
                key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in self.filters.items()
            },
            "source": self.source,
            "degraded": self.degraded,
            "suggestion": self.suggestion,
            "items": [hit.to_dict() for hit in self.hits],
            "facets": {
                name: [value.to_dict() for value in values] for name, values in self.facets.items()
            },
            "articles": [article.to_dict() for article in self.articles],
        }


def _label(enum_class, value: str) -> str:
    try:
        return enum_class(value).label
    except ValueError:
        return value.replace("_", " ").capitalize()


# --- criteria -------------------------------------------------------------------------------


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
        tokens = [token.text for token in search_index.ANALYZER(raw, mode="query")]
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


def _money(errors: dict, name: str, value: Any) -> Decimal | None:
    if _blank(value):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[name] = ["Enter an amount such as 25 or 9.90."]
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        errors[name] = ["Enter an amount between 0 and 9999999999.99."]
        return None
    return amount


def _integer(errors: dict, name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = [f"Enter a whole number from {low} to {high}."]
        return low
    if not low <= number <= high:
        errors[name] = [f"Enter a whole number from {low} to {high}."]
        return low
    return number


def _choice(errors: dict, name: str, value: Any, choices: Iterable[str]) -> str | None:
    if _blank(value):
        return None
    value = str(value).strip()
    choices = list(choices)
    if value not in choices:
        errors[name] = [f"Choose one of: {', '.join(choices)}."]
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
    text = _CONTROL.sub(" ", "" if q is None else str(q)).strip()
    if len(text) > MAX_QUERY_LENGTH:
        errors["q"] = [f"Search for at most {MAX_QUERY_LENGTH} characters."]
        text = text[:MAX_QUERY_LENGTH]
    category_value = None if _blank(category) else str(category).strip()[:140]
    low = _money(errors, "min_price", min_price)
    high = _money(errors, "max_price", max_price)
    if low is not None and high is not None and low > high:
        errors["max_price"] = ["The maximum price must not be below the minimum."]
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
        raise ValidationFailed("Check the search filters.", fields=errors)
    return criteria


# --- the entry point ------------------------------------------------------------------------


def search_offers(
    user: User,
    q: str | None = "",
    *,
    category: str | int | None = None,
    billing: str | None = None,
    kind: str | None = None,
    min_price: Decimal | str | float | None = None,
    max_price: Decimal | str | float | None = None,
    price_range: str | None = None,
    sort: str = "relevance",
    page: int | str = 1,
    per_page: int | str = 20,
) -> SearchResult:
    """Search the offers (and knowledge articles) `user` may see now.

    Arguments may be raw query-string values; blanks mean "no filter":
      q           words; each must match (stemmed, as a prefix, or within 1-2 typos); "" lists all
      category    a category slug, or its id
      billing     "one_time" | "monthly" | "yearly"
      kind        "new_instance" | "modification" | "termination" | "support" | "bundle"
      min_price, max_price   the effective price now, both bounds included
      price_range "under_10" | "10_50" | "50_200" | "200_plus" (the price facet's values)
      sort        "relevance" (default) | "price_asc" | "price_desc" | "newest"
      page, per_page          1-based; per_page at most 100

    Returns a SearchResult: `hits` (OfferHit: id, code, name, price, billing, category, status,
    `title`/`snippet` as safe Markup with <mark> around matches), `total`, `pages`, `facets`
    ({"category"|"billing"|"kind"|"price": [FacetValue(value, label, count, selected)]}),
    `suggestion` ("did you mean", or None), `articles` (published knowledge articles that
    match), `source` ("index" or "database") and `degraded`. `result.to_dict()` is the JSON
    shape for GET /api/v1/offers.

    Raises ValidationFailed (422 in the API) with field errors for bad parameters: q longer
    than 200 characters, an unknown billing/kind/price/sort value, a price that is not an
    amount, min_price above max_price, page or per_page out of range."""
    criteria = parse_criteria(
        q,
        category=category,
        billing=billing,
        kind=kind,
        min_price=min_price,
        max_price=max_price,
        price_range=price_range,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    now = clock.now()
    if not criteria.words:
        return _search_database(user, criteria, now, degraded=False)
    try:
        return _search_index(user, criteria, now)
    except sa.exc.SQLAlchemyError:
        raise  # a database problem is not an index problem
    except search_index.IndexUnavailable as reason:
        log.warning("Search answered from the database: %s. Run `flask search reindex`.", reason)
    except Exception:  # noqa: BLE001 - a broken index must not break search
        log.warning(
            "Search index failed while searching; answered from the database. "
            "Run `flask search reindex`.",
            exc_info=True,
        )
    return _search_database(user, criteria, now, degraded=True)


# --- what the user may see, with the price in force now --------------------------------------


def _price_expr(now: datetime):
    """The effective price now: the latest price change in force, else the offer's own price
    (the rule of catalog.services.current_price, as SQL)."""
    change = (
        sa.select(PriceChange.price)
        .where(PriceChange.offer_code == ServiceOffer.code, PriceChange.effective_from <= now)
        .order_by(PriceChange.effective_from.desc())
        .limit(1)
        .correlate(ServiceOffer)
        .scalar_subquery()
    )
    return sa.func.coalesce(change, ServiceOffer.price, type_=MONEY)


def _visibility(user: User, now: datetime):
    if can_manage_catalog(user):
        return ServiceOffer.status.in_(LIVE_STATUSES)
    return visible_offers_query(user, now).whereclause


def _row_columns(price) -> tuple:
    return (
        ServiceOffer.id,
        ServiceOffer.code,
        ServiceOffer.name,
        ServiceOffer.summary,
        ServiceOffer.kind,
        ServiceOffer.billing_period,
        ServiceOffer.currency,
        ServiceOffer.status,
        ServiceOffer.valid_from,
        ServiceOffer.valid_to,
        ServiceOffer.published_at,
        ServiceOffer.category_id,
        Category.name.label("category_name"),
        Category.slug.label("category_slug"),
        price.label("price"),
    )


def _visible(user: User, now: datetime, *columns) -> sa.Select:
    return (
        sa.select(*columns)
        .select_from(ServiceOffer)
        .outerjoin(Category, Category.id == ServiceOffer.category_id)
        .where(_visibility(user, now))
    )


def _candidate_rows(user: User, now: datetime, codes: set[str], sort: str) -> dict[str, Any]:
    """The visible offers among these codes, with what filters, facets and sorting need (one
    query; the page's rows are read in full afterwards)."""
    if not codes:
        return {}
    columns = [
        ServiceOffer.id,
        ServiceOffer.code,
        ServiceOffer.name,
        ServiceOffer.category_id,
        ServiceOffer.billing_period,
        ServiceOffer.kind,
        _price_expr(now).label("price"),
    ]
    if sort == "newest":  # parsing thousands of timestamps costs as much as the rest
        columns.append(ServiceOffer.published_at)
    query = _visible(user, now, *columns)
    if len(codes) <= IN_LIMIT:
        query = query.where(ServiceOffer.code.in_(sorted(codes)))
    # Core, not the ORM: thousands of plain rows, and the ORM's row processing doubled the time.
    return {row.code: row for row in db.session.connection().execute(query)}


def _page_rows(now: datetime, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = (
        sa.select(*_row_columns(_price_expr(now)))
        .outerjoin(Category, Category.id == ServiceOffer.category_id)
        .where(ServiceOffer.id.in_(ids))
    )
    return {row.id: row for row in db.session.execute(query)}


def _categories() -> dict[int, tuple[str, str]]:
    """Every category's (slug, name) by id, for facet labels."""
    return {
        category_id: (slug, name)
        for category_id, slug, name in db.session.execute(
            sa.select(Category.id, Category.slug, Category.name)
        )
    }


def _display_status(row, now: datetime) -> str:
    return ServiceOffer.display_status(row, now)


# --- filters, facets and sorting over rows (the index path) ---------------------------------


class Facts(NamedTuple):
    """What filters and facets look at in a candidate row; many rows share the same facts."""

    category_id: int | None
    billing: str
    kind: str
    bucket: str | None  # the price range
    in_amount: bool  # inside min_price..max_price


def _facts(row, criteria: Criteria) -> Facts:
    price = row.price
    bucket = None
    if price is not None:
        bucket = next(
            (price_range.value for price_range in PRICE_RANGES if price in price_range), None
        )
    in_amount = (
        criteria.min_price is None or (price is not None and price >= criteria.min_price)
    ) and (criteria.max_price is None or (price is not None and price <= criteria.max_price))
    return Facts(row.category_id, row.billing_period, row.kind, bucket, in_amount)


def _misses(
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


def _facets_from_facts(
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
    return _facets(
        criteria,
        [
            (*categories[category_id], category_id, count)
            for category_id, count in category_counts.items()
        ],
        billing,
        kinds,
        prices,
    )


def _facets(
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
        category_values.append(FacetValue(criteria.category, criteria.category, 0, True))
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


def _sort_key(sort: str):
    """The order of candidate rows for the sorts other than relevance (Whoosh ranks those)."""

    def by_name(row) -> tuple:
        return (row.name.lower(), row.id)

    if sort == "price_asc":
        return lambda row: (row.price is None, row.price or 0, *by_name(row))
    if sort == "price_desc":
        return lambda row: (row.price is None, -(row.price or 0), *by_name(row))
    return lambda row: (  # newest
        row.published_at is None,
        -(clock.as_utc(row.published_at).timestamp() if row.published_at else 0),
        -row.id,
    )


# --- highlighting -----------------------------------------------------------------------------


class _Marks(Formatter):
    """Marks hits with control characters; render_marked() escapes, then turns them into
    <mark>, so nothing from the text itself is ever rendered as HTML."""

    between = " … "

    def format_token(self, text, token, replace=False):
        return f"{MARK_START}{get_text(text, token, replace)}{MARK_END}"


def render_marked(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def _clean(text: str | None) -> str:
    return _CONTROL.sub(" ", text or "")


def _shorten(text: str, limit: int = 200) -> str:
    text = search_index.plain_text(text)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _highlighted(text: str, terms: frozenset[str], *, whole: bool = False, top: int = 2) -> str:
    if not text or not terms:
        return ""
    fragmenter = WholeFragmenter() if whole else ContextFragmenter(maxchars=220, surround=60)
    return highlight(text, terms, search_index.ANALYZER, fragmenter, _Marks(), top=top, minscore=1)


def _offer_snippets(stored: dict, row, terms: dict) -> tuple[Markup, Markup]:
    name = _clean(row.name)
    title = _highlighted(name, terms.get("name", frozenset()), whole=True)
    snippet = ""
    for fieldname in ("description", "summary"):
        snippet = _highlighted(stored.get(fieldname, ""), terms.get(fieldname, frozenset()))
        if snippet:
            break
    if not snippet:
        snippet = _shorten(row.summary or stored.get("description", ""))
    return render_marked(title or name), render_marked(snippet)


# --- the index path ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    """What one query word matches in the index: (field, term, boost) triples, and, when the
    word is not in the index at all, the indexed words it may be a misspelling of."""

    terms: tuple[tuple[str, str, float], ...]
    near: tuple[str, ...]


def _prefix_terms(reader, fieldname: str, prefix: str) -> list[str]:
    field_type = search_index.SCHEMA[fieldname]
    found = []
    for term in reader.expand_prefix(fieldname, prefix):
        found.append(field_type.from_bytes(term) if isinstance(term, bytes) else term)
        if len(found) >= PREFIX_LIMIT:
            break
    return found


def _expand(reader, word: Word, *, fuzzy: bool = True) -> Expansion:
    """The terms one word matches: its stem in any text field, any term it is a prefix of,
    and, when it is in no field at all, the stems of the indexed words within one or two edits.

    Typos are matched through those words' stems rather than with Whoosh's FuzzyTerm: on a
    stemmed field with spelling=True, FuzzyTerm expands against the *unstemmed* spelling words
    and then looks them up among the stems, so "databse" never reaches "databas"."""
    terms: dict[tuple[str, str], float] = {}

    def add(fieldname: str, term: str, boost: float) -> None:
        key = (fieldname, term)
        if key not in terms and reader.doc_frequency(fieldname, term) > 0:
            terms[key] = boost

    for fieldname, boost in search_index.QUERY_FIELDS.items():
        add(fieldname, word.stem, boost)
        if len(word.raw) >= PREFIX_MIN:
            for term in _prefix_terms(reader, fieldname, word.raw):
                add(fieldname, term, boost * 0.5)
    near: list[str] = []
    if not terms and len(word.raw) >= FUZZY_MIN:
        near = _near_words(reader, word.raw)
        if fuzzy:
            for candidate in near:
                for stem in {token.text for token in search_index.ANALYZER(candidate)}:
                    for fieldname, boost in search_index.QUERY_FIELDS.items():
                        add(fieldname, stem, boost * 0.3)
    return Expansion(
        tuple((fieldname, term, boost) for (fieldname, term), boost in terms.items()),
        tuple(near),
    )


def _matching_docs(reader, expansions: list[Expansion]) -> set[int]:
    """Documents matching every word, from the posting lists as sets (no scoring: scoring
    every match of a broad query in Whoosh's Python matchers is what made it slow)."""
    matched: set[int] | None = None
    for expansion in expansions:
        docs: set[int] = set()
        for fieldname, term, _ in expansion.terms:
            docs.update(reader.postings(fieldname, term).all_ids())
        matched = docs if matched is None else matched & docs
        if not matched:
            return set()
    return matched or set()


def _scoring_query(expansions: list[Expansion]) -> wq.Query:
    return wq.And(
        [
            wq.Or([wq.Term(fieldname, term, boost=boost) for fieldname, term, boost in e.terms])
            for e in expansions
        ]
    )


def _terms_by_field(expansions: list[Expansion]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for expansion in expansions:
        for fieldname, term, _ in expansion.terms:
            found.setdefault(fieldname, set()).add(term)
    return {fieldname: frozenset(texts) for fieldname, texts in found.items()}


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _near_words(reader, raw: str) -> list[str]:
    """Indexed words (unstemmed, from the spell_* fields) within one edit of a word of up to
    four letters, two edits of a longer one, sharing its first letter: nearest and most
    frequent first, at most NEAR_LIMIT."""
    maxdist = 1 if len(raw) <= 4 else 2
    scores: dict[str, tuple[int, int]] = {}
    for fieldname in search_index.SPELLING_FIELDS:
        spelled = search_index.SCHEMA[fieldname].spelling_fieldname(fieldname)
        try:
            suggestions = list(reader.terms_within(spelled, raw, maxdist, prefix=1))
        except (KeyError, ValueError):
            continue
        for suggestion in suggestions:
            if suggestion == raw:
                continue
            distance = _distance(raw, suggestion)
            if distance > maxdist:
                continue
            frequency = reader.doc_frequency(spelled, suggestion)
            best_distance, total = scores.get(suggestion, (distance, 0))
            scores[suggestion] = (min(best_distance, distance), total + frequency)
    ranked = sorted(scores, key=lambda word: (scores[word][0], -scores[word][1], word))
    return ranked[:NEAR_LIMIT]


def _correction(words: list[Word], near: list[list[str]]) -> list[Word] | None:
    """The query with each unknown word replaced by its nearest indexed word, if any changed."""
    corrected: list[Word] = []
    changed = False
    for word, candidates in zip(words, near, strict=True):
        replacement = words_of(candidates[0]) if candidates else []
        if replacement:
            corrected.append(replacement[0])
            changed = True
        else:
            corrected.append(word)
    return corrected if changed else None


def _split(reader, docnums: set[int]) -> tuple[dict[str, int], set[int]]:
    """Matching offer documents by code, and matching article documents."""
    types = reader.column_reader("type")
    codes = reader.column_reader("code")
    offers: dict[str, int] = {}
    articles: set[int] = set()
    for docnum in docnums:
        if types[docnum] == "offer":
            offers[codes[docnum]] = docnum
        else:
            articles.add(docnum)
    return offers, articles


def _ranked_page(searcher, expansions, kept: list, criteria: Criteria) -> list:
    """The requested page of (row, score, docnum). By relevance, Whoosh scores (BM25F) and
    keeps the top of the kept documents only; other orders sort the rows."""
    start = (criteria.page - 1) * criteria.per_page
    if criteria.sort != "relevance":
        key = _sort_key(criteria.sort)
        kept.sort(key=lambda item: key(item[0]))
        return [(row, None, docnum) for row, docnum in kept[start : start + criteria.per_page]]
    rows = {docnum: row for row, docnum in kept}
    if not rows:  # an empty filter would mean "no filter" to Whoosh
        return []
    results = searcher.search(
        _scoring_query(expansions), filter=set(rows), limit=start + criteria.per_page
    )
    ranked = [(rows[docnum], score, docnum) for score, docnum in results.top_n]
    ranked.sort(key=lambda item: (-item[1], item[0].name.lower(), item[0].id))
    return ranked[start:]


def _ranked_articles(searcher, expansions, docnums: set[int], by_relevance: bool) -> list[dict]:
    if not docnums:
        return []
    if by_relevance:
        results = searcher.search(
            _scoring_query(expansions), filter=docnums, limit=ARTICLE_CANDIDATES
        )
        chosen = [docnum for _, docnum in results.top_n]
    else:
        chosen = sorted(docnums)[:ARTICLE_CANDIDATES]
    stored = [searcher.stored_fields(docnum) for docnum in chosen]
    return [fields for fields in stored if fields.get("article_id") is not None]


def _search_index(user: User, criteria: Criteria, now: datetime) -> SearchResult:
    ix = search_index.open_index()
    with ix.searcher() as searcher:
        reader = searcher.reader()
        expansions = [_expand(reader, word) for word in criteria.words]
        matched, article_docnums = _split(reader, _matching_docs(reader, expansions))

        corrected = _correction(criteria.words, [list(e.near) for e in expansions])
        alternative_codes: set[str] = set()
        alternative_articles: list[int] = []
        if corrected:
            alternative = [_expand(reader, word, fuzzy=False) for word in corrected]
            offers, docnums = _split(reader, _matching_docs(reader, alternative))
            alternative_codes = set(offers)
            alternative_articles = [
                searcher.stored_fields(docnum).get("article_id") for docnum in sorted(docnums)
            ][:ARTICLE_CANDIDATES]

        rows = _candidate_rows(user, now, set(matched) | alternative_codes, criteria.sort)
        categories = _categories()
        candidates = [(rows[code], docnum) for code, docnum in matched.items() if code in rows]
        facts = [_facts(row, criteria) for row, _ in candidates]
        misses = {each: _misses(each, criteria, categories) for each in set(facts)}
        kept = [item for item, each in zip(candidates, facts, strict=True) if not misses[each]]
        page = _ranked_page(searcher, expansions, kept, criteria)

        terms = _terms_by_field(expansions)
        full = _page_rows(now, [row.id for row, _, _ in page])
        hits = []
        for row, score, docnum in page:
            row = full[row.id]
            title, snippet = _offer_snippets(searcher.stored_fields(docnum), row, terms)
            hits.append(_hit(row, now, title, snippet, score))

        by_relevance = criteria.sort == "relevance"
        article_docs = _ranked_articles(searcher, expansions, article_docnums, by_relevance)
        findable = _findable_articles(
            user, now, [stored["article_id"] for stored in article_docs] + alternative_articles
        )
        article_docs = [stored for stored in article_docs if stored["article_id"] in findable]
        if not by_relevance:
            article_docs.sort(
                key=lambda stored: (stored.get("name", "").lower(), stored["article_id"])
            )
        articles = [_article_hit(stored, terms) for stored in article_docs[:ARTICLE_LIMIT]]

        suggestion = None
        if corrected and (
            alternative_codes & set(rows) or findable.intersection(alternative_articles)
        ):
            suggestion = " ".join(word.raw for word in corrected)

        return SearchResult(
            query=criteria.text,
            hits=hits,
            total=len(kept),
            page=criteria.page,
            per_page=criteria.per_page,
            sort=criteria.sort,
            filters=criteria.filters(),
            facets=_facets_from_facts(Counter(facts), misses, criteria, categories),
            suggestion=suggestion,
            source="index",
            degraded=False,
            articles=articles,
        )


def _article_visibility(user: User, now: datetime):
    """SQL: a published article the user may find. Catalog managers and support agents find
    every one; others find articles tied to no offer or to at least one offer they may see
    now, so an article never gives away a hidden, canary or scheduled offer."""
    published = KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
    if can_manage_catalog(user) or user.has_role(Role.SUPPORT_AGENT):
        return published
    linked = sa.exists().where(offer_articles.c.article_id == KnowledgeArticle.id)
    linked_visible = sa.exists(
        sa.select(offer_articles.c.article_id)
        .select_from(
            offer_articles.join(ServiceOffer, ServiceOffer.code == offer_articles.c.offer_code)
        )
        .where(offer_articles.c.article_id == KnowledgeArticle.id, _visibility(user, now))
    )
    return sa.and_(published, sa.or_(~linked, linked_visible))


def _findable_articles(user: User, now: datetime, ids: list[int]) -> set[int]:
    ids = sorted({article_id for article_id in ids if article_id is not None})
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(KnowledgeArticle.id).where(
                KnowledgeArticle.id.in_(ids), _article_visibility(user, now)
            )
        )
    )


def _article_hit(stored: dict, terms: dict) -> ArticleHit:
    title = _clean(stored.get("name", ""))
    title_html = _highlighted(title, terms.get("name", frozenset()), whole=True) or title
    body = stored.get("description", "")
    snippet = _highlighted(body, terms.get("description", frozenset())) or _shorten(body)
    return ArticleHit(
        id=stored["article_id"],
        title=title,
        title_html=render_marked(title_html),
        snippet=render_marked(snippet),
    )


def _hit(row, now: datetime, title: Markup, snippet: Markup, score: float | None) -> OfferHit:
    return OfferHit(
        id=row.id,
        code=row.code,
        name=row.name,
        summary=row.summary or "",
        title=title,
        snippet=snippet,
        price=row.price,
        currency=row.currency,
        billing_period=row.billing_period,
        kind=row.kind,
        category_id=row.category_id,
        category_name=row.category_name,
        category_slug=row.category_slug,
        published_at=clock.as_utc(row.published_at),
        status=_display_status(row, now),
        score=None if score is None else round(float(score), 4),
    )


# --- the database path ------------------------------------------------------------------------


def _text_clause(words: list[Word]):
    if not words:
        return sa.true()
    return sa.and_(
        *(
            sa.or_(
                ServiceOffer.name.icontains(word.needle, autoescape=True),
                ServiceOffer.code.icontains(word.needle, autoescape=True),
                ServiceOffer.summary.icontains(word.needle, autoescape=True),
                ServiceOffer.description.icontains(word.needle, autoescape=True),
                Category.name.icontains(word.needle, autoescape=True),
            )
            for word in words
        )
    )


def _sql_filters(criteria: Criteria, price, skip: str | None = None) -> list:
    clauses = []
    if skip != "category" and criteria.category:
        wanted = criteria.category
        clauses.append(
            sa.or_(Category.slug == wanted, ServiceOffer.category_id == int(wanted))
            if wanted.isdigit()
            else Category.slug == wanted
        )
    if skip != "billing" and criteria.billing:
        clauses.append(ServiceOffer.billing_period == criteria.billing)
    if skip != "kind" and criteria.kind:
        clauses.append(ServiceOffer.kind == criteria.kind)
    if criteria.min_price is not None:
        clauses.append(price >= criteria.min_price)
    if criteria.max_price is not None:
        clauses.append(price <= criteria.max_price)
    if skip != "price" and criteria.price_range:
        price_range = PRICE_RANGE_BY_VALUE[criteria.price_range]
        if price_range.low is not None:
            clauses.append(price >= price_range.low)
        if price_range.high is not None:
            clauses.append(price < price_range.high)
    return clauses


def _sql_order(criteria: Criteria, price) -> list:
    by_name = [sa.func.lower(ServiceOffer.name), ServiceOffer.id]
    if criteria.sort == "price_asc":
        return [price.asc().nulls_last(), *by_name]
    if criteria.sort == "price_desc":
        return [price.desc().nulls_last(), *by_name]
    if criteria.sort == "newest":
        return [ServiceOffer.published_at.desc().nulls_last(), ServiceOffer.id.desc()]
    if criteria.words:
        misses = sum(
            (
                sa.case((ServiceOffer.name.icontains(word.needle, autoescape=True), 0), else_=1)
                for word in criteria.words
            ),
            sa.literal(0),
        )
        return [misses, *by_name]
    return by_name


def _marked_words(text: str, words: list[Word], limit: int = 220) -> str:
    """A window of the text around the first match, with every matching word marked."""
    text = search_index.plain_text(text)
    if not words:
        return _shorten(text, limit)
    pattern = re.compile(
        r"\w*(?:" + "|".join(re.escape(word.needle) for word in words) + r")\w*", re.IGNORECASE
    )
    first = pattern.search(text)
    if first is None:
        return ""
    start = max(0, first.start() - 60)
    if start:
        start = text.find(" ", start) + 1 or start
    window = text[start : start + limit]
    marked = pattern.sub(lambda match: f"{MARK_START}{match.group(0)}{MARK_END}", window)
    return ("… " if start else "") + marked + (" …" if start + limit < len(text) else "")


def _search_database(
    user: User, criteria: Criteria, now: datetime, *, degraded: bool
) -> SearchResult:
    price = _price_expr(now)
    text = _text_clause(criteria.words)

    def visible(*columns, skip: str | None = None) -> sa.Select:
        return _visible(user, now, *columns).where(text, *_sql_filters(criteria, price, skip))

    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(visible(ServiceOffer.id).subquery())
    )
    rows = db.session.execute(
        visible(*_row_columns(price), ServiceOffer.description)
        .order_by(*_sql_order(criteria, price))
        .limit(criteria.per_page)
        .offset((criteria.page - 1) * criteria.per_page)
    ).all()
    hits = []
    for row in rows:
        title = _marked_words(_clean(row.name), criteria.words, limit=10_000) or _clean(row.name)
        snippet = (
            _marked_words(row.description, criteria.words)
            or _marked_words(row.summary, criteria.words)
            or _shorten(row.summary or row.description)
        )
        hits.append(_hit(row, now, render_marked(title), render_marked(snippet), None))

    count = sa.func.count(ServiceOffer.id)
    categories = db.session.execute(
        visible(Category.slug, Category.name, ServiceOffer.category_id, count, skip="category")
        .where(ServiceOffer.category_id.is_not(None))
        .group_by(Category.slug, Category.name, ServiceOffer.category_id)
    ).all()
    billing = dict(
        db.session.execute(
            visible(ServiceOffer.billing_period, count, skip="billing").group_by(
                ServiceOffer.billing_period
            )
        ).all()
    )
    kinds = dict(
        db.session.execute(
            visible(ServiceOffer.kind, count, skip="kind").group_by(ServiceOffer.kind)
        ).all()
    )
    priced = visible(price.label("price"), skip="price").subquery()
    bucket = sa.case(
        *(
            (
                sa.and_(
                    priced.c.price >= price_range.low if price_range.low is not None else sa.true(),
                    priced.c.price < price_range.high
                    if price_range.high is not None
                    else sa.true(),
                ),
                price_range.value,
            )
            for price_range in PRICE_RANGES
        ),
        else_=None,
    ).label("bucket")
    prices = {
        value: amount
        for value, amount in db.session.execute(
            sa.select(bucket, sa.func.count()).where(priced.c.price.is_not(None)).group_by(bucket)
        ).all()
        if value is not None
    }
    facets = _facets(
        criteria,
        [(slug, name, category_id, amount) for slug, name, category_id, amount in categories],
        billing,
        kinds,
        prices,
    )
    return SearchResult(
        query=criteria.text,
        hits=hits,
        total=int(total or 0),
        page=criteria.page,
        per_page=criteria.per_page,
        sort=criteria.sort,
        filters=criteria.filters(),
        facets=facets,
        suggestion=None,
        source="database",
        degraded=degraded,
        articles=_database_articles(user, now, criteria.words),
    )


def _database_articles(user: User, now: datetime, words: list[Word]) -> list[ArticleHit]:
    if not words:
        return []
    articles = db.session.execute(
        sa.select(KnowledgeArticle.id, KnowledgeArticle.title, KnowledgeArticle.body)
        .where(
            _article_visibility(user, now),
            *(
                sa.or_(
                    KnowledgeArticle.title.icontains(word.needle, autoescape=True),
                    KnowledgeArticle.body.icontains(word.needle, autoescape=True),
                )
                for word in words
            ),
        )
        .order_by(sa.func.lower(KnowledgeArticle.title), KnowledgeArticle.id)
        .limit(ARTICLE_LIMIT)
    ).all()
    return [
        ArticleHit(
            id=article.id,
            title=article.title,
            title_html=render_marked(
                _marked_words(_clean(article.title), words, limit=10_000) or _clean(article.title)
            ),
            snippet=render_marked(_marked_words(article.body, words) or _shorten(article.body)),
        )
        for article in articles
    ]
