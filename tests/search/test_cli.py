"""`flask search reindex` rebuilds the index from the database, with a progress bar."""

import shutil

from app.search import index
from tests.search.conftest import add_published_offers, indexed_keys, names, search


def test_reindex_rebuilds_everything_and_shows_progress(app, shop, users, search_index):
    shutil.rmtree(search_index)
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexing offers and articles" in result.output
    assert "Indexed 4 offers and 4 articles" in result.output
    assert len(indexed_keys()) == 8
    assert names(search(users["consumer"], "vpm")) == ["VPN access"]


def test_reindex_repairs_a_broken_index_and_drops_stale_documents(app, users, search_index):
    add_published_offers(3)
    for file in search_index.iterdir():
        if file.is_file() and file.suffix in (".toc", ".seg"):
            file.write_bytes(b"broken")
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert indexed_keys() == ["offer:BULK-000", "offer:BULK-001", "offer:BULK-002"]


def test_progress_counts_every_document(app, shop):
    steps: list[int] = []
    counts = index.rebuild(progress=steps.append)
    assert sum(steps) == index.count_documents() == counts["offers"] + counts["articles"] == 8


def test_status_command(app, shop, search_index):
    runner = app.test_cli_runner()
    index.rebuild()
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0 and "8 documents" in result.output
    shutil.rmtree(search_index)
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 1 and "missing" in result.output
