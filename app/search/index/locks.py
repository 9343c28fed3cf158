"""The index's write lock, and the queue of keys left by writers that could not get it.

Every writer takes Whoosh's file lock (fcntl, so it holds across gunicorn workers). A writer that
cannot get it within SEARCH_LOCK_TIMEOUT seconds appends its keys to `pending.keys` (under a
second, short-lived lock); whoever holds the index lock takes the pending keys before writing
(see writer.py)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from whoosh.filedb.filestore import FileStorage
from whoosh.util.filelock import try_for

from .store import PENDING, PENDING_LOCK, WRITELOCK

# The index's one logger, by the name operators (and the tests) configure.
log = logging.getLogger("app.search.index")

DEFAULT_LOCK_TIMEOUT = 2.0
REBUILD_LOCK_TIMEOUT = 120.0


def lock_timeout() -> float:
    return float(current_app.config.get("SEARCH_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))


@contextmanager
def locked(path: Path, timeout: float):
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


def queue_keys(path: Path, keys: set[str]) -> None:
    if not keys:
        return
    try:
        with _pending_lock(path), open(path / PENDING, "a", encoding="utf-8") as queue:
            queue.write("".join(f"{key}\n" for key in sorted(keys)))
    except OSError:
        log.warning("Search index: could not queue %s; run `flask search reindex`.", sorted(keys))


def take_pending(path: Path) -> set[str]:
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


def has_pending(path: Path) -> bool:
    try:
        return (path / PENDING).stat().st_size > 0
    except OSError:
        return False
