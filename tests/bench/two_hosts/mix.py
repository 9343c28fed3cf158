"""The traffic of the two-host benchmark, for locust (headless): consumers browsing and searching
in the pages, consumers ordering and asking for support through the API with idempotency keys, a
catalog manager publishing. Every request goes to either host; when a host does not answer, the
same request (same key) goes to the other one, as a load balancer would retry it. Each order and
support request a host acknowledged is written to the acknowledgements file at the end, so run.py
can count them in the database.

Its settings come from the JSON file named by BENCH_CONFIG (run.py writes it)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import uuid
from pathlib import Path

from locust import HttpUser, between, constant, events, task

CONFIG = json.loads(Path(os.environ["BENCH_CONFIG"]).read_text())
HOSTS: list[str] = CONFIG["hosts"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ACKS: list[dict] = []
_ACKS_LOCK = threading.Lock()
_CONSUMERS = itertools.cycle(CONFIG["consumers"])


def _acknowledged(**entry) -> None:
    with _ACKS_LOCK:
        ACKS.append(entry)


def _unanswered(kind: str, key: str, response) -> None:
    """A write no host acknowledged (refused, or cut off): kept to explain what is stored."""
    status = 0 if response is None else response.status_code
    _acknowledged(kind=kind, key=key, id=None, host=None, status=status)


@events.test_stop.add_listener
def _write_acknowledgements(environment, **kwargs) -> None:
    with open(CONFIG["acks_file"], "w") as out:
        json.dump(ACKS, out)


def _sign_in(client, host: str, person: dict) -> None:
    page = client.get(host + "/login", name="GET /login")
    token = CSRF.search(page.text)
    client.post(
        host + "/login",
        name="POST /login",
        data={
            "csrf_token": token.group(1) if token else "",
            "email": person["email"],
            "password": person["password"],
        },
    )


class Portal(HttpUser):
    abstract = True
    host = HOSTS[0]

    def hosts(self) -> list[str]:
        first = random.randrange(len(HOSTS))
        return HOSTS[first:] + HOSTS[:first]

    def call(self, method: str, path: str, name: str, answers=(200,), **kwargs):
        """The request on one host, then, if that host did not answer at all, on the next one.
        Returns (host, response) of the last attempt."""
        for host in self.hosts():
            with self.client.request(
                method, host + path, name=name, catch_response=True, **kwargs
            ) as response:
                if response.status_code in answers:
                    response.success()
                    return host, response
                response.failure(f"{response.status_code}: {response.text[:120]}")
                if response.status_code != 0:
                    return host, response
        return None, None


class Consumer(Portal):
    """A consumer in the browser: the catalog, an offer, the search page, My subscriptions."""

    weight = 6
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.person = next(_CONSUMERS)
        for host in HOSTS:  # the session cookie is per host name: sign in on each
            _sign_in(self.client, host, self.person)

    @task(4)
    def catalog(self) -> None:
        self.call("GET", "/catalog/", "/catalog/")

    @task(2)
    def offer(self) -> None:
        offer_id = random.choice(self.person["visible_offers"])
        self.call("GET", f"/catalog/offers/{offer_id}", "/catalog/offers/{id}")

    @task(3)
    def search(self) -> None:
        word = random.choice(CONFIG["search_words"])
        self.call("GET", f"/search?q={word}", "/search?q=")

    @task(1)
    def my_subscriptions(self) -> None:
        self.call("GET", "/subscriptions", "/subscriptions")


class System(Portal):
    """A consumer's integration: finds offers, orders them and opens support requests through the
    API, each write with its own idempotency key."""

    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.person = next(_CONSUMERS)
        self.headers = {"Authorization": f"Bearer {self.person['token']}"}

    @task(2)
    def find_offers(self) -> None:
        word = random.choice(CONFIG["search_words"])
        self.call("GET", f"/api/v1/offers?q={word}", "/api/v1/offers?q=", headers=self.headers)

    @task(2)
    def order(self) -> None:
        if not self.person["orderable_offers"]:
            return
        key = f"bench-order-{CONFIG['run']}-{uuid.uuid4()}"
        body = {"offer_id": random.choice(self.person["orderable_offers"]), "accept_terms": True}
        _acknowledged(kind="order", key=key, id=None, host=None, status="sent")
        host, response = self.call(
            "POST",
            "/api/v1/subscriptions",
            "POST /api/v1/subscriptions",
            answers=(200, 201, 409, 422),  # a quota or a holding limit refuses: an answer too
            json=body,
            headers=self.headers | {"Idempotency-Key": key},
        )
        if response is not None and response.status_code in (200, 201):
            order = response.json()["order"]
            _acknowledged(kind="order", key=key, id=order["id"], host=host)
        else:
            _unanswered("order", key, response)

    @task(1)
    def ask_for_support(self) -> None:
        if not self.person["subscriptions"]:
            return
        key = f"bench-request-{CONFIG['run']}-{uuid.uuid4()}"
        body = {
            "subscription_id": random.choice(self.person["subscriptions"]),
            "request_type": "question",
            "priority": "low",
            "subject": "How do I reset the access?",
            "description": "Asked by the two-host benchmark.",
        }
        _acknowledged(kind="request", key=key, id=None, host=None, status="sent")
        host, response = self.call(
            "POST",
            "/api/v1/support-requests",
            "POST /api/v1/support-requests",
            answers=(200, 201),
            json=body,
            headers=self.headers | {"Idempotency-Key": key},
        )
        if response is not None and response.status_code in (200, 201):
            _acknowledged(kind="request", key=key, id=response.json()["id"], host=host)
        else:
            _unanswered("request", key, response)


class CatalogManager(Portal):
    """Publishes a new revision of an offer: revision, edit (If-Match), planned, ready, published."""

    weight = 1
    fixed_count = 1
    wait_time = between(4, 8)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {CONFIG['manager_token']}"}
        self.offer_id = CONFIG["published_offer"]

    @task
    def publish_revision(self) -> None:
        api = "/api/v1/offers"
        _host, made = self.call(
            "POST", f"{api}/{self.offer_id}/revisions", "POST /offers/{id}/revisions",
            answers=(201,), headers=self.headers,
        )  # fmt: skip
        if made is None or made.status_code != 201:
            return
        draft = made.json()
        edit = {"summary": f"Revised by the benchmark ({uuid.uuid4().hex[:8]})"}
        headers = self.headers | {"If-Match": made.headers.get("ETag", "")}
        self.call("PATCH", f"{api}/{draft['id']}", "PATCH /offers/{id}", json=edit, headers=headers)
        for status in ("planned", "ready", "published"):
            _host, moved = self.call(
                "POST", f"{api}/{draft['id']}/transitions", "POST /offers/{id}/transitions",
                json={"to": status}, headers=self.headers,
            )  # fmt: skip
            if moved is None or moved.status_code != 200:
                return
        self.offer_id = draft["id"]


class CatalogReader(Portal):
    """For the comparison with the floor: a signed-in consumer reading the catalog on host A,
    with no pause between pages."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.person = next(_CONSUMERS)
        _sign_in(self.client, HOSTS[0], self.person)

    @task
    def catalog(self) -> None:
        self.client.get(HOSTS[0] + "/catalog/", name="portal: /catalog/ (20 offers)")


class FloorReader(HttpUser):
    """The floor page: 20 offers from the same database, a minimal Flask + Jinja page."""

    host = CONFIG.get("floor", HOSTS[0])
    wait_time = constant(0)

    @task
    def offers(self) -> None:
        self.client.get(self.host + "/", name="floor: Flask + Jinja, 20 offers")
