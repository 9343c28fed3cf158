"""BM25F scores of the matching documents, computed from the posting lists directly.

Whoosh scores a query through a tree of matchers, a few Python calls per posting and per
document; for a broad query (thousands of matches) that was most of a search's time. The score
is simple to compute straight from the postings: a document's score is the sum, over every
(field, term, boost) of the query that the document has, of boost * BM25(idf, weight, field
length), with the searcher's own BM25F parameters, idf, average field lengths and (quantized)
field lengths, so the scores and the ranking equal Whoosh's. The posting lists read are kept
with the searcher (searchers.OpenSearcher) for as long as its generation is current."""

from __future__ import annotations

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F, bm25
from whoosh.util.numeric import byte_to_length

POSTINGS_KEPT = 4000  # posting lists kept per searcher


def _leaf_postings(matcher, offset: int, into: dict[int, float]) -> None:
    """Every (document, weight) of one segment's posting list; block by block when the
    matcher is Whoosh's own leaf matcher (no deletions), posting by posting otherwise."""
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_read_weights"):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            for docnum, weight in zip(matcher._ids, matcher._weights, strict=False):
                into[docnum + offset] = weight
            matcher._next_block()
        return
    while matcher.is_active():
        into[matcher.id() + offset] = matcher.weight()
        matcher.next()


def read_postings(reader, fieldname: str, term: str) -> dict[int, float]:
    """{document number: weight} of a term, over every segment."""
    found: dict[int, float] = {}
    for leaf, offset in reader.leaf_readers():
        try:
            matcher = leaf.postings(fieldname, term)
        except TermNotFound:
            continue
        _leaf_postings(matcher, offset, found)
    return found


_BYTE_LENGTHS = [byte_to_length(encoded) for encoded in range(256)]


def _length_column(reader, fieldname: str):
    """The column of a single-segment index's quantized field lengths (what
    doc_field_length decodes; read straight, it costs a tenth), or None (several segments:
    doc_field_length then)."""
    leaves = reader.leaf_readers()
    if len(leaves) != 1 or leaves[0][1] != 0:
        return None
    try:
        return leaves[0][0]._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    except AttributeError:  # another codec
        return None


class Ranker:
    """Postings and field lengths of one searcher, read once."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.postings_kept: dict[tuple[str, str], dict[int, float]] = {}
        self.lengths: dict[str, dict[int, int]] = {}
        self.statistics: dict[tuple[str, str], tuple[float, float, float]] = {}
        self._columns: dict[str, object] = {}

    def postings(self, fieldname: str, term: str) -> dict[int, float]:
        key = (fieldname, term)
        found = self.postings_kept.get(key)
        if found is None:
            if len(self.postings_kept) >= POSTINGS_KEPT:
                self.postings_kept.clear()
            found = self.postings_kept[key] = read_postings(self.reader, fieldname, term)
        return found

    def docs(self, fieldname: str, term: str) -> set[int]:
        return set(self.postings(fieldname, term))

    def _statistics(self, fieldname: str, term: str) -> tuple[float, float, float]:
        """(idf, average field length, B) as Whoosh's BM25F scorer has them."""
        key = (fieldname, term)
        found = self.statistics.get(key)
        if found is None:
            weighting = self.searcher.weighting
            b = weighting._field_B.get(fieldname, weighting.B)
            idf = self.searcher.idf(fieldname, term)
            average = self.searcher.avg_field_length(fieldname) or 1
            found = self.statistics[key] = (idf, average, b)
        return found

    def _length(self, fieldname: str, docnum: int) -> int:
        lengths = self.lengths.get(fieldname)
        if lengths is None:
            lengths = self.lengths[fieldname] = {}
            self._columns[fieldname] = _length_column(self.reader, fieldname)
        length = lengths.get(docnum)
        if length is None:
            column = self._columns[fieldname]
            encoded = column[docnum] if column is not None else 0
            length = (
                _BYTE_LENGTHS[encoded]
                if encoded
                else self.searcher.doc_field_length(docnum, fieldname, 1)
            )
            lengths[docnum] = length
        return length

    def scores(self, expansions, docnums: set[int]) -> dict[int, float]:
        """The score of each of `docnums` (documents matching every word) for the query."""
        if not isinstance(self.searcher.weighting, BM25F):
            raise TypeError("scores() computes BM25F only")
        k1 = self.searcher.weighting.K1
        totals = dict.fromkeys(docnums, 0.0)
        for expansion in expansions:
            for fieldname, term, boost in expansion.terms:
                postings = self.postings(fieldname, term)
                idf, average, b = self._statistics(fieldname, term)
                present = (
                    docnums.intersection(postings)
                    if len(postings) > len(docnums)
                    else [d for d in postings if d in totals]
                )
                for docnum in present:
                    length = self._length(fieldname, docnum)
                    totals[docnum] += bm25(idf, postings[docnum], length, average, b, k1) * boost
        return totals
