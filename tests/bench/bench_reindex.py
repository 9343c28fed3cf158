"""A full Whoosh reindex (`app.search.index.rebuild`, what `flask search reindex` runs) on
generated offers, this checkout against another commit in the same run.

    python -m tests.bench.bench_reindex --offers 10000 --baseline main

The data set is built once (tests.bench.generate, 1,000 subscriptions and usage rows: the
rebuild reads offers, audiences, settings and prices only) and kept in the database file. Each
run is a fresh Python process rebuilding into an empty folder; with --baseline the other
commit's code (extracted with `git archive`, nothing checked out) runs the same rebuild on the
same database, the two alternating so both see the same load. It prints wall and CPU seconds
per run, their medians and the load average before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from statistics import median

import click

from app.config import ROOT

# Runs in a child process, in the checkout under test: only APIs both sides have.
MEASURE = """
import json, sys, time
from app import create_app
from app.search import index
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench",
                  "SEARCH_INDEX_DIR": sys.argv[2], "SEARCH_BACKEND": "whoosh"})
with app.app_context():
    wall, cpu = time.perf_counter(), time.process_time()
    counts = index.rebuild()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, **counts}))
"""


def _offers_in(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(sa.text("SELECT count(*) FROM service_offers")) or 0
    except sa.exc.DBAPIError:
        return -1
    finally:
        engine.dispose()


def _generate(database_url: str, offers: int) -> None:
    from flask_migrate import upgrade

    from app import create_app

    from .generate import generate

    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///") :]).unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        generate(offers, 1000, 1000)


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(checkout: Path, database_url: str, index_dir: Path) -> dict:
    shutil.rmtree(index_dir, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, database_url, str(index_dir)],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@click.command()
@click.option(
    "--database-url",
    default="sqlite:////tmp/offerdesk-bench-reindex.db",
    show_default=True,
)
@click.option("--offers", default=10_000, show_default=True, help="Generated when missing.")
@click.option("--repeat", default=3, show_default=True, help="Runs of each side.")
@click.option("--baseline", default=None, help="A commit to compare with (e.g. main).")
def main(database_url: str, offers: int, repeat: int, baseline: str | None) -> None:
    if _offers_in(database_url) != offers:
        click.echo(f"Generating {offers} offers in {database_url} ...")
        _generate(database_url, offers)
    work = Path(tempfile.mkdtemp(prefix="offerdesk-bench-reindex-"))
    sides = {"this checkout": ROOT}
    if baseline:
        sides = {baseline: _extract(baseline, work / "baseline"), **sides}
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    click.echo(f"load average before: {os.getloadavg()}")
    try:
        for number in range(repeat):
            for name, checkout in sides.items():
                result = _run(checkout, database_url, work / "index")
                runs[name].append(result)
                click.echo(
                    f"run {number + 1} {name:<14} {result['wall']:6.2f} s wall "
                    f"{result['cpu']:6.2f} s CPU ({result['offers']} offers, "
                    f"{result['articles']} articles)"
                )
                time.sleep(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    click.echo(f"load average after: {os.getloadavg()}")
    for name, results in runs.items():
        click.echo(
            f"{name:<14} median {median(r['wall'] for r in results):.2f} s wall, "
            f"{median(r['cpu'] for r in results):.2f} s CPU"
        )


if __name__ == "__main__":
    main()
