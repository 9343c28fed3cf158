"""One Whoosh searcher per thread, kept while the index's files are unchanged.

Opening the index and a searcher reads the table of contents and every segment's term info:
several milliseconds a search. A searcher reads one generation of the index, so it may be kept
as long as that generation is the latest: every search compares the names, sizes and
modification times of the index's files (one directory scan) with the ones the searcher was
opened on, and opens a new one when anything changed (a commit, a rebuild, a wiped, broken or
removed folder; open_index then decides whether the index can be used at all). Whoosh
searchers are not safe to share between threads, hence one per thread.

The words' expansions (matching.expand), the posting lists read for ranking (ranking.Ranker)
and the hits' highlights depend on the searcher's generation only, so they are kept with it."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .index.store import KEEP, index_dir, open_index
from .ranking import Ranker

KEPT = 2000  # expansions, match sets and highlighted hits, kept per searcher
KEPT_DOCUMENTS = 200_000  # documents in the kept match sets, per searcher (a broad query's
# set holds thousands: 2,000 of them would hold hundreds of megabytes per thread)

_local = threading.local()


@dataclass
class OpenSearcher:
    path: Path
    signature: tuple
    searcher: object
    cache: dict = field(default_factory=dict)
    documents: int = 0  # in the kept match sets
    _ranker: Ranker | None = None
    _kinds: tuple | None = None

    @property
    def ranker(self) -> Ranker:
        if self._ranker is None:
            self._ranker = Ranker(self.searcher)
        return self._ranker

    def kinds(self) -> tuple:
        """Each document's type ("offer" or "article") and code, by document number: the
        columns' readers, opened once, each value decoded once as a search first reads it
        (reading the whole columns would cost more than a search; decoding a value, several
        microseconds, was a fifth of a broad search)."""
        if self._kinds is None:
            reader = self.searcher.reader()
            self._kinds = (
                _Decoded(reader.column_reader("type")),
                _Decoded(reader.column_reader("code")),
            )
        return self._kinds

    def kept(self, key: tuple, make, documents=lambda _found: 0):
        """What `make()` returns for this key, computed once per searcher: expansions of a
        word, a query's matches, a hit's highlighted title and snippet (its stored text cannot
        change while the searcher's generation is current). `documents(found)` is how many
        documents a match set holds; past KEPT entries or KEPT_DOCUMENTS, all are dropped."""
        found = self.cache.get(key)
        if found is None:
            found = make()
            size = documents(found)
            if len(self.cache) >= KEPT or self.documents + size > KEPT_DOCUMENTS:
                self.cache.clear()
                self.documents = 0
            self.cache[key] = found
            self.documents += size
        return found


class _Decoded(dict):
    """A column reader's values by document number, each read from the column once."""

    def __init__(self, column):
        super().__init__()
        self.column = column

    def __missing__(self, docnum: int):
        value = self[docnum] = self.column[docnum]
        return value


def _signature(path: Path) -> tuple | None:
    try:
        with os.scandir(path) as entries:
            files = []
            for entry in entries:
                if entry.name in KEEP:
                    continue
                status = entry.stat(follow_symlinks=False)
                files.append((entry.name, status.st_size, status.st_mtime_ns, status.st_ino))
    except OSError:
        return None
    return tuple(sorted(files))


def current() -> OpenSearcher:
    """This thread's searcher on the latest generation of the index (IndexUnavailable when
    the index cannot be used)."""
    path = index_dir()
    signature = _signature(path)
    kept: OpenSearcher | None = getattr(_local, "open", None)
    if kept is not None and kept.path == path and kept.signature == signature and signature:
        return kept
    forget()
    searcher = open_index(path).searcher()  # missing or broken: IndexUnavailable, rebuild asked
    _local.open = OpenSearcher(path, signature or _signature(path), searcher)
    return _local.open


def forget() -> None:
    """Close this thread's searcher (a search that failed on it calls this, too)."""
    kept = getattr(_local, "open", None)
    _local.open = None
    if kept is not None:
        with contextlib.suppress(Exception):  # a broken index may fail to close, too
            kept.searcher.close()
