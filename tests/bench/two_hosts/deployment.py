"""The two-host deployment on this machine: two Linux network namespaces (host A and host B), each
joined to the root namespace by a veth pair; one PostgreSQL and one Redis in the root namespace,
listening on loopback and on the two links; in each host two gunicorn workers of the portal; one
job worker; the floor page on host A. Needs root (ip netns, runuser). Everything is stopped and
removed on exit, and every wait is bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv" / "bin"
PORTAL_PORT = 8000
FLOOR_PORT = 8001
# recent gunicorn opens a control socket in ~/.gunicorn, which several masters would share
NO_CONTROL = (
    ["--no-control-socket"]
    if "--no-control-socket" in subprocess.run([str(BIN / "gunicorn"), "--help"],
                                               capture_output=True, text=True).stdout
    else []
)  # fmt: skip


@dataclass(frozen=True)
class Host:
    name: str  # "A", "B"
    namespace: str
    outside: str  # the root namespace's end of the link (PostgreSQL and Redis listen there)
    inside: str  # the host's address

    @property
    def url(self) -> str:
        return f"http://{self.inside}:{PORTAL_PORT}"


HOSTS = (
    Host("A", "offerdesk-a", "10.201.1.1", "10.201.1.2"),
    Host("B", "offerdesk-b", "10.201.2.1", "10.201.2.2"),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@dataclass
class Deployment:
    stack: ExitStack = field(default_factory=ExitStack)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="offerdesk-2h-")))
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    secret: str = "two-host-benchmark-secret"
    fernet_key: str = ""

    def __enter__(self) -> Deployment:
        from cryptography.fernet import Fernet

        self.fernet_key = Fernet.generate_key().decode()
        self.stack.callback(shutil.rmtree, self.workdir, True)
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            _kill(process)
        self.stack.close()

    # --- the network -----------------------------------------------------------------------

    def network(self) -> None:
        for host in HOSTS:
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
            outside, inside = f"{host.namespace[-1]}od-out", f"{host.namespace[-1]}od-in"
            run("ip", "netns", "add", host.namespace)
            self.stack.callback(subprocess.run, ["ip", "netns", "del", host.namespace])
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            run("ip", "link", "set", inside, "netns", host.namespace)
            run("ip", "addr", "add", f"{host.outside}/24", "dev", outside)
            run("ip", "link", "set", outside, "up")
            inns = ("ip", "netns", "exec", host.namespace)
            run(*inns, "ip", "addr", "add", f"{host.inside}/24", "dev", inside)
            run(*inns, "ip", "link", "set", inside, "up")
            run(*inns, "ip", "link", "set", "lo", "up")

    # --- PostgreSQL and Redis --------------------------------------------------------------

    def postgres(self) -> None:
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        data = Path(tempfile.mkdtemp(prefix="offerdesk-2h-pg-"))  # postgres must reach it
        self.stack.callback(shutil.rmtree, data, True)
        shutil.chown(data, "postgres", "postgres")
        as_postgres = ("runuser", "-u", "postgres", "--")
        run(*as_postgres, str(bindir / "initdb"), "-D", str(data / "data"), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-locale")  # fmt: skip
        with open(data / "data" / "pg_hba.conf", "a") as hba:
            hba.write("host all all 10.201.0.0/16 trust\n")
        listen = ",".join(["127.0.0.1", *(host.outside for host in HOSTS)])
        options = f"-h {listen} -p {self.pg_port} -k {data} -c max_connections=200"
        run(*as_postgres, str(bindir / "pg_ctl"), "-D", str(data / "data"), "-l",
            str(data / "server.log"), "-w", "-t", "60", "-o", options, "start")  # fmt: skip
        self.stack.callback(subprocess.run, [*as_postgres, str(bindir / "pg_ctl"), "-D",
                            str(data / "data"), "-m", "immediate", "stop"], capture_output=True)  # fmt: skip
        run(*as_postgres, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port),
            "-U", "postgres", "offerdesk")  # fmt: skip

    def redis(self) -> None:
        binds = ["127.0.0.1", *(host.outside for host in HOSTS)]
        self.processes["redis"] = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                *binds,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def database_url(self, address: str = "127.0.0.1") -> str:
        return f"postgresql+psycopg://postgres@{address}:{self.pg_port}/offerdesk"

    def environment(self, address: str = "127.0.0.1", host: str = "worker") -> dict[str, str]:
        """The settings of every process: production, one database, one queue; each host keeps
        its own search index folder and upload folder (nothing shared through local disk)."""
        return os.environ | {
            "FLASK_APP": "wsgi",
            "OFFERDESK_ENV": "production",
            "SECRET_KEY": self.secret,
            "OFFERDESK_ENCRYPTION_KEY": self.fernet_key,
            "SESSION_COOKIE_SECURE": "0",
            "DATABASE_URL": self.database_url(address),
            "JOBS_URL": f"redis://{address}:{self.redis_port}/0",
            "SEARCH_INDEX_DIR": str(self.workdir / f"index-{host}"),
            "UPLOAD_DIR": str(self.workdir / f"uploads-{host}"),
            "MAIL_SERVER": "",
            "PUBLIC_URL": HOSTS[0].url,
        }

    def flask(self, *arguments: str, host: str = "worker") -> str:
        return run(str(BIN / "flask"), *arguments, cwd=ROOT, env=self.environment(host=host)).stdout

    # --- the portal ------------------------------------------------------------------------

    def prepare(self) -> None:
        self.flask("db", "upgrade")
        self.flask("seed")
        for host in HOSTS:  # each host's Whoosh index, should the search backend be Whoosh
            self.flask("search", "reindex", host=host.name)

    def start_hosts(self) -> None:
        for host in HOSTS:
            self.processes[host.name] = subprocess.Popen(
                _gunicorn(host, PORTAL_PORT, "wsgi:app", "--log-level", "warning"),
                cwd=ROOT,
                env=self.environment(host.outside, host.name),
                start_new_session=True,
            )
        self.processes["worker"] = subprocess.Popen(
            [str(BIN / "flask"), "jobs", "worker", "--workers", "2"],
            cwd=ROOT,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        first = HOSTS[0]
        self.processes["floor"] = subprocess.Popen(
            _gunicorn(first, FLOOR_PORT, "tests.bench.two_hosts.floor:app"),
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": self.database_url(first.outside)},
            start_new_session=True,
        )
        for host in HOSTS:
            wait_for(f"{host.url}/login")
        wait_for(f"http://{first.inside}:{FLOOR_PORT}/")

    def kill_host(self, name: str) -> None:
        _kill(self.processes.pop(name))


def _gunicorn(host: Host, port: int, app: str, *options: str) -> list[str]:
    """gunicorn in the host's namespace, 2 sync workers, as the benchmark's every app server."""
    where = ("ip", "netns", "exec", host.namespace)
    return [*where, str(BIN / "gunicorn"), "--workers", "2", "--bind", f"{host.inside}:{port}",
            *options, *NO_CONTROL, app]  # fmt: skip


def _kill(process: subprocess.Popen) -> None:
    """The whole process group, at once (SIGKILL: nothing is finished or flushed)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
