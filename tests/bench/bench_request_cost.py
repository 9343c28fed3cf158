"""What a logged-in consumer's page costs against the floor, measured under load in one run.

The portal (``wsgi:app``) and the floor (``tests.bench.two_hosts.floor:app``: a minimal Flask +
Jinja page rendering 20 offers from the same database) run under gunicorn with 2 sync workers
each, on loopback. ``wrk`` drives each page with 16 connections for ``--seconds``, the floor
right before each portal page, so a change in the machine's load hits both alike.

    .venv/bin/python -m tests.bench.bench_request_cost --seconds 10
    .venv/bin/python -m tests.bench.bench_request_cost --sizes 10000 --seconds 10

Sizes: ``demo`` (``flask seed``) and a number of offers (``tests.bench.generate``). Prints a
markdown table: requests/s and p50 per page, and each page's cost as a multiple of the floor's
(floor requests/s divided by the page's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import click
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PORTAL_PORT = 18_471
FLOOR_PORT = 18_472
DEMO_CONSUMER = ("erik@offerdesk.example", "offerdesk-demo")
BENCH_PASSWORD = "bench-password"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
OFFER_LINK = re.compile(r'href="/catalog/offers/(\d+)"')
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Flask-Login's strong session protection binds the session to the user agent: wrk sends the
# one the sign-in used
USER_AGENT = "bench-request-cost"


def environment(workdir: Path) -> dict[str, str]:
    """Production settings on a throwaway SQLite database in `workdir`."""
    from cryptography.fernet import Fernet

    return os.environ | {
        "FLASK_APP": "wsgi",
        "OFFERDESK_ENV": "production",
        "SECRET_KEY": "bench-request-cost",
        "OFFERDESK_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SESSION_COOKIE_SECURE": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'portal.db'}",
        "JOBS_URL": f"sqlite:///{workdir / 'jobs.db'}",
        "SEARCH_INDEX_DIR": str(workdir / "index"),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "MAIL_SERVER": "",
    }


def run(*command: str, env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare(size: str, env: dict[str, str]) -> tuple[str, str]:
    """The database of this size and a consumer's (email, password) on it."""
    if size == "demo":
        run(str(BIN / "flask"), "db", "upgrade", env=env)
        run(str(BIN / "flask"), "seed", env=env)
        run(str(BIN / "flask"), "search", "reindex", env=env)
        return DEMO_CONSUMER
    offers = int(size)
    run(
        sys.executable, "-m", "tests.bench.generate", "--database-url", env["DATABASE_URL"],
        "--offers", str(offers), "--subscriptions", str(offers * 2), "--usage", str(offers * 5),
        env=env,
    )  # fmt: skip
    run(str(BIN / "flask"), "search", "reindex", env=env)
    setup = (
        "import sqlalchemy as sa\n"
        "from app import create_app\nfrom app.accounts import services as accounts\n"
        "from app.accounts.models import User\nfrom app.extensions import db\n"
        "with create_app().app_context():\n"
        "    user = db.session.scalars(sa.select(User).order_by(User.id)).first()\n"
        f"    user.password_hash = accounts.hash_password({BENCH_PASSWORD!r})\n"
        "    db.session.commit()\n    print(user.email)\n"
    )
    email = subprocess.run(
        [sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.split()[-1]  # fmt: skip
    return email, BENCH_PASSWORD


@contextmanager
def served(env: dict[str, str]):
    """The portal and the floor under gunicorn, 2 sync workers each, until the block ends."""
    processes = [
        subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                app,
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )  # fmt: skip
        for port, app in (
            (PORTAL_PORT, "wsgi:app"),
            (FLOOR_PORT, "tests.bench.two_hosts.floor:app"),
        )
    ]
    try:
        for port, path in ((PORTAL_PORT, "/login"), (FLOOR_PORT, "/")):
            wait_for(f"http://127.0.0.1:{port}{path}")
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=20).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def sign_in(base: str, email: str, password: str) -> requests.Session:
    client = requests.Session()
    client.headers["User-Agent"] = USER_AGENT
    form = client.get(f"{base}/login", timeout=10).text
    token = CSRF.search(form)
    answer = client.post(
        f"{base}/login",
        data={"csrf_token": token.group(1) if token else "", "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, f"sign-in failed: {answer.status_code}"
    return client


def consumer_pages(client: requests.Session, base: str) -> dict[str, str]:
    """The four pages, with an offer the consumer sees and a word of its name to search for."""
    catalog = client.get(f"{base}/catalog/", timeout=30).text
    offer_id = OFFER_LINK.search(catalog).group(1)
    offer_page = client.get(f"{base}/catalog/offers/{offer_id}", timeout=30).text
    title = re.search(r"<h1[^>]*>([^<]+)</h1>", offer_page).group(1)
    word = max(re.findall(r"[A-Za-z]{4,}", title), key=len).lower()
    return {
        "catalog": "/catalog/",
        "offer": f"/catalog/offers/{offer_id}",
        "search": f"/search?q={word}",
        "my subscriptions": "/subscriptions",
    }


def wrk(url: str, seconds: int, cookie: str = "") -> dict[str, float]:
    """Requests/s and p50 (ms) of `url` under 16 connections; fails on any non-2xx answer."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    command += ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered non-2xx under load:\n{out}")
    check = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", USER_AGENT,
         "-H", f"Cookie: {cookie}", url], capture_output=True, text=True,
    ).stdout  # fmt: skip
    if check != "200":  # a redirect to the sign-in page would be cheap, and wrong
        raise RuntimeError(f"{url} answered {check} to wrk's headers")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out).groups()
    return {"rps": rps, "p50": float(value) * UNITS_MS[unit]}


def measure(size: str, seconds: int) -> list[tuple[str, str, dict, dict]]:
    """For each page: the floor's figures, then the page's, back to back."""
    workdir = Path(tempfile.mkdtemp(prefix="request-cost-"))
    try:
        env = environment(workdir)
        email, password = prepare(size, env)
        with served(env):
            base = f"http://127.0.0.1:{PORTAL_PORT}"
            client = sign_in(base, email, password)
            pages = consumer_pages(client, base)
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            for path in pages.values():  # signed in, and no redirect: the page itself
                answer = client.get(base + path, allow_redirects=False, timeout=30)
                assert answer.status_code == 200, (path, answer.status_code)
                wrk(base + path, 1, cookie)  # warm-up: templates compiled, caches filled
            floor_url = f"http://127.0.0.1:{FLOOR_PORT}/"
            wrk(floor_url, 1)
            rows = []
            for name, path in pages.items():
                floor = wrk(floor_url, seconds)
                page = wrk(base + path, seconds, cookie)
                rows.append((size, f"{name} (`{path}`)", page, floor))
            return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(rows: list[tuple[str, str, dict, dict]]) -> str:
    lines = [
        "| data | page | requests/s | p50 | floor requests/s | floor p50 | cost × floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, page_name, page, floor in rows:
        lines.append(
            f"| {size} | {page_name} | {page['rps']:,.0f} | {page['p50']:.1f} ms "
            f"| {floor['rps']:,.0f} | {floor['p50']:.1f} ms | {floor['rps'] / page['rps']:.2f} |"
        )
    return "\n".join(lines)


@click.command()
@click.option("--sizes", default="demo,10000", show_default=True, help="demo and/or offer counts")
@click.option("--seconds", default=10, show_default=True, help="wrk's duration per page")
def main(sizes: str, seconds: int) -> None:
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is missing: apt-get install wrk")
    started = _load()
    rows = []
    for size in sizes.split(","):
        rows += measure(size.strip(), seconds)
    click.echo(table(rows))
    click.echo(f"\nload average (1, 5, 15 min): {started} at the start, {_load()} at the end")


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
