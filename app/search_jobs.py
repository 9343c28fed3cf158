"""The search index's jobs: re-indexing the keys a commit changed, and rebuilding an index
that cannot answer. They sit beside app.jobs (as app.fulfillment_jobs does), and create_app
imports this module so that every process has them.

`search.index_changes` carries the keys one commit changed (app/search/index/listeners.py
enqueues it after the commit); the worker re-reads those rows and writes them, taking along the
keys other writers queued meanwhile (coalesced; idempotent: it writes what the database holds
when it runs). A failed write raises, so Huey retries it; a missing or broken index is left to
the rebuild, which reads everything anyway.

While the index is missing or broken, search answers from the database (and says so in the
log); `search.index_health`, every minute and when a worker starts, reads the index back and
rebuilds it if it cannot answer, so nobody has to notice and run `flask search reindex`. The
first search that finds the index unavailable also queues that job at once (request_rebuild:
one marker in the job storage, so one job however many searches); the request itself never
rebuilds. The Whoosh index lives on the disk of the host whose worker
runs the job, so with several hosts each runs a worker beside its web process."""

from __future__ import annotations

import logging
import time

from flask import current_app
from huey.constants import EmptyData

from . import jobs
from .i18n import _l
from .jobs import PeriodicJob, register_periodic, task
from .search.index import listeners, store, writer

log = logging.getLogger(__name__)


class IndexNotUpdated(RuntimeError):
    """The keys could not be written (they stay queued); Huey runs the job again."""


@task(retries=3, retry_delay=10, name="search.index_changes")
def index_changes(keys: list[str]) -> str:
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        return "SEARCH_BACKEND=postgres: search needs no index"
    try:
        store.open_index(repair=False)  # a search asks for the rebuild; the health job too
    except store.IndexUnavailable as reason:
        writer.apply_changes(set(keys))  # queued in the folder for the rebuild to take
        return f"left to the rebuild ({reason})"
    if not writer.apply_changes(set(keys)):
        raise IndexNotUpdated(f"search index not updated for {sorted(keys)[:10]}")
    return f"indexed {len(keys)} keys"


listeners.register_job(index_changes)

REBUILD_REQUESTED = "search.rebuild_requested"  # in the job storage: when a search asked
ASK_AGAIN_AFTER = 600  # seconds: a request that old went with a killed worker


def request_rebuild(reason: str) -> None:
    """Queue the health job (a rebuild) at once when a search finds the index unavailable,
    once: the first search puts a marker in the job storage, the rebuild removes it, the
    searches in between only read it. Never raises: search answers from the database."""
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        return
    try:
        storage = jobs.huey.storage
        now = time.time()
        if not storage.put_if_empty(REBUILD_REQUESTED, repr(now).encode()):
            asked = storage.peek_data(REBUILD_REQUESTED)
            if asked is not EmptyData and now - float(asked) < ASK_AGAIN_AFTER:
                return
            storage.put_data(REBUILD_REQUESTED, repr(now).encode())
        log.warning("Search index unavailable (%s): its rebuild is queued.", reason)
        jobs.run_now("search.index_health")
    except Exception:  # noqa: BLE001 - the periodic health job still catches up
        log.warning("Search index: could not queue its rebuild.", exc_info=True)


store.register_repair(request_rebuild)


def rebuild_broken_index() -> str:
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        return "SEARCH_BACKEND=postgres: search needs no index"
    try:
        problem = store.probe()
        if problem is None:
            return "the index answers"
        log.warning("Rebuilding the search index: %s.", problem)
        counts = writer.rebuild()
    finally:
        jobs.huey.storage.delete_data(REBUILD_REQUESTED)  # a search may ask again
    return f"rebuilt ({problem}): {counts['offers']} offers, {counts['articles']} articles"


register_periodic(
    PeriodicJob(
        "search.index_health",
        rebuild_broken_index,
        1,
        _l(
            "Rebuild the search index when it is missing or broken (search answers from the "
            "database meanwhile)."
        ),
        at_start=True,
    )
)
