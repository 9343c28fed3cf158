"""The text fields' analysis at indexing time, in one pass over each value.

Whoosh analyses a value by running a chain of generators over one mutable Token per word
(tokenizer, lower case, stop words, stemming) and does it twice per field: once for the stemmed
terms, once more for the unstemmed spelling words. At 10,000 offers that was half a rebuild. The
field type below produces exactly what StemmingAnalyzer (the ANALYZER every query word goes
through) produces, with the same regular expression, stop list and Porter stemmer, from one
list of words; tests/search/test_index_analysis.py holds the two side by side."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

from whoosh import fields, formats
from whoosh.analysis import StemmingAnalyzer
from whoosh.system import pack_uint

ANALYZER = StemmingAnalyzer()
_TOKENIZER, _LOWERCASE, _STOP, _STEM = ANALYZER.items
# The tokenizer's expression without its capturing group, so findall() returns whole matches.
_FIND_WORDS = re.compile(_TOKENIZER.expression.pattern.replace("(\\.?", "(?:\\.?")).findall
_STOPS = _STOP.stops
_MIN = _STOP.min


@lru_cache(maxsize=100_000)
def _stem_bytes(word: str) -> bytes:
    return _STEM.stemfn(word).encode("utf-8")


# A posting's frequency, weight and encoded frequency, for the counts words usually have.
_COUNTS = [(count, float(count), pack_uint(count)) for count in range(64)]


def _counted(count: int) -> tuple[int, float, bytes]:
    return _COUNTS[count] if count < 64 else (count, float(count), pack_uint(count))


class Analysed(NamedTuple):
    """One value's postings (term bytes, frequency, weight, encoded frequency), in the order
    Whoosh's Frequency format yields them, its length (the sum of the frequencies) and its
    unstemmed words, sorted (as text and as UTF-8)."""

    postings: tuple[tuple[bytes, int, float, bytes], ...]
    length: int
    spelling: tuple[str, ...]
    spelling_bytes: tuple[bytes, ...]


def words(text: str) -> list[str]:
    """The words StemmingAnalyzer keeps, before stemming. It lower-cases each word it found;
    ASCII text can be lower-cased first (the same words: only A-Z change, one for one)."""
    if text.isascii():
        found = _FIND_WORDS(text.lower())
    else:
        found = [word.lower() for word in _FIND_WORDS(text)]
    return [word for word in found if len(word) >= _MIN and word not in _STOPS]


@lru_cache(maxsize=4096)  # category names and other short values recur across documents
def analyse(text: str) -> Analysed:
    unstemmed = words(text)
    # Counted in first-seen order, as Whoosh's Frequency format yields them.
    frequencies = Counter(map(_stem_bytes, unstemmed))
    postings = tuple((stem, *_counted(count)) for stem, count in frequencies.items())
    spelling = tuple(sorted(set(unstemmed)))
    return Analysed(postings, len(unstemmed), spelling, tuple(map(str.encode, spelling)))


class AnalysedText(fields.TEXT):
    """Stemmed text with term frequencies (no positions: no query reads them) and its unstemmed
    words in spell_<field>, analysed in one pass. Anything but a plain string, or a call with
    options, goes the general way."""

    def __init__(self, *, stored: bool = True):
        super().__init__(analyzer=ANALYZER, stored=stored, phrase=False, spelling=True)

    def _fast(self, value, options) -> bool:
        return (
            not options
            and isinstance(value, str)
            and type(self.format) is formats.Frequency
            and self.format.field_boost == 1.0
        )

    def index(self, value, **options):
        if self._fast(value, options):
            return iter(analyse(value).postings)
        return super().index(value, **options)

    def spellable_words(self, value):
        if self._fast(value, {}):
            return iter(analyse(value).spelling)
        return super().spellable_words(value)
