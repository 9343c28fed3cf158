"""The Whoosh index of live offers and published knowledge articles: its schema, opening it,
writing to it, rebuilding it, and keeping it current after every commit.

The index is derived data. It answers *which documents match these words, how well, and where*
(relevance, prefix and typo-tolerant matching, spelling suggestions, snippets). It is never the
authority on *who may see an offer* or *what it costs now*: audiences, canary pilots, validity
windows and effective prices are read from SQL at query time (see services.py), because they
change without any commit touching the offer (a frozen clock passing valid_from, a price change
taking effect) or through bulk statements on `offer_audience` that the ORM never sees. A stale
or incomplete index can therefore cost a match, never leak an offer.

Writing, and why nothing is lost when several processes write at once:

* every writer takes Whoosh's file lock (fcntl, so it holds across gunicorn workers), and only
  *then* reads the rows it indexes, in a fresh database session; the last writer to get the lock
  therefore writes the latest committed state, whatever the order the commits happened in;
* a writer that cannot get the lock within SEARCH_LOCK_TIMEOUT seconds appends its keys to
  `pending.keys` (under a second, short-lived lock) and tries once more; whoever holds the
  index lock takes the pending keys before writing and checks the file again after releasing
  the lock, so a queued key is always picked up by the last writer;
* a full rebuild holds the same lock, so it never interleaves with incremental writes.

A folder that is missing, empty, broken, built by another schema version or never completely
built (no marker file) is *unavailable*: searches answer from the database and say so in the
log, and incremental writes skip it until `flask search reindex` rebuilds it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session
from whoosh import fields
from whoosh.analysis import StemmingAnalyzer
from whoosh.filedb.filestore import FileStorage
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR

from .. import clock
from ..audit.models import AuditEvent
from ..catalog.models import (
    LIVE_STATUSES,
    Category,
    OfferSettings,
    PriceChange,
    ServiceOffer,
    offer_audience,
)
from ..extensions import db
from ..knowledge.models import ArticleStatus, KnowledgeArticle, offer_articles

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
INDEX_NAME = "MAIN"
WRITELOCK = f"{INDEX_NAME}_WRITELOCK"  # the lock file Whoosh's own writers take
MARKER = "offerdesk-index.json"  # written last by a complete rebuild
PENDING = "pending.keys"  # keys queued by writers that could not get the lock
PENDING_LOCK = "PENDING_LOCK"
KEEP = {WRITELOCK, PENDING, PENDING_LOCK}  # never removed: other processes may hold them open
BATCH = 500
DEFAULT_LOCK_TIMEOUT = 2.0
REBUILD_LOCK_TIMEOUT = 120.0

ANALYZER = StemmingAnalyzer()

# Text fields the query searches, with their weight. Articles use the same fields (title in
# name, body in description, linked offer codes in code_words): fewer fields, faster queries.
QUERY_FIELDS: dict[str, float] = {
    "name": 4.0,
    "code_words": 3.0,
    "summary": 2.0,
    "category": 1.5,
    "description": 1.0,
}
# Fields whose unstemmed words feed typo matching and "did you mean" (spell_<field>).
SPELLING_FIELDS = ("name", "code_words", "summary", "category", "description")


class IndexUnavailable(Exception):
    """The index cannot be used now; the message says why (for the log)."""


def _text(*, stored: bool = True) -> fields.TEXT:
    """Stemmed text; spelling=True also indexes the unstemmed words (spell_<field>) for typo
    matching and "did you mean". Field weights are applied at query time (QUERY_FIELDS)."""
    return fields.TEXT(analyzer=ANALYZER, stored=stored, spelling=True)


def build_schema() -> fields.Schema:
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),  # "offer:<code>" or "article:<id>"
        type=fields.ID(stored=True, sortable=True),  # "offer" or "article"
        # both: an article's title is its name, its body its description, its offers' codes
        # its code_words
        name=_text(),
        code_words=_text(),
        summary=_text(),
        description=_text(),
        # offers
        code=fields.ID(stored=True, sortable=True),
        offer_id=fields.NUMERIC(int, bits=64, stored=True),
        revision=fields.NUMERIC(int, stored=True),
        status=fields.ID(stored=True),
        category=_text(),
        category_id=fields.NUMERIC(int, bits=64, stored=True),
        kind=fields.ID(stored=True),
        billing=fields.ID(stored=True),
        price=fields.NUMERIC(int, bits=64, decimal_places=2, stored=True, sortable=True),
        currency=fields.ID(stored=True),
        published_at=fields.DATETIME(stored=True, sortable=True),
        valid_from=fields.DATETIME(stored=True),
        valid_to=fields.DATETIME(stored=True),
        # The audience as it was at indexing time. Informational only: visibility is decided
        # by SQL at query time (see the module docstring).
        group_ids=fields.KEYWORD(stored=True, commas=True),
        pilot_group_ids=fields.KEYWORD(stored=True, commas=True),
        canary=fields.BOOLEAN(stored=True),
        # knowledge articles
        article_id=fields.NUMERIC(int, bits=64, stored=True),
        offer_codes=fields.KEYWORD(stored=True),
        updated_at=fields.DATETIME(stored=True),
    )


SCHEMA = build_schema()


# --- where the index lives, and whether it can be used -------------------------------------


def index_dir() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def lock_timeout() -> float:
    return float(current_app.config.get("SEARCH_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _write_marker(path: Path, counts: dict) -> None:
    data = {"schema_version": SCHEMA_VERSION, "built_at": clock.now().isoformat(), **counts}
    temporary = path / f".{MARKER}.{os.getpid()}"
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path / MARKER)


def open_index(path: Path | None = None):
    """The completely built index in `path` (default: SEARCH_INDEX_DIR), or IndexUnavailable."""
    path = path or index_dir()
    if not path.is_dir():
        raise IndexUnavailable(f"the index folder {path} is missing")
    storage = FileStorage(str(path))
    try:
        exists = storage.index_exists(INDEX_NAME)
    except Exception as error:  # noqa: BLE001 - a broken table of contents
        raise IndexUnavailable(f"the index in {path} is unreadable ({error!r})") from error
    if not exists:
        raise IndexUnavailable(f"the index folder {path} holds no index")
    marker = _read_marker(path)
    if marker is None:
        raise IndexUnavailable(f"the index in {path} was never completely built")
    if marker.get("schema_version") != SCHEMA_VERSION:
        raise IndexUnavailable(f"the index in {path} was built for another schema version")
    try:
        return storage.open_index(INDEX_NAME)
    except Exception as error:  # noqa: BLE001 - any failure to open means unavailable
        raise IndexUnavailable(f"the index in {path} cannot be opened ({error!r})") from error


def status() -> dict:
    """What the index looks like now (for the CLI and operators)."""
    path = index_dir()
    try:
        ix = open_index(path)
    except IndexUnavailable as reason:
        return {"available": False, "reason": str(reason), "path": str(path)}
    with ix.searcher() as searcher:
        documents = searcher.doc_count()
    return {
        "available": True,
        "path": str(path),
        "documents": documents,
        **(_read_marker(path) or {}),
    }


# --- documents ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\s)(?:#{1,6}|[*+-]|>|\d+\.)\s+|[*_`~|]+", re.MULTILINE)
_SPACE = re.compile(r"\s+")


def plain_text(text: str | None) -> str:
    """Markdown reduced to its words, for indexing and snippets (HTML is kept as text: the
    snippet renderer escapes it)."""
    text = _CONTROL.sub(" ", text or "")
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _naive_utc(moment: datetime | None) -> datetime | None:
    """Whoosh DATETIME fields want naive datetimes: UTC without tzinfo."""
    moment = clock.as_utc(moment)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _offer_documents(session: Session, codes: list[str]) -> dict[str, dict]:
    """The document of each code's live revision (codes without one are absent)."""
    now = clock.now()
    offers = session.scalars(
        sa.select(ServiceOffer).where(
            ServiceOffer.code.in_(codes), ServiceOffer.status.in_(LIVE_STATUSES)
        )
    ).all()
    audience: dict[str, list[tuple[int, bool]]] = {}
    for code, group_id, is_pilot in session.execute(
        sa.select(
            offer_audience.c.offer_code, offer_audience.c.group_id, offer_audience.c.is_pilot
        ).where(offer_audience.c.offer_code.in_(codes))
    ):
        audience.setdefault(code, []).append((group_id, bool(is_pilot)))
    canary = dict(
        session.execute(
            sa.select(OfferSettings.offer_code, OfferSettings.canary).where(
                OfferSettings.offer_code.in_(codes)
            )
        ).all()
    )
    prices: dict[str, object] = {}
    for code, price in session.execute(
        sa.select(PriceChange.offer_code, PriceChange.price)
        .where(PriceChange.offer_code.in_(codes), PriceChange.effective_from <= now)
        .order_by(PriceChange.offer_code, PriceChange.effective_from.desc())
    ):
        prices.setdefault(code, price)
    documents = {}
    for offer in offers:
        groups = audience.get(offer.code, [])
        price = prices.get(offer.code, offer.price)
        document = {
            "key": f"offer:{offer.code}",
            "type": "offer",
            "code": offer.code,
            "offer_id": offer.id,
            "revision": offer.revision,
            "status": offer.status,
            "name": offer.name,
            "code_words": offer.code.replace("-", " ").replace("_", " "),
            "summary": plain_text(offer.summary),
            "description": plain_text(offer.description),
            "category": offer.category.name if offer.category else "",
            "kind": offer.kind,
            "billing": offer.billing_period,
            "currency": offer.currency,
            "group_ids": ",".join(str(group_id) for group_id, _ in groups),
            "pilot_group_ids": ",".join(str(group_id) for group_id, pilot in groups if pilot),
            "canary": bool(canary.get(offer.code, False)),
        }
        optional = {
            "category_id": offer.category_id,
            "price": price,
            "published_at": _naive_utc(offer.published_at),
            "valid_from": _naive_utc(offer.valid_from),
            "valid_to": _naive_utc(offer.valid_to),
        }
        document.update({name: value for name, value in optional.items() if value is not None})
        documents[offer.code] = document
    return documents


def _article_documents(session: Session, ids: list[int]) -> dict[int, dict]:
    """The document of each published article (unpublished or deleted ones are absent)."""
    articles = session.scalars(
        sa.select(KnowledgeArticle).where(
            KnowledgeArticle.id.in_(ids), KnowledgeArticle.status == ArticleStatus.PUBLISHED.value
        )
    ).all()
    codes: dict[int, list[str]] = {}
    for article_id, code in session.execute(
        sa.select(offer_articles.c.article_id, offer_articles.c.offer_code)
        .where(offer_articles.c.article_id.in_(ids))
        .order_by(offer_articles.c.offer_code)
    ):
        codes.setdefault(article_id, []).append(code)
    documents = {}
    for article in articles:
        document = {
            "key": f"article:{article.id}",
            "type": "article",
            "article_id": article.id,
            "name": article.title,
            "description": plain_text(article.body),
            "code_words": " ".join(
                code.replace("-", " ").replace("_", " ") for code in codes.get(article.id, [])
            ),
            "offer_codes": " ".join(codes.get(article.id, [])),
        }
        if article.updated_at is not None:
            document["updated_at"] = _naive_utc(article.updated_at)
        documents[article.id] = document
    return documents


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
        documents = _offer_documents(session, chunk)
        for code in chunk:
            writer.delete_by_term("key", f"offer:{code}")
            if code in documents:
                writer.add_document(**documents[code])
                written += 1
    for chunk in _chunks(article_ids):
        documents = _article_documents(session, chunk)
        for article_id in chunk:
            writer.delete_by_term("key", f"article:{article_id}")
            if article_id in documents:
                writer.add_document(**documents[article_id])
                written += 1
    return written


# --- locking and the queue of pending keys ------------------------------------------------


@contextmanager
def _locked(path: Path, timeout: float):
    """Hold the index's write lock (the one Whoosh's writers use); yields False if busy."""
    lock = FileStorage(str(path)).lock(WRITELOCK)
    if not try_for(lock.acquire, timeout=timeout, delay=0.05):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@contextmanager
def _pending_lock(path: Path):
    lock = FileStorage(str(path)).lock(PENDING_LOCK)
    lock.acquire(blocking=True)
    try:
        yield
    finally:
        lock.release()


def _queue(path: Path, keys: set[str]) -> None:
    if not keys:
        return
    try:
        with _pending_lock(path), open(path / PENDING, "a", encoding="utf-8") as queue:
            queue.write("".join(f"{key}\n" for key in sorted(keys)))
    except OSError:
        log.warning("Search index: could not queue %s; run `flask search reindex`.", sorted(keys))


def _take_pending(path: Path) -> set[str]:
    if not (path / PENDING).exists():
        return set()
    with _pending_lock(path):
        try:
            with open(path / PENDING, "r+", encoding="utf-8") as queue:
                keys = {line.strip() for line in queue if line.strip()}
                queue.seek(0)
                queue.truncate()
        except FileNotFoundError:
            return set()
    return keys


def _has_pending(path: Path) -> bool:
    try:
        return (path / PENDING).stat().st_size > 0
    except OSError:
        return False


def _fresh_session() -> Session:
    """A session of its own: after_commit may not use the committing session for SQL."""
    return Session(bind=db.engine, expire_on_commit=False)


def apply_changes(keys: Iterable[str]) -> bool:
    """Re-index these keys ("offer:<code>", "article:<id>", "category:<id>") from the database.

    Never raises: the database change is already committed, so a failure is logged (and the
    keys stay queued for the next writer) rather than turned into an error for the user.
    Returns True when the keys are written or handed to the process holding the lock."""
    keys = set(keys)
    path = index_dir()
    if not keys and not _has_pending(path):
        return True
    try:
        ix = open_index(path)
    except IndexUnavailable as reason:
        log.info("Search index not updated for %s: %s.", sorted(keys)[:10], reason)
        if path.is_dir():
            _queue(path, keys)  # a rebuild under way picks these up when it finishes
        return False
    keys = _worth_writing(ix, keys)
    if not keys and not _has_pending(path):
        return True
    queued = False
    for attempt in range(20):
        with _locked(path, lock_timeout() if attempt == 0 else 0) as acquired:
            if acquired:
                keys |= _take_pending(path)
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
                    _queue(path, keys)
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
            _queue(path, keys)
            keys, queued = set(), True
            continue
        if not _has_pending(path):
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


def rebuild(progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the whole index from the database; `progress(n)` after each batch of n documents.

    A usable index is replaced in one commit (readers keep answering from the old generation
    until then); a missing, broken or outdated one is wiped and created afresh. Returns
    {"offers": n, "articles": m}."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    counts = {"offers": 0, "articles": 0}
    with _locked(path, REBUILD_LOCK_TIMEOUT) as acquired:
        if not acquired:
            raise IndexUnavailable(f"the index in {path} stayed locked by another writer")
        storage = FileStorage(str(path))
        try:
            open_index(path)
            healthy = True
        except IndexUnavailable:
            healthy = False
        if healthy:
            ix = storage.open_index(INDEX_NAME)
        else:
            _wipe(path)
            ix = storage.create_index(SCHEMA, indexname=INDEX_NAME)
        _take_pending(path)  # the full read below covers whatever was queued so far
        writer = ix.writer(_lk=False)
        try:
            with _fresh_session() as session:
                codes = list(
                    session.scalars(
                        sa.select(ServiceOffer.code)
                        .where(ServiceOffer.status.in_(LIVE_STATUSES))
                        .order_by(ServiceOffer.code)
                    )
                )
                for chunk in _chunks(codes):
                    documents = _offer_documents(session, chunk)
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
                    documents = _article_documents(session, chunk)
                    for document in documents.values():
                        writer.add_document(**document)
                    counts["articles"] += len(documents)
                    if progress:
                        progress(len(chunk))
            writer.commit(mergetype=CLEAR, optimize=True)
        except BaseException:
            writer.cancel()
            raise
        _write_marker(path, counts)
    if _has_pending(path):  # changes committed while we held the lock
        apply_changes(set())
    return counts


def create_empty() -> None:
    """A complete, empty index (for a fresh database, and tests)."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    with _locked(path, REBUILD_LOCK_TIMEOUT) as acquired:
        if not acquired:
            raise IndexUnavailable(f"the index in {path} stayed locked by another writer")
        _wipe(path)
        FileStorage(str(path)).create_index(SCHEMA, indexname=INDEX_NAME)
        _write_marker(path, {"offers": 0, "articles": 0})


# --- keeping it current: session events -----------------------------------------------------

_CHANGES = "search_index_changes"


def _offer_changed(offer: ServiceOffer, deleted: bool) -> bool:
    """Changes to a live revision, and a revision leaving the live statuses (superseded),
    reach the index; draft edits don't."""
    if deleted or offer.status in LIVE_STATUSES:
        return True
    return any(status in LIVE_STATUSES for status in sa.inspect(offer).attrs.status.history.deleted)


def _settings_changed(settings: OfferSettings, new_or_deleted: bool) -> bool:
    return new_or_deleted or sa.inspect(settings).attrs.canary.history.has_changes()


def _audit_keys(event: AuditEvent) -> set[str]:
    """Changes made with bulk statements (audience, article links) are known by their audit
    event, which every service writes in the same transaction."""
    if event.object_type == "offer_audience" and event.object_id:
        return {f"offer:{event.object_id}"}
    if event.object_type == "offer_articles":
        changed = (event.changes or {}).get("articles") or {}
        ids = set(changed.get("before") or []) | set(changed.get("after") or [])
        return {f"article:{article_id}" for article_id in ids if str(article_id).isdigit()}
    if event.object_type == "article" and str(event.object_id).isdigit():
        return {f"article:{event.object_id}"}
    return set()


def _after_flush(session, flush_context) -> None:
    keys: set[str] = session.info.setdefault(_CHANGES, set())
    deleted = set(session.deleted)
    for obj in chain(session.new, session.dirty, deleted):
        if isinstance(obj, ServiceOffer):
            if obj.code and _offer_changed(obj, obj in deleted):
                keys.add(f"offer:{obj.code}")
        elif isinstance(obj, OfferSettings):
            if obj.offer_code and _settings_changed(obj, obj in deleted or obj in session.new):
                keys.add(f"offer:{obj.offer_code}")
        elif isinstance(obj, PriceChange):
            if obj.offer_code:
                keys.add(f"offer:{obj.offer_code}")
        elif isinstance(obj, KnowledgeArticle):
            if obj.id is not None:
                keys.add(f"article:{obj.id}")
        elif isinstance(obj, Category):
            if obj.id is not None and (
                obj in deleted or sa.inspect(obj).attrs.name.history.has_changes()
            ):
                keys.add(f"category:{obj.id}")
        elif isinstance(obj, AuditEvent) and obj in session.new:
            keys |= _audit_keys(obj)


def _after_commit(session) -> None:
    keys = session.info.pop(_CHANGES, None)
    if not keys or not has_app_context():
        return
    try:
        apply_changes(keys)
    except Exception:  # noqa: BLE001 - the commit stands; the index catches up on rebuild
        log.warning("Search index update failed for %s.", sorted(keys)[:10], exc_info=True)


def _after_soft_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_CHANGES, None)


def install_listeners() -> None:
    """Keep the index current after every commit of the app's session (idempotent)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)
