"""Several processes (gunicorn workers) writing to the index at once lose nothing and leave it
readable: Whoosh's file lock serialises the writers, and a writer that cannot get the lock in
time queues its keys for the one that holds it."""

import multiprocessing

import pytest
import sqlalchemy as sa

from app.catalog.models import ServiceOffer
from app.extensions import db
from app.search import index
from tests.search import workers
from tests.search.conftest import add_published_offers, indexed_keys, names, search

pytestmark = pytest.mark.committed  # the workers are other processes

PROCESSES = 4


def run_all(jobs) -> None:
    context = multiprocessing.get_context("spawn")  # fresh interpreters, no shared connections
    processes = [context.Process(target=target, args=args) for target, args in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def test_processes_publishing_at_once_lose_no_update(app, users, catalog_setup, search_index):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    manager = users["catalog_manager"]
    batches = [[f"P{worker}-OFFER-{number}" for number in range(3)] for worker in range(PROCESSES)]
    # a lock timeout of 10 ms makes most writers queue their keys for the lock holder
    run_all(
        [
            (workers.publish_offers, (url, str(search_index), manager.id, codes, 0.01))
            for codes in batches
        ]
    )
    codes = [code for batch in batches for code in batch]
    keys = indexed_keys()
    assert sorted(key for key in keys if key.startswith("offer:")) == sorted(
        f"offer:{code}" for code in codes
    )
    assert len([key for key in keys if key.startswith("article:")]) == len(codes)
    assert len(keys) == len(set(keys))
    live = dict(
        db.session.execute(
            sa.select(ServiceOffer.code, ServiceOffer.id).where(ServiceOffer.status == "published")
        ).all()
    )
    ix = index.open_index()
    with ix.searcher() as searcher:
        for code in codes:
            assert searcher.document(key=f"offer:{code}")["offer_id"] == live[code]
    assert (
        not (search_index / index.PENDING).exists()
        or not (search_index / index.PENDING).read_text()
    )
    result = search(users["consumer"], "concurrent", per_page=100)
    assert result.source == "index" and result.total == len(codes)


def test_writers_racing_a_rebuild_lose_nothing(app, users, search_index):
    offers = add_published_offers(24, prefix="RACE")  # indexed by this commit ...
    index.create_empty()  # ... then forgotten: the workers must bring them back
    assert indexed_keys() == []
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    codes = [offer.code for offer in offers]
    jobs = [
        (workers.reindex_codes, (url, str(search_index), codes[worker::PROCESSES], 0.01))
        for worker in range(PROCESSES)
    ]
    jobs.append((workers.rebuild, (url, str(search_index), 2)))
    run_all(jobs)
    assert indexed_keys() == sorted(f"offer:{code}" for code in codes)
    assert len(names(search(users["consumer"], "widget", per_page=100))) == 24
