"""Job engine fixtures: Huey in immediate mode for unit tests; for the integration tests, real
`flask jobs worker` processes, a real redis-server and an SMTP sink on loopback.

The integration tests (test_worker_processes.py) and the SLA race test open other processes
and connections: their setup must be committed for real, and the truncating cleanup empties
the tables afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from app import jobs
from app.config import ROOT
from tests.catalog.conftest import catalog_setup, make_offer  # noqa: F401
from tests.conftest import DATABASE_URL
from tests.subscriptions.conftest import agent, order_vpn  # noqa: F401
from tests.support.conftest import active_subscription, agents  # noqa: F401

# The periodic jobs, in the order Admin -> Jobs lists them.
SCHEDULED = [
    "subscriptions.terminations",
    "subscriptions.approvals",
    "subscriptions.leases",
    "support.sla",
    "support.orphaned_files",
    "notifications.outbox",
    "notifications.digest",
    "catalog.orderable",
    "catalog.expired",
    "status.quota_warnings",
    "fulfillment.lost_steps",  # registered by app.fulfillment_jobs; also run at start
    "search.index_health",  # registered by app.search_jobs; also run at start
    "integrations.lost_deliveries",  # registered by app.integrations.jobs; also run at start
]


@pytest.fixture
def immediate():
    """Huey runs each enqueued task at once, in the test's process, on in-memory storage."""
    jobs.huey.immediate = True
    try:
        yield jobs.huey
    finally:
        jobs.huey.storage.flush_all()
        jobs.huey.immediate = False


def wait_for(condition, timeout: float, message: str, interval: float = 0.2):
    """Poll `condition` until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:g} s: {message}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An SMTP server on loopback that keeps every message it receives (any connections)."""

    def __init__(self):
        self.messages: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection):
        reader = connection.makefile("rb")
        connection.sendall(b"220 sink\r\n")
        data_mode, buffer = False, []
        for raw in reader:
            line = raw.decode()
            if data_mode:
                if line == ".\r\n":
                    self.messages.append("".join(buffer))
                    data_mode, buffer = False, []
                    connection.sendall(b"250 queued\r\n")
                else:
                    buffer.append(line)
                continue
            command = line[:4].upper()
            if command == "DATA":
                data_mode = True
                connection.sendall(b"354 go on\r\n")
            elif command == "QUIT":
                connection.sendall(b"221 bye\r\n")
                break
            else:
                connection.sendall(b"250 ok\r\n")
        connection.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.close()


class WorkerProcess:
    """`flask jobs worker` in a child process, its output in a file."""

    def __init__(self, env: dict, log_path: Path, workers: int = 2):
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - open while the process runs
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "jobs", "worker", "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: running jobs finish
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def job_env(tmp_path):
    """The environment of a child process that works on the test database."""

    def build(jobs_url: str, **extra: str) -> dict:
        env = {
            **os.environ,
            "FLASK_APP": "wsgi",
            "DATABASE_URL": DATABASE_URL,
            "JOBS_URL": jobs_url,
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "MAIL_SERVER": "",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra)
        return env

    return build


@pytest.fixture
def start_worker(tmp_path):
    started: list[WorkerProcess] = []

    def start(env: dict, workers: int = 2) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started) + 1}.log", workers)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture
def redis_url():
    """A throwaway redis-server on 127.0.0.1 and a free port, without persistence."""
    import redis

    if not Path(REDIS_SERVER).exists():
        raise RuntimeError("redis-server not found: run `make test`, which installs it.")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="offerdesk-redis-")
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        + ["no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)

    def answers():
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    try:
        wait_for(answers, 10, f"redis-server on port {port} did not answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
