"""The Whoosh index of live offers and published knowledge articles: its schema (schema.py),
where it lives and whether it can be used (store.py), the documents it holds (documents.py),
writing to it (writer.py, with the lock and queue in locks.py) and keeping it current after
every commit (listeners.py).

The index is derived data. It answers *which documents match these words, how well, and where*
(relevance, prefix and typo-tolerant matching, spelling suggestions, snippets). It is never the
authority on *who may see an offer* or *what it costs now*: audiences, canary pilots, validity
windows and effective prices are read from SQL at query time (see app/search/visibility.py),
because they change without any commit touching the offer (a frozen clock passing valid_from, a
price change taking effect) or through bulk statements on `offer_audience` that the ORM never
sees. A stale or incomplete index can therefore cost a match, never leak an offer.

Code inside app/search imports the concept modules; the names below are the ones callers
outside it use (the tests, the benchmarks)."""

from . import codec
from .store import KEEP, MARKER, PENDING, open_index, status
from .writer import apply_changes, count_documents, create_empty, rebuild

__all__ = [
    "KEEP",
    "MARKER",
    "PENDING",
    "apply_changes",
    "count_documents",
    "create_empty",
    "open_index",
    "rebuild",
    "status",
]

codec.install()
