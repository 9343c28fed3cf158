"""The writer of a full rebuild: Whoosh's segment writer, with its postings kept and written
faster.

Whoosh's add_document hands every posting to a sorting pool as a tuple (with a size estimate
and two type checks each), sorts them all when the segment is written, then asks for each
posting's field length back from the length column it has just written. A rebuild adds fresh
documents in order into one new segment, so the postings of a term can be kept in one list
per (field, term) as they come, already in document order, with the field's length beside
them, and handed to postings.write_postings a term at a time. The stored fields, lengths and
columns still go through Whoosh's own per-document writer. The files written are byte for
byte those of Whoosh's writer with the same codec, but for the stored fields' column, which
reads back the same (tests/search/test_index_bulk.py compares them)."""

from __future__ import annotations

import zlib
from typing import NamedTuple

from whoosh import fields as whoosh_fields
from whoosh import formats
from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import CLEAR, SegmentWriter

from .analysis import AnalysedText, analyse
from .postings import write_postings

# The length Whoosh reads back for a posting: the stored byte's length, None for byte 0.
_TO_LENGTH = [byte_to_length(byte) if byte else None for byte in range(256)]


# How a field's values become postings: analysis.analyse() whole (AnalysedText), as one term
# (a plain ID), through the field's own index() (anything else), or none (only stored).
ANALYSED, WHOLE, GENERAL, STORED = "analysed", "whole", "general", "stored"


class _Field(NamedTuple):
    """What add_document needs to know of a field, looked up once per rebuild."""

    field: whoosh_fields.FieldType
    how: str
    terms: dict  # term bytes: postings
    spelling: dict | None  # unstemmed word bytes: its postings' values, if the field has them
    column: object


def _how(field) -> str:
    if field.stored and not field.indexed and not field.column_type:
        return STORED
    if isinstance(field, AnalysedText) and field._fast("", {}):  # noqa: SLF001
        return ANALYSED
    if (
        type(field) is whoosh_fields.ID
        and type(field.analyzer) is IDTokenizer
        and type(field.format) is formats.Existence
        and field.format.field_boost == 1.0
    ):
        return WHOLE  # Whoosh's IDTokenizer yields the value itself, Existence weighs it 1.0
    return GENERAL


def small_zlib(data: bytes, level: int) -> bytes:
    """zlib.compress() with a 4 KB window and a small hash table (about 25 KB in all, against
    256 KB): ten times faster on a document's stored fields, as small, and read by the same
    zlib.decompress()."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 12, 4)
    return compressor.compress(data) + compressor.flush()


class BulkWriter(SegmentWriter):
    """A SegmentWriter for writing many documents at once into a new segment (one rebuild,
    committed with mergetype=CLEAR). Documents carry plain values: no boosts, no _stored_."""

    def __init__(self, ix, **kwargs):
        # Each zlib.compress() allocates and frees a 256 KB state, which glibc hands back to
        # the system every time: 49,000 posting blocks of a few hundred bytes cost more to
        # compress than to write. They are left uncompressed (a block's header says how it is
        # stored), and each document's stored fields are compressed with a small state.
        kwargs.setdefault("codec", W3Codec(compression=0))
        super().__init__(ix, **kwargs)
        stored = self.perdocwriter._colwriters["_stored"]  # noqa: SLF001
        stored._child._compress = small_zlib  # noqa: SLF001 - a CompressedBytesColumn's writer
        # field name: {term bytes: [posting, ...]}, the spelling fields' {word bytes: [value]}
        self._terms: dict[str, dict[bytes, list]] = {}
        self._fields: dict[str, _Field] = {}

    def commit(self, mergetype=None, optimize=None, merge=None):
        """A rebuild replaces every segment: nothing is merged into it, whatever is asked (a
        merge would add the old segments' postings, which this writer does not keep)."""
        super().commit(mergetype=CLEAR)

    def _field(self, fieldname: str) -> _Field:
        self._check_fields(self.schema, [fieldname])
        field = self.schema[fieldname]
        spelling = None
        if field.separate_spelling():
            spelling = self._terms.setdefault(field.spelling_fieldname(fieldname), {})
        known = self._fields[fieldname] = _Field(
            field,
            _how(field),
            self._terms.setdefault(fieldname, {}) if field.indexed else {},
            spelling,
            field.column_type,
        )
        return known

    def add_document(self, **fields):
        self._check_state()
        if any(name.startswith("_") for name in fields):
            raise TypeError("a rebuild's documents carry no boosts or _stored_ values")
        perdocwriter = self.perdocwriter
        perdocwriter.start_doc(self.docnum)
        # Whoosh gives a field's spelling postings the value of the last posting added before
        # them (a variable its loop leaves behind); nothing reads it, the files keep it.
        last_value = b""
        try:
            for fieldname in sorted(fields):
                value = fields[fieldname]
                if value is None:
                    continue
                known = self._fields.get(fieldname) or self._field(fieldname)
                if known.how is STORED:
                    perdocwriter.add_field(fieldname, known.field, value, 0)
                    continue
                length, last_value = self._add_postings(known, value, last_value)
                field = known.field
                perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
                if known.column:
                    perdocwriter.add_column_value(
                        fieldname, known.column, field.to_column_value(value)
                    )
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _items(self, known: _Field, value) -> tuple:
        """A value's (term bytes, frequency, weight, value) postings, its length and its
        spelling words (as UTF-8)."""
        field = known.field
        if known.how is ANALYSED and isinstance(value, str):
            analysed = analyse(value)
            return analysed.postings, analysed.length, analysed.spelling_bytes
        if known.how is WHOLE and isinstance(value, str):
            return ((value.encode("utf-8"), 1, 1.0, b""),), 0, ()
        if not field.indexed:
            return (), 0, ()
        # Whoosh multiplies each weight by the field's boost, 1.0 here: a float.
        items = tuple(
            (tbytes, freq, weight * 1.0, vbytes)
            for tbytes, freq, weight, vbytes in field.index(value)
        )
        length = sum(freq for _, freq, _, _ in items) if field.scorable else 0
        words = ()
        if known.spelling is not None:
            words = [word.encode("utf-8") for word in field.spellable_words(value)]
        return items, length, words

    def _add_postings(self, known: _Field, value, last_value: bytes):
        """Keep one value's postings and spelling words; its length and the last posting's
        value."""
        items, length, words = self._items(known, value)
        if items:
            docnum = self.docnum
            terms = known.terms
            shown = _TO_LENGTH[length_to_byte(length)] if length else None
            for tbytes, _, weight, vbytes in items:
                posting = (docnum, weight, vbytes, shown)  # a weight object shared, not copied
                try:
                    terms[tbytes].append(posting)
                except KeyError:
                    terms[tbytes] = [posting]
            last_value = items[-1][3]
        if words:
            spelling = known.spelling
            for word in words:
                try:
                    spelling[word].append(last_value)
                except KeyError:
                    spelling[word] = [last_value]
        return length, last_value

    def _flush_segment(self):
        self.perdocwriter.close()
        write_postings(self.fieldwriter, self.schema, self._terms)
        self.fieldwriter.close()
