"""Time from order to first delivery: a consumer orders (POST /api/v1/subscriptions) an offer
whose plan has a webhook step, while a real `flask jobs worker` process (one thread, Huey's
SQLite storage, or Redis with BENCH_JOBS_URL=redis) and a real receiver on loopback run; the
time is from just before the order's request to the receiver getting the signed step. N orders
in a row (BENCH_ORDERS, default 20); prints the median, p90 and max.

It uses the test harness (fixtures, committed database), so run it with pytest:

    .venv/bin/python -m pytest -p no:cacheprovider -n 0 -s tests/bench/bench_first_delivery.py
"""

from __future__ import annotations

import os
import statistics
import time

import pytest

from app import jobs
from tests.catalog.conftest import catalog_setup, make_offer  # noqa: F401
from tests.conftest import token_for
from tests.fulfillment.conftest import (  # noqa: F401
    receivers,
    step_integration,
    webhook_step,
)
from tests.jobs.conftest import job_env, redis_url, start_worker, wait_for  # noqa: F401

pytestmark = pytest.mark.committed


def test_time_from_order_to_first_delivery(
    app,
    tmp_path,
    monkeypatch,
    request,
    job_env,
    start_worker,
    receivers,
    step_integration,
    make_offer,
    users,
    api,
):
    count = int(os.environ.get("BENCH_ORDERS", "20"))
    jobs_url = (
        request.getfixturevalue("redis_url")
        if os.environ.get("BENCH_JOBS_URL") == "redis"
        else f"sqlite:///{tmp_path / 'jobs.db'}"
    )
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey_for(jobs_url).storage)
    arrivals: list[float] = []
    receiver = receivers(then=lambda received: arrivals.append(time.perf_counter()))
    step_integration(receiver.url)
    offer = make_offer("VM-BENCH", fulfillment_plan=[webhook_step("Provision VM", "Provisioner")])
    consumer = api(token_for(users["consumer"]))
    env = job_env(jobs_url, SECRET_KEY=app.config["SECRET_KEY"])
    worker = start_worker(env, workers=1)
    warm = consumer.post(  # the worker's first job also imports and connects: not counted
        "/api/v1/subscriptions",
        json={"offer_id": offer.id, "options": {"profile": "developer"}, "accept_terms": True},
        headers={"Idempotency-Key": "bench-warm"},
    )
    assert warm.status_code == 201, warm.json
    wait_for(lambda: arrivals, 60, "the warm-up delivery\n" + worker.output())
    times = []
    for number in range(count):
        before, seen = time.perf_counter(), len(arrivals)
        response = consumer.post(
            "/api/v1/subscriptions",
            json={"offer_id": offer.id, "options": {"profile": "developer"}, "accept_terms": True},
            headers={"Idempotency-Key": f"bench-{number}"},
        )
        assert response.status_code == 201, response.json
        wait_for(
            lambda seen=seen: len(arrivals) > seen, 60, "a delivery\n" + worker.output(), 0.005
        )
        times.append(arrivals[seen] - before)
    times.sort()
    print(
        f"\norder to first delivery, {count} orders, {jobs_url.split(':')[0]} queue: "
        f"median {statistics.median(times) * 1000:.0f} ms, "
        f"p90 {times[int(0.9 * (count - 1))] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )
    assert all(r.signature_valid for r in receiver.requests)
