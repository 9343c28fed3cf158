"""Writing to the index: re-indexing changed keys after a commit, rebuilding it whole, and
creating it empty.

Why nothing is lost when several processes write at once:

* every writer takes the index's file lock (locks.py), and only *then* reads the rows it
  indexes, in a fresh database session; the last writer to get the lock therefore writes the
  latest committed state, whatever the order the commits happened in;
* a writer that cannot get the lock within SEARCH_LOCK_TIMEOUT seconds queues its keys and tries
  once more; whoever holds the index lock takes the pending keys before writing and checks the
  queue again after releasing the lock, so a queued key is always picked up by the last writer;
* a full rebuild holds the same lock, so it never interleaves with incremental writes."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session
from whoosh.filedb.filestore import FileStorage

from ...catalog.models import LIVE_STATUSES, ServiceOffer
from ...extensions import db
from ...knowledge.models import ArticleStatus, KnowledgeArticle
from .bulk import BulkWriter
from .documents import article_documents, offer_documents
from .locks import (
    REBUILD_LOCK_TIMEOUT,
    has_pending,
    lock_timeout,
    locked,
    queue_keys,
    take_pending,
)
from .schema import SCHEMA
from .store import INDEX_NAME, KEEP, IndexUnavailable, index_dir, open_index, write_marker

# The index's one logger, by the name operators (and the tests) configure.
log = logging.getLogger("app.search.index")

BATCH = 500


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fresh_session() -> Session:
    """A session of its own: after_commit may not use the committing session for SQL."""
    return Session(bind=db.engine, expire_on_commit=False)


# --- re-indexing changed keys ---------------------------------------------------------------


def _expand_keys(session: Session, keys: set[str]) -> tuple[list[str], list[int]]:
    """Offer codes and article ids named by the keys ("offer:X", "article:N", "category:N")."""
    codes: set[str] = set()
    article_ids: set[int] = set()
    category_ids: set[int] = set()
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "offer" and value:
            codes.add(value)
        elif kind in ("article", "category") and value.isdigit():
            (article_ids if kind == "article" else category_ids).add(int(value))
    for chunk in _chunks(sorted(category_ids)):
        codes.update(
            session.scalars(
                sa.select(ServiceOffer.code).where(
                    ServiceOffer.category_id.in_(chunk), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
        )
    return sorted(codes), sorted(article_ids)


def _write_keys(writer, session: Session, keys: set[str]) -> int:
    """Replace the documents of these keys with what the database holds now."""
    codes, article_ids = _expand_keys(session, keys)
    written = 0
    for chunk in _chunks(codes):
        documents = offer_documents(session, chunk)
        for code in chunk:
            writer.delete_by_term("key", f"offer:{code}")
            if code in documents:
                writer.add_document(**documents[code])
                written += 1
    for chunk in _chunks(article_ids):
        documents = article_documents(session, chunk)
        for article_id in chunk:
            writer.delete_by_term("key", f"article:{article_id}")
            if article_id in documents:
                writer.add_document(**documents[article_id])
                written += 1
    return written


def apply_changes(keys: Iterable[str]) -> bool:
    """Re-index these keys ("offer:<code>", "article:<id>", "category:<id>") from the database.

    Never raises: the database change is already committed, so a failure is logged (and the
    keys stay queued for the next writer) rather than turned into an error for the user.
    Returns True when the keys are written or handed to the process holding the lock."""
    keys = set(keys)
    path = index_dir()
    if not keys and not has_pending(path):
        return True
    try:
        ix = open_index(path, repair=False)
    except IndexUnavailable as reason:
        log.info("Search index not updated for %s: %s.", sorted(keys)[:10], reason)
        if path.is_dir():
            queue_keys(path, keys)  # a rebuild under way picks these up when it finishes
        return False
    keys = _worth_writing(ix, keys)
    if not keys and not has_pending(path):
        return True
    queued = False
    for attempt in range(20):
        with locked(path, lock_timeout() if attempt == 0 else 0) as acquired:
            if acquired:
                keys |= take_pending(path)
                try:
                    ix = FileStorage(str(path)).open_index(INDEX_NAME)
                    writer = ix.writer(_lk=False)
                    try:
                        with _fresh_session() as session:
                            _write_keys(writer, session, keys)
                        writer.commit()
                    except BaseException:
                        writer.cancel()
                        raise
                except Exception:
                    queue_keys(path, keys)
                    log.warning(
                        "Search index update failed for %s; queued for the next write.",
                        sorted(keys)[:10],
                        exc_info=True,
                    )
                    return False
                keys = set()
                queued = False
        if not acquired:
            if queued:
                return True  # the holder of the lock picks our keys up after its commit
            queue_keys(path, keys)
            keys, queued = set(), True
            continue
        if not has_pending(path):
            return True
    return True


def _worth_writing(ix, keys: set[str]) -> set[str]:
    """Leave out offers and articles that are neither live/published in the database nor in
    the index (a draft being created or moved along): writing them would change nothing.
    Safe without the lock: whoever makes such a code live writes it after its own commit."""
    if len(keys) > BATCH:
        return keys
    codes = {key[6:] for key in keys if key.startswith("offer:")}
    ids = {int(key[8:]) for key in keys if key.startswith("article:") and key[8:].isdigit()}
    if not codes and not ids:
        return keys
    with _fresh_session() as session:
        live = set(
            session.scalars(
                sa.select(ServiceOffer.code).where(
                    ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
                )
            )
            if codes
            else ()
        )
        published = set(
            session.scalars(
                sa.select(KnowledgeArticle.id).where(
                    KnowledgeArticle.id.in_(ids),
                    KnowledgeArticle.status == ArticleStatus.PUBLISHED.value,
                )
            )
            if ids
            else ()
        )
    wanted = {f"offer:{code}" for code in live} | {f"article:{id_}" for id_ in published}
    with ix.searcher() as searcher:
        return {
            key
            for key in keys
            if key in wanted
            or not key.startswith(("offer:", "article:"))
            or searcher.document_number(key=key) is not None
        }


def reindex_offer(code: str) -> bool:
    return apply_changes({f"offer:{code}"})


def reindex_article(article_id: int) -> bool:
    return apply_changes({f"article:{article_id}"})


# --- rebuilding -----------------------------------------------------------------------------


def count_documents() -> int:
    """How many documents a rebuild writes (live offers and published articles)."""
    offers = db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(ServiceOffer.status.in_(LIVE_STATUSES))
    )
    articles = db.session.scalar(
        sa.select(sa.func.count(KnowledgeArticle.id)).where(
            KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
        )
    )
    return int(offers or 0) + int(articles or 0)


def _wipe(path: Path) -> None:
    """Remove everything but the lock and queue files (other processes may hold those open)."""
    for entry in path.iterdir():
        if entry.name in KEEP:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _write_everything(writer, progress: Callable[[int], None] | None) -> dict[str, int]:
    """Add the document of every live offer and published article, in batches."""
    counts = {"offers": 0, "articles": 0}
    with _fresh_session() as session:
        codes = list(
            session.scalars(
                sa.select(ServiceOffer.code)
                .where(ServiceOffer.status.in_(LIVE_STATUSES))
                .order_by(ServiceOffer.code)
            )
        )
        for chunk in _chunks(codes):
            documents = offer_documents(session, chunk)
            for document in documents.values():
                writer.add_document(**document)
            counts["offers"] += len(documents)
            if progress:
                progress(len(chunk))
        article_ids = list(
            session.scalars(
                sa.select(KnowledgeArticle.id)
                .where(KnowledgeArticle.status == ArticleStatus.PUBLISHED.value)
                .order_by(KnowledgeArticle.id)
            )
        )
        for chunk in _chunks(article_ids):
            documents = article_documents(session, chunk)
            for document in documents.values():
                writer.add_document(**document)
            counts["articles"] += len(documents)
            if progress:
                progress(len(chunk))
    return counts


def rebuild(progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the whole index from the database; `progress(n)` after each batch of n documents.

    A usable index is replaced in one commit (readers keep answering from the old generation
    until then); a missing, broken or outdated one is wiped and created afresh. Returns
    {"offers": n, "articles": m}."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    with locked(path, REBUILD_LOCK_TIMEOUT) as acquired:
        if not acquired:
            raise IndexUnavailable(f"the index in {path} stayed locked by another writer")
        storage = FileStorage(str(path))
        try:
            open_index(path, repair=False)
            healthy = True
        except IndexUnavailable:
            healthy = False
        if healthy:
            ix = storage.open_index(INDEX_NAME)
        else:
            _wipe(path)
            ix = storage.create_index(SCHEMA, indexname=INDEX_NAME)
        take_pending(path)  # the full read below covers whatever was queued so far
        # Postings kept by term in memory (bulk.py), never through Whoosh's pool.
        writer = BulkWriter(ix, _lk=False)
        try:
            counts = _write_everything(writer, progress)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        write_marker(path, counts)
    if has_pending(path):  # changes committed while we held the lock
        apply_changes(set())
    return counts


def create_empty() -> None:
    """A complete, empty index (for a fresh database, and tests)."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    with locked(path, REBUILD_LOCK_TIMEOUT) as acquired:
        if not acquired:
            raise IndexUnavailable(f"the index in {path} stayed locked by another writer")
        _wipe(path)
        FileStorage(str(path)).create_index(SCHEMA, indexname=INDEX_NAME)
        write_marker(path, {"offers": 0, "articles": 0})
