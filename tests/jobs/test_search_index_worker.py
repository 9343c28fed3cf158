"""The search index is kept current by the job engine: a commit only enqueues
`search.index_changes`; a real `flask jobs worker` process writes the index."""

from __future__ import annotations

import pytest

from app import jobs
from app.search import index
from tests.jobs.conftest import wait_for
from tests.search.conftest import indexed

pytestmark = pytest.mark.committed  # the worker is another process on the test database


def test_a_published_offer_is_findable_once_the_worker_ran(
    app, monkeypatch, tmp_path, job_env, start_worker, make_offer
):
    queue = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(queue).storage)
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "whoosh")
    monkeypatch.setitem(app.config, "SEARCH_INDEX_DIR", str(tmp_path / "search_index"))
    index.create_empty()

    offer = make_offer("VPN-WORKER", name="Worker VPN")  # published through the services

    assert offer.status == "published"
    assert indexed("offer:VPN-WORKER") is None  # the commit did not write the index
    queued = [(task.name, task.args[0]) for task in jobs.huey.pending()]
    assert [name for name, keys in queued if "offer:VPN-WORKER" in keys] == [
        "search.index_changes"
    ], queued

    worker = start_worker(job_env(queue, SEARCH_BACKEND="whoosh"), workers=1)
    wait_for(lambda: indexed("offer:VPN-WORKER") is not None, 60, "indexed\n" + worker.output())
    assert indexed("offer:VPN-WORKER")["name"] == "Worker VPN"
    wait_for(lambda: not jobs.huey.pending(), 30, "queue emptied\n" + worker.output())
