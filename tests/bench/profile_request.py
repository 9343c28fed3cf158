"""cProfile of a signed-in consumer's page, in one process, with the floor timed beside it.

    .venv/bin/python -m tests.bench.profile_request --path /catalog/ --requests 50
    .venv/bin/python -m tests.bench.profile_request --path /catalog/ --size 10000 --top 40
    .venv/bin/python -m tests.bench.profile_request --top 0 --requests 200 --path /catalog/ \
        --path '/catalog/offers/<first-offer>' --path '/search?q=kubernetes' --path /subscriptions

The database is built as bench_request_cost builds it (``flask seed``, or the generator at a
number of offers); the portal runs with the production settings, through Flask's test client
(no HTTP server), so the profile is the request itself: session and user loading, the
navigation's counts, the queries, the templates. Prints the time per request of the page and of
the floor page (same process, back to back; wall and CPU time), then the top of the profile by
cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import shutil
import tempfile
import time
from pathlib import Path

import click

from .bench_request_cost import CSRF, USER_AGENT, environment, prepare


def _signed_in(email: str, password: str):
    from app import create_app

    client = create_app().test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    token = CSRF.search(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"csrf_token": token.group(1) if token else "", "email": email, "password": password},
    )
    assert answer.status_code == 302, answer.status_code
    return client


def _per_request_ms(client, path: str, requests: int) -> tuple[float, float]:
    """Wall and CPU time (ms) per request: on a loaded machine the CPU time is the steadier."""
    for _ in range(3):
        assert client.get(path).status_code == 200, path
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        client.get(path)
    return (
        (time.perf_counter() - started) * 1000 / requests,
        (time.process_time() - cpu) * 1000 / requests,
    )


@click.command()
@click.option("--path", "paths", multiple=True, default=["/catalog/"], show_default=True)
@click.option("--size", default="demo", show_default=True, help="demo or a number of offers")
@click.option("--requests", default=50, show_default=True)
@click.option("--top", default=30, show_default=True, help="profile lines per page (0: none)")
def main(paths: tuple[str, ...], size: str, requests: int, top: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="profile-request-"))
    try:
        env = environment(workdir)
        email, password = prepare(size, env)
        os.environ.update(env)
        client = _signed_in(email, password)
        from .two_hosts.floor import app as floor

        floor_client = floor.test_client()
        for path in paths:
            search = re.sub(r"<first-offer>", _first_offer(client), path)
            (page_ms, page_cpu), (floor_ms, floor_cpu) = (
                _per_request_ms(client, search, requests),
                _per_request_ms(floor_client, "/", requests),
            )
            click.echo(
                f"{search}: {page_ms:.1f} ms a request, the floor {floor_ms:.1f} ms "
                f"({page_ms / floor_ms:.1f}×); CPU {page_cpu:.1f} ms, the floor's "
                f"{floor_cpu:.1f} ms ({page_cpu / floor_cpu:.1f}×)"
            )
            if top:
                click.echo(_profile(client, search, requests, top))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _first_offer(client) -> str:
    found = re.search(r'href="/catalog/offers/(\d+)"', client.get("/catalog/").text)
    return found.group(1) if found else "1"


def _profile(client, path: str, requests: int, top: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        client.get(path)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    main()
