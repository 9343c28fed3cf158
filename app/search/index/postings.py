"""A rebuild's posting lists, written to the segment a term at a time.

Whoosh's writer puts every posting through its sorting pool as a tuple and then through its
postings writer one call at a time (a check of four types, four appends): at 10,000 offers
that is 876,000 postings, most of a rebuild. Here the postings of a term arrive as one list
(BulkWriter keeps them by field and term as documents are added, so they are already in
document order) and each block of them is packed in a few calls. The blocks, their statistics,
the term infos and every byte written are those of Whoosh's W3PostingsWriter
(tests/search/test_index_bulk.py compares the two writers' files)."""

from __future__ import annotations

import zlib
from array import array
from operator import sub
from pickle import dumps

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.fields import SpellField
from whoosh.system import emptybytes, pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

_TERMINFO = W3TermInfo._struct.pack  # noqa: SLF001 - flags, weight, df, lengths, ids

# One posting: (document number, weight, encoded value, the field's length in the document).
Posting = tuple[int, float, bytes, int | None]


def _mini_weights(weights: array):
    first = weights[0]
    if weights.count(first) == len(weights):
        return None if first == 1.0 else first
    return tuple(weights)


def _mini_values(values, fixedsize):
    values = [value for value in values if value]
    if fixedsize is None or fixedsize < 0:
        return tuple(values)
    if fixedsize == 0:
        return None
    return emptybytes.join(values)


class _Term:
    """A term's statistics over its blocks, as W3TermInfo.add_block() sums them."""

    __slots__ = ("weight", "df", "minlength", "maxlength", "maxweight")

    def __init__(self):
        self.weight, self.df, self.minlength, self.maxlength, self.maxweight = 0, 0, None, 0, 0


class TermWriter:
    """Writes each term's postings into the segment's postings file, and its term info."""

    def __init__(self, fieldwriter):
        codec = fieldwriter._codec  # noqa: SLF001 - the segment's own codec settings
        self._postfile = fieldwriter._postfile  # noqa: SLF001
        self._add_terminfo = fieldwriter._tindex.add  # noqa: SLF001
        self._blocklimit = codec._blocklimit  # noqa: SLF001
        self._compression = codec._compression  # noqa: SLF001

    def write(self, fieldid: int, fixedsize, tbytes: bytes, postings: list[Posting]) -> None:
        term, start = _Term(), self._start()
        limit = self._blocklimit
        count = len(postings)
        for begin in range(0, count, limit):
            ids, weights, values, lengths = zip(*postings[begin : begin + limit], strict=True)
            self._block(term, ids, weights, values, lengths, fixedsize, begin + limit >= count)
        self._finish(term, start, postings[0][0], postings[-1][0], fieldid, tbytes)

    def write_spelling(self, fieldid: int, fixedsize, tbytes: bytes, values: list[bytes]) -> None:
        """A spelling word's postings: one per document with the word, all on document 0 with
        weight 1, sorted by their values (as Whoosh's pool sorts equal postings)."""
        term, start = _Term(), self._start()
        values = sorted(values)
        limit = self._blocklimit
        count = len(values)
        for begin in range(0, count, limit):
            chunk = values[begin : begin + limit]
            size = len(chunk)
            zeros, ones, nones = (0,) * size, (1,) * size, (None,) * size
            self._block(term, zeros, ones, chunk, nones, fixedsize, begin + limit >= count)
        self._finish(term, start, 0, 0, fieldid, tbytes)

    def _start(self) -> int:
        start = self._postfile.tell()
        self._postfile.write(WHOOSH3_HEADER_MAGIC)
        return start

    def _finish(self, term: _Term, start: int, minid, maxid, fieldid: int, tbytes) -> None:
        """The term's row in the terms table: W3TermInfo.to_bytes() of a term not inlined."""
        info = _TERMINFO(
            False,
            term.weight,
            term.df,
            0 if term.minlength is None else length_to_byte(term.minlength),
            length_to_byte(term.maxlength),
            term.maxweight,
            minid,
            maxid,
        )
        extent = pack_long(start) + pack_int(self._postfile.tell() - start)
        self._add_terminfo(pack_ushort(fieldid) + tbytes, info + extent)

    def _block(self, term: _Term, ids, raw_weights, values, lengths, fixedsize, last) -> None:
        """One block of postings, its statistics added to the term's (W3PostingsWriter's
        _write_block() and W3TermInfo.add_block())."""
        count = len(ids)
        weights = array("f", raw_weights)
        minlength = min(filter(None, lengths), default=None)
        maxlength = max(filter(None, lengths), default=0)
        # Whoosh keeps the first weight above 0 that no later one exceeds (an int stays an int).
        heaviest = max(raw_weights)
        maxweight = heaviest if heaviest > 0 else 0
        term.weight += sum(weights)
        term.df += count
        term.minlength = minlength if term.minlength is None else min(term.minlength, minlength)
        term.maxlength = max(term.maxlength, maxlength)
        term.maxweight = max(term.maxweight, maxweight)
        deltas = (ids[0], *map(sub, ids[1:], ids))
        databytes = dumps((deltas, _mini_weights(weights), _mini_values(values, fixedsize)), 2)
        compression = self._compression
        if compression:
            databytes = zlib.compress(databytes, compression)
        infobytes = dumps(
            (
                count,
                ids[-1],
                maxweight,
                compression,
                length_to_byte(minlength),
                length_to_byte(maxlength),
            ),
            2,
        )
        blocklength = len(infobytes) + len(databytes)
        # One write of what Whoosh writes in three (the length, the block's info, its data).
        self._postfile.write(
            pack_int(-blocklength if last else blocklength) + infobytes + databytes
        )


def write_postings(fieldwriter, schema, terms: dict[str, dict]) -> None:
    """Every field's terms ({field name: {term bytes: postings}}), in the order of Whoosh's
    sorted pool. A spelling field (spell_<field>) holds, for each word, the values of its
    postings: one per document with the word, all on document 0 with weight 1 as Whoosh writes
    them, so their number is the word's document frequency."""
    writer = TermWriter(fieldwriter)
    for fieldname in sorted(terms):
        field_terms = terms[fieldname]
        if not field_terms:
            continue
        field = schema[fieldname]
        fieldwriter.start_field(fieldname, field)
        fieldid = fieldwriter._fieldid  # noqa: SLF001
        fixedsize = field.format.fixed_value_size()
        spelling = isinstance(field, SpellField)
        write = writer.write_spelling if spelling else writer.write
        for tbytes in sorted(field_terms):
            write(fieldid, fixedsize, tbytes, field_terms[tbytes])
        fieldwriter.finish_field()
