"""Jobs per second through Huey's SQLite storage and through Redis: enqueueing, and running
through a consumer's worker threads, each job one unit of work (an app context, a statement,
a commit) as in production.

python -m tests.bench.bench_jobs [--jobs 2000] [--workers 2]
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import click
import sqlalchemy as sa

from app import create_app, jobs
from app.extensions import db
from tests.jobs.conftest import free_port, wait_for


def _statement() -> None:
    db.session.execute(sa.text("SELECT 1"))


def measure(url: str, count: int, workers: int) -> dict:
    queue = jobs.huey_for(url)
    queue.flush()
    done = threading.Semaphore(0)

    @queue.task(name="bench.job")
    def bench_job(number: int) -> None:
        jobs.unit_of_work(_statement)
        done.release()

    started = time.perf_counter()
    for number in range(count):
        bench_job(number)
    enqueued = time.perf_counter() - started
    consumer = queue.create_consumer(workers=workers, worker_type="thread", periodic=False)
    started = time.perf_counter()
    consumer.start()
    for _ in range(count):
        if not done.acquire(timeout=120):
            raise RuntimeError("jobs stopped running")
    ran = time.perf_counter() - started
    consumer.stop(graceful=True)
    queue.storage.close()
    return {"enqueue_per_s": round(count / enqueued), "run_per_s": round(count / ran)}


def redis_server(workdir: Path):
    import redis

    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir"]
        + [str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def answers():
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_for(answers, 10, "redis-server did not answer")
    return server, f"redis://127.0.0.1:{port}/0"


@click.command()
@click.option("--jobs", "count", default=2000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def main(count: int, workers: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="offerdesk-bench-jobs-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}"})
    jobs.configure(app)
    server, redis_url = redis_server(workdir)
    try:
        for name, url in (("SQLite", f"sqlite:///{workdir / 'jobs.db'}"), ("Redis", redis_url)):
            figures = measure(url, count, workers)
            click.echo(
                f"{name:<7} {count} jobs, {workers} worker threads: enqueue "
                f"{figures['enqueue_per_s']}/s, run {figures['run_per_s']}/s"
            )
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
