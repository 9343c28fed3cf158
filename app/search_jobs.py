"""The job that rebuilds a search index that cannot answer. It sits beside app.jobs (as
app.fulfillment_jobs does), and create_app imports it so that every process has it.

While the index is missing or broken, search answers from the database (and says so in the
log); this job, every minute and when a worker starts, reads the index back and rebuilds it if
it cannot answer, so nobody has to notice and run `flask search reindex`. A web request never
does it: a GET changes nothing. The Whoosh index lives on the disk of the host whose worker
runs the job, so with several hosts each runs a worker beside its web process."""

from __future__ import annotations

import logging

from flask import current_app

from .i18n import _l
from .jobs import PeriodicJob, register_periodic
from .search.index import store, writer

log = logging.getLogger(__name__)


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
