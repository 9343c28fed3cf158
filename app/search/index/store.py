"""Where the index lives, its files, and whether it can be used now.

A folder that is missing, empty, broken, built by another schema version or never completely
built (no marker file) is *unavailable*: searches answer from the database and say so in the
log, and incremental writes skip it until `flask search reindex` rebuilds it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from whoosh.filedb.filestore import FileStorage

from ... import clock
from .schema import SCHEMA_VERSION

INDEX_NAME = "MAIN"
WRITELOCK = f"{INDEX_NAME}_WRITELOCK"  # the lock file Whoosh's own writers take
MARKER = "offerdesk-index.json"  # written last by a complete rebuild
PENDING = "pending.keys"  # keys queued by writers that could not get the lock
PENDING_LOCK = "PENDING_LOCK"
KEEP = {WRITELOCK, PENDING, PENDING_LOCK}  # never removed: other processes may hold them open


class IndexUnavailable(Exception):
    """The index cannot be used now; the message says why (for the log)."""


def index_dir() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None


def write_marker(path: Path, counts: dict) -> None:
    data = {"schema_version": SCHEMA_VERSION, "built_at": clock.now().isoformat(), **counts}
    temporary = path / f".{MARKER}.{os.getpid()}"
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path / MARKER)


_repair: Callable[[str], None] | None = None


def register_repair(action: Callable[[str], None]) -> None:
    """What to do when a search finds the index unavailable: app/search_jobs.py queues its
    rebuild (once, however many searches find it so)."""
    global _repair
    _repair = action


def request_repair(reason: str) -> None:
    """Ask for the index's rebuild (an index that opened but broke while searching)."""
    if _repair is not None:
        _repair(reason)


def open_index(path: Path | None = None, *, repair: bool = True):
    """The completely built index in `path` (default: SEARCH_INDEX_DIR), or IndexUnavailable.
    Unavailable, it asks for a rebuild first (repair=False: the writers and the health check,
    which rebuild themselves)."""
    try:
        return _open(path or index_dir())
    except IndexUnavailable as reason:
        if repair:
            request_repair(str(reason))
        raise


def _open(path: Path):
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


def probe(path: Path | None = None) -> str | None:
    """Why the index cannot answer a search, or None when it can: it opens, and its stored
    documents, its terms and a first posting list read back."""
    try:
        ix = open_index(path, repair=False)
        with ix.searcher() as searcher:
            searcher.doc_count()
            next(iter(searcher.all_stored_fields()), None)
            for fieldname, text in searcher.reader().all_terms():
                list(searcher.reader().postings(fieldname, text).all_ids())
                break
    except IndexUnavailable as reason:
        return str(reason)
    except Exception as error:  # noqa: BLE001 - whatever a broken file raises
        return f"the index in {path or index_dir()} is broken ({error!r})"
    return None


def status() -> dict:
    """What the index looks like now (for the CLI and operators)."""
    path = index_dir()
    try:
        ix = open_index(path, repair=False)
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
