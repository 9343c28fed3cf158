"""The writer of a full rebuild: Whoosh's segment writer, with its postings written faster.

When Whoosh writes a segment it asks, for every posting, the length of the document's field,
and reads it back from the length column it has just written: at 10,000 offers that was
876,000 reads of one byte each through three layers of calls. Here each field's lengths are
read once into a list. The postings, their order and every byte written are Whoosh's own; only
where the lengths come from changes (tests/search/test_index_analysis.py compares an index built
this way with one built by Whoosh's own writer)."""

from __future__ import annotations

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

_TO_LENGTH = [byte_to_length(byte) if byte else None for byte in range(256)]


class _Lengths:
    """doc_field_length() from each field's length column read whole, once."""

    def __init__(self, reader):
        self._reader = reader
        self._fields: dict[str, list | None] = {}

    def _lengths(self, fieldname: str) -> list | None:
        column = self._reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)  # noqa: SLF001
        if column is None:
            return None
        return [_TO_LENGTH[byte] for byte in column]

    def doc_field_length(self, docnum: int, fieldname: str, default=0):
        try:
            lengths = self._fields[fieldname]
        except KeyError:
            lengths = self._fields[fieldname] = self._lengths(fieldname)
        return default if lengths is None else lengths[docnum]

    def close(self) -> None:
        self._reader.close()


class BulkWriter(SegmentWriter):
    """A SegmentWriter for writing many documents at once (one rebuild)."""

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = _Lengths(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()
