"""A missing, empty, broken or half-built index never breaks search: the database answers,
the problem is logged, commits still succeed, and `rebuild()` brings the index back."""

import logging
import shutil

import pytest

from app import jobs, search_jobs
from app.search import index
from tests.search.conftest import indexed_keys, names, search
from tests.search.test_routes import page_text, words

WARNING_FROM = "app.search.services"


def warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == WARNING_FROM and record.levelno == logging.WARNING
    ]


def garble(path, pattern="*") -> None:
    for file in path.glob(pattern):
        if file.is_file() and file.name not in index.KEEP:
            file.write_bytes(b"\x00garbage\xff" * 64)


def delete_folder(path):
    shutil.rmtree(path)


def empty_folder(path):
    shutil.rmtree(path)
    path.mkdir()


def garble_everything(path):
    garble(path)


def garble_segments_only(path):
    garble(path, "*.seg")


def never_finished(path):
    (path / index.MARKER).unlink()


def older_schema(path):
    (path / index.MARKER).write_text('{"schema_version": 0}')


BREAKAGES = [
    delete_folder,
    empty_folder,
    garble_everything,
    garble_segments_only,
    never_finished,
    older_schema,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda function: function.__name__)
def test_search_answers_from_the_database_and_logs_a_warning(
    shop, users, search_index, caplog, breakage
):
    assert search(users["consumer"], "vpn").source == "index"
    breakage(search_index)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        result = search(users["consumer"], "vpn acc", sort="price_asc", per_page=1)
    assert result.source == "database" and result.degraded
    assert names(result) == ["VPN access"] and result.total == 1
    assert "<mark>VPN</mark>" in str(result.hits[0].title)
    assert {value.value for value in result.facets["category"]} == {"network"}
    assert warnings(caplog), "the fallback must be logged"
    assert "reindex" in warnings(caplog)[0]


def test_commits_still_succeed_while_the_index_is_broken(shop, make_offer, users, search_index):
    garble(search_index)
    offer = make_offer("NEW-OFFER", name="Brand new thing")  # publishes through the services
    assert offer.status == "published"
    result = search(users["consumer"], "brand")
    assert names(result) == ["Brand new thing"] and result.degraded


def test_rebuild_brings_the_index_back(shop, users, search_index, caplog):
    garble(search_index)
    assert search(users["consumer"], "vpn").degraded
    counts = index.rebuild()
    assert counts == {"offers": 4, "articles": 4}
    result = search(users["consumer"], "vpm")
    assert result.source == "index" and not result.degraded
    assert names(result) == ["VPN access"] and result.suggestion == "vpn"


def test_a_missing_folder_is_rebuilt_and_the_changes_made_meanwhile_are_in_it(
    shop, make_offer, users, search_index
):
    shutil.rmtree(search_index)
    make_offer("LATE", name="Late arrival")
    index.rebuild()
    assert "offer:LATE" in indexed_keys()
    assert names(search(users["consumer"], "arrival")) == ["Late arrival"]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda function: function.__name__)
def test_the_job_engine_rebuilds_a_broken_index(shop, users, search_index, breakage):
    assert search_jobs.rebuild_broken_index() == "the index answers"
    breakage(search_index)
    assert search_jobs.rebuild_broken_index().startswith("rebuilt (")
    result = search(users["consumer"], "vpm")
    assert result.source == "index" and not result.degraded
    assert names(result) == ["VPN access"] and result.suggestion == "vpn"
    assert len(indexed_keys()) == 8  # 4 offers and 4 articles
    assert search_jobs.rebuild_broken_index() == "the index answers"


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda function: function.__name__)
def test_a_search_finding_the_index_unavailable_queues_one_rebuild(
    shop, users, search_index, monkeypatch, tmp_path, breakage
):
    """Not in immediate mode: what the searches queue is read back from the job storage."""
    monkeypatch.setattr(jobs.huey, "immediate", False)
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(f"sqlite:///{tmp_path}/q.db").storage)
    breakage(search_index)
    for _ in range(3):
        result = search(users["consumer"], "vpn")
        assert result.degraded and names(result) == ["VPN access"]
    queued = [(task.name, tuple(task.args)) for task in jobs.huey.pending()]
    assert queued == [("jobs.run_now", ("search.index_health",))]

    assert search_jobs.rebuild_broken_index().startswith("rebuilt (")
    assert search(users["consumer"], "vpn").source == "index"
    breakage(search_index)  # broken again later: the next search asks again
    assert search(users["consumer"], "vpn").degraded
    assert len(jobs.huey.pending()) == 2


def test_degraded_mode_is_said_on_the_page(shop, client_as, search_index):
    """(Whoosh's: the PostgreSQL backend has no index to lose.)"""
    shutil.rmtree(search_index)
    html = words(page_text(client_as("consumer").get("/search?q=vpn")))
    assert "simplified mode" in html and "VPN access" in html
