"""Matching query words in PostgreSQL: what each word matches (its English stem, or any word it
is a prefix of, in the offers' and articles' `search_vector` columns; a category whose name
has it), the near words of a word that is in no document at all (pg_trgm finds the candidate
texts, the same edit distance as the Whoosh backend picks the words), and the SQL conditions
and ranks built from them.

Every word reaches the database as a bound parameter of plainto_tsquery or to_tsquery: the
tsquery text for a prefix is built from a word made of letters, digits, "_" and "." only
(query.words_of), quoted, so no query text is ever SQL or tsquery syntax."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from ...catalog.models import LIVE_STATUSES, ServiceOffer
from ...extensions import db
from ...knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles
from ..index.documents import plain_text
from ..index.schema import ANALYZER
from ..query import Word
from ..suggestions import nearest

PREFIX_MIN = 2
FUZZY_MIN = 3
NEAR_CANDIDATES = 200  # texts read to find the near words of one unknown word
TRIGRAM_THRESHOLD = "0.25"  # pg_trgm word similarity that makes a text a candidate
# ts_rank_cd weights for D, C, B, A: description and body C, summary B, name and code A.
RANK_WEIGHTS = sa.literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
CATEGORY_BONUS = 0.15  # per word matched through the offer's category name

OFFER_VECTOR = sa.literal_column("service_offers.search_vector", TSVECTOR)
ARTICLE_VECTOR = sa.literal_column("knowledge_articles.search_vector", TSVECTOR)
_ENGLISH = sa.literal_column("'english'::regconfig")
_SIMPLE = sa.literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class WordMatch:
    """What one query word matches: a tsquery (None: nothing), the categories whose name has
    it, whether it matches as a prefix, and, when it is in no document at all, the near words
    it may be a misspelling of (then the tsquery matches those)."""

    word: Word
    query: sa.ColumnElement | None
    categories: frozenset[int]
    prefix: bool
    near: tuple[str, ...] = ()

    def stems(self) -> frozenset[str]:
        """The analysed terms this word highlights exactly (its stem, or its near words')."""
        if self.near:
            return _stems_of(self.near)
        return frozenset({self.word.stem})

    def marks(self, term: str) -> bool:
        return term in self.stems() or (self.prefix and term.startswith(self.word.raw))


@functools.lru_cache(maxsize=256)
def _stems_of(near: tuple[str, ...]) -> frozenset[str]:
    return frozenset(token.text for each in near for token in ANALYZER(each))


def _or(queries: list) -> sa.ColumnElement:
    combined = queries[0]
    for query in queries[1:]:
        combined = combined.op("||", return_type=TSQUERY)(query)
    return combined


def _exact(text: str) -> sa.ColumnElement:
    return _or([sa.func.plainto_tsquery(_ENGLISH, text), sa.func.plainto_tsquery(_SIMPLE, text)])


def word_query(word: Word) -> sa.ColumnElement:
    """Its English stem, or (from two letters) any word it begins."""
    if len(word.raw) < PREFIX_MIN:
        return _exact(word.raw)
    prefix = "'" + word.raw.replace("\\", "").replace("'", "") + "':*"
    return _or([sa.func.plainto_tsquery(_ENGLISH, word.raw), sa.func.to_tsquery(_SIMPLE, prefix)])


def near_query(near: tuple[str, ...]) -> sa.ColumnElement | None:
    return _or([_exact(each) for each in near]) if near else None


def matching_categories(word: Word, categories: dict[int, tuple[str, str]]) -> frozenset[int]:
    """Categories whose name has the word (stem, or as a prefix), analysed as Whoosh does."""
    found = set()
    for category_id, (_, name) in categories.items():
        terms = {token.text for token in ANALYZER(name)}
        if word.stem in terms or (
            len(word.raw) >= PREFIX_MIN and any(term.startswith(word.raw) for term in terms)
        ):
            found.add(category_id)
    return frozenset(found)


def _code_words(code_column) -> sa.ColumnElement:
    spaced = sa.func.replace(sa.func.replace(sa.func.lower(code_column), "-", " "), "_", " ")
    return sa.func.to_tsvector(_SIMPLE, spaced)


def article_condition(query) -> sa.ColumnElement:
    """An article matches in its title or body, or by the code of an offer it is linked to."""
    by_code = sa.exists().where(
        offer_articles.c.article_id == KnowledgeArticle.id,
        _code_words(offer_articles.c.offer_code).bool_op("@@")(query),
    )
    return sa.or_(ARTICLE_VECTOR.bool_op("@@")(query), by_code)


def offer_condition(match: WordMatch) -> sa.ColumnElement:
    clauses = []
    if match.query is not None:
        clauses.append(OFFER_VECTOR.bool_op("@@")(match.query))
    if match.categories:
        clauses.append(ServiceOffer.category_id.in_(sorted(match.categories)))
    return sa.or_(*clauses) if clauses else sa.false()


def _known(words: list[Word]) -> list[bool]:
    """For each word: does any live offer or published article have it (one query)?"""
    live = ServiceOffer.status.in_(LIVE_STATUSES)
    published = KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
    columns = []
    for number, word in enumerate(words):
        query = word_query(word)
        offers = sa.exists().where(live, OFFER_VECTOR.bool_op("@@")(query))
        articles = sa.exists().where(published, article_condition(query))
        columns.append(sa.or_(offers, articles).label(f"known_{number}"))
    return list(db.session.execute(sa.select(*columns)).one())


def _candidate_texts(raw: str) -> list[str]:
    """Names, summaries, descriptions and codes of live offers, titles of published articles,
    that have a word like `raw` (pg_trgm's word similarity, through the trigram indexes)."""
    db.session.execute(
        sa.select(sa.func.set_config("pg_trgm.word_similarity_threshold", TRIGRAM_THRESHOLD, True))
    )
    like = sa.literal(raw)
    offers = db.session.execute(
        sa.select(
            ServiceOffer.name, ServiceOffer.summary, ServiceOffer.description, ServiceOffer.code
        )
        .where(
            ServiceOffer.status.in_(LIVE_STATUSES),
            sa.or_(
                *(
                    like.bool_op("<%")(column)
                    for column in (
                        ServiceOffer.name,
                        ServiceOffer.summary,
                        ServiceOffer.description,
                    )
                )
            ),
        )
        .limit(NEAR_CANDIDATES)
    ).all()
    titles = db.session.scalars(
        sa.select(KnowledgeArticle.title)
        .where(
            KnowledgeArticle.status == ArticleStatus.PUBLISHED.value,
            like.bool_op("<%")(KnowledgeArticle.title),
        )
        .limit(NEAR_CANDIDATES)
    ).all()
    texts = [
        f"{name} {summary or ''} {plain_text(description)} {code.replace('-', ' ')}"
        for name, summary, description, code in offers
    ]
    return texts + list(titles)


def near_words(raw: str, categories: dict[int, tuple[str, str]]) -> list[str]:
    """Words of the candidate texts and category names near `raw`, as the Whoosh backend
    ranks them (suggestions.nearest): nearest and most frequent first."""
    frequency: Counter = Counter()
    for text in _candidate_texts(raw) + [name for _, name in categories.values()]:
        frequency.update({token.text for token in ANALYZER(text, no_morph=True)})
    return nearest(raw, frequency)


def match_words(
    words: list[Word], categories: dict[int, tuple[str, str]], *, fuzzy: bool = True
) -> list[WordMatch]:
    """What each word matches; a word in no document and no category name (from three letters)
    matches its near words instead."""
    matched_categories = [matching_categories(word, categories) for word in words]
    known = _known(words)
    matches = []
    for word, found, is_known in zip(words, matched_categories, known, strict=True):
        if is_known or found or len(word.raw) < FUZZY_MIN:
            matches.append(WordMatch(word, word_query(word), found, len(word.raw) >= PREFIX_MIN))
            continue
        near = tuple(near_words(word.raw, categories))
        query = near_query(near) if fuzzy else None
        matches.append(WordMatch(word, query, frozenset(), False, near))
    return matches


def rank_query(matches: list[WordMatch]) -> sa.ColumnElement | None:
    queries = [match.query for match in matches if match.query is not None]
    return _or(queries) if queries else None


def offer_match(matches: list[WordMatch]) -> sa.ColumnElement | None:
    """SQL: a live offer matching every word (None: no offer can)."""
    if not matches or any(m.query is None and not m.categories for m in matches):
        return None
    return sa.and_(ServiceOffer.status.in_(LIVE_STATUSES), *(offer_condition(m) for m in matches))


def offer_rank(matches: list[WordMatch]) -> sa.ColumnElement:
    """SQL: ts_rank_cd over the weighted vector (score() adds the categories' part)."""
    ranking = rank_query(matches)
    if ranking is None:
        return sa.literal(0.0)
    return sa.func.ts_rank_cd(RANK_WEIGHTS, OFFER_VECTOR, ranking)


def score(rank: float | None, category_id: int | None, matches: list[WordMatch]) -> float:
    """The rank plus a little per word matched through the offer's category."""
    bonus = sum(CATEGORY_BONUS for m in matches if category_id in m.categories)
    return float(rank or 0) + bonus
