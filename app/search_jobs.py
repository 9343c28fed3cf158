"""The search index's jobs: re-indexing the keys a commit changed, and rebuilding an index
that cannot answer. They sit beside app.jobs (as app.fulfillment_jobs does), and create_app
imports this module so that every process has them.

`search.index_changes` carries the keys one commit changed (app/search/index/listeners.py
enqueues it after the commit); the worker re-reads those rows and writes them, taking along the
keys other writers queued meanwhile (coalesced; idempotent: it writes what the database holds
when it runs). A failed write raises, so Huey retries it; a missing or broken index is left to
the rebuild, which reads everything anyway.

While the index is missing or broken, search answers from the database (and says so in the
log); this job, every minute and when a worker starts, reads the index back and rebuilds it if
it cannot answer, so nobody has to notice and run `flask search reindex`. A web request never
does it: a GET changes nothing. The Whoosh index lives on the disk of the host whose worker
runs the job, so with several hosts each runs a worker beside its web process."""

from __future__ import annotations

import logging

from flask import current_app

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
        store.open_index()
    except store.IndexUnavailable as reason:
        writer.apply_changes(set(keys))  # queued in the folder for the rebuild to take
        return f"left to the rebuild ({reason})"
    if not writer.apply_changes(set(keys)):
        raise IndexNotUpdated(f"search index not updated for {sorted(keys)[:10]}")
    return f"indexed {len(keys)} keys"


listeners.register_job(index_changes)


def rebuild_broken_index() -> str:
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        return "SEARCH_BACKEND=postgres: search needs no index"
    problem = store.probe()
    if problem is None:
        return "the index answers"
    log.warning("Rebuilding the search index: %s.", problem)
    counts = writer.rebuild()
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
