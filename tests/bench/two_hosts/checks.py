"""What the two-host benchmark learns from the running deployment and checks in its database: the
demo people's tokens and what each may order, whether a catalog change published through host A
is found by search through host B (and how soon), and whether every order and support request a
host acknowledged is stored exactly once."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests
import sqlalchemy as sa

from .deployment import HOSTS, Deployment

API = "/api/v1"
PASSWORD = "offerdesk-demo"
CONSUMERS = ("erik@offerdesk.example", "grace@offerdesk.example", "sam@offerdesk.example",
             "fiona@offerdesk.example")  # fmt: skip
MANAGER = "catalog@offerdesk.example"
WORD = re.compile(r"[a-z]{4,}")


def _token(deployment: Deployment, email: str) -> str:
    return deployment.flask("users", "token", email, "--label", "two-host benchmark").split()[-1]


def _get(url: str, token: str) -> dict:
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def _person(deployment: Deployment, email: str) -> dict:
    """A consumer: token, the offers it sees, the ones an order with no options is taken for
    (tried once each, through host A), and its group's subscriptions."""
    token = _token(deployment, email)
    base = HOSTS[0].url + API
    offers = _get(f"{base}/offers?per_page=100", token)["items"]
    orderable = []
    for offer in offers:
        tried = requests.post(
            f"{base}/subscriptions",
            json={"offer_id": offer["id"], "accept_terms": True},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        if tried.status_code in (200, 201):
            orderable.append(offer["id"])
    subscriptions = _get(f"{base}/subscriptions?per_page=100", token)["items"]
    return {
        "email": email,
        "password": PASSWORD,
        "token": token,
        "visible_offers": [offer["id"] for offer in offers],
        "names": [offer["name"] for offer in offers],
        "orderable_offers": orderable,
        "subscriptions": [s["id"] for s in subscriptions if s["status"] == "active"],
    }


def traffic_settings(deployment: Deployment, acks_file: Path) -> dict:
    people = [_person(deployment, email) for email in CONSUMERS]
    seen_by_all = set.intersection(*(set(person["visible_offers"]) for person in people))
    published, probed = sorted(seen_by_all)[:2]
    for person in people:  # the manager revises these two: their ids move on
        for listed in ("visible_offers", "orderable_offers"):
            person[listed] = [offer for offer in person[listed] if offer not in (published, probed)]
    words = sorted(
        {word for p in people for name in p["names"] for word in WORD.findall(name.lower())}
    )
    return {
        "hosts": [host.url for host in HOSTS],
        "consumers": people,
        "manager_token": _token(deployment, MANAGER),
        "published_offer": published,
        "probed_offer": probed,
        "search_words": words[:40],
        "acks_file": str(acks_file),
    }


# --- a change on A, searched on B -------------------------------------------------------------


def _publish_revision(manager: requests.Session, offer_id: int, summary: str) -> int:
    base = HOSTS[0].url + API + "/offers"
    made = manager.post(f"{base}/{offer_id}/revisions", timeout=30)
    made.raise_for_status()
    draft = made.json()["id"]
    edited = manager.patch(
        f"{base}/{draft}", json={"summary": summary}, headers={"If-Match": made.headers["ETag"]}
    )
    edited.raise_for_status()
    for status in ("planned", "ready", "published"):
        manager.post(f"{base}/{draft}/transitions", json={"to": status}).raise_for_status()
    return draft


def _seen_on_b(word: str, offer_id: int, reader: dict) -> bool:
    try:
        answer = requests.get(f"{HOSTS[1].url}{API}/offers?q={word}", headers=reader, timeout=5)
    except requests.RequestException:
        return False
    return any(item["id"] == offer_id for item in answer.json().get("items", []))


def change_found_elsewhere(settings: dict, probes: int = 5, give_up: float = 10.0) -> list[dict]:
    """Publish a revision with a new word through host A, then search for the word through host B
    (as a consumer, in the API) until the revision is found: the seconds from A's answer to the
    first search on B that found it (None: not found within `give_up` seconds)."""
    manager = requests.Session()
    manager.headers["Authorization"] = f"Bearer {settings['manager_token']}"
    reader = {"Authorization": f"Bearer {settings['consumers'][0]['token']}"}
    offer_id, found = settings["probed_offer"], []
    for _ in range(probes):
        word = "probe" + uuid.uuid4().hex[:10]
        offer_id = _publish_revision(manager, offer_id, f"Now with {word} inside")
        published_at, seen_after, searches = time.monotonic(), None, 0
        while seen_after is None and time.monotonic() - published_at < give_up:
            searches += 1
            if _seen_on_b(word, offer_id, reader):
                seen_after = round(time.monotonic() - published_at, 3)
            else:
                time.sleep(0.02)
        found.append({"word": word, "seconds": seen_after, "searches": searches})
        time.sleep(2)
    settings["probed_offer"] = offer_id
    return found


# --- nothing lost, nothing twice --------------------------------------------------------------


def live_revisions(deployment: Deployment, settings: dict) -> None:
    """Point the settings at the published revisions of the two offers the manager revises (a
    run publishes new ones)."""
    engine = sa.create_engine(deployment.database_url())
    with engine.connect() as connection:
        for name in ("published_offer", "probed_offer"):
            settings[name] = connection.execute(
                sa.text(
                    "SELECT live.id FROM service_offers AS live JOIN service_offers AS seen "
                    "ON seen.code = live.code WHERE seen.id = :id AND live.status = 'published'"
                ),
                {"id": settings[name]},
            ).scalar_one()
    engine.dispose()


def stored_once(deployment: Deployment, acks_file: Path, run: str) -> dict:
    """For orders and support requests: how many were acknowledged, how many of those are stored
    (with the acknowledged id), how many keys are stored more than once, and how many were stored
    without an acknowledgement (the request was cut off after its commit)."""
    acks = json.loads(acks_file.read_text())
    engine = sa.create_engine(deployment.database_url())
    tables = {  # the run's own keys: the kill run follows the mixed run on the same database
        "order": ("orders", f"bench-order-{run}-%"),
        "request": ("support_requests", f"bench-request-{run}-%"),
    }
    report = {}
    with engine.connect() as connection:
        for kind, (table, pattern) in tables.items():
            rows = connection.execute(
                sa.text(f"SELECT idempotency_key, id FROM {table} WHERE idempotency_key LIKE :p"),
                {"p": pattern},
            ).all()
            stored = defaultdict(list)
            for key, row_id in rows:
                stored[key].append(row_id)
            acked = [ack for ack in acks if ack["kind"] == kind and ack["id"] is not None]
            # the last word on each key: "sent" alone means the request never came back
            unanswered = {ack["key"]: ack["status"] for ack in acks if ack["kind"] == kind
                          and ack["id"] is None}  # fmt: skip
            not_acked = set(stored) - {ack["key"] for ack in acked}
            report[kind] = {
                "acknowledged": len(acked),
                "acknowledged by A": sum(ack["host"] == HOSTS[0].url for ack in acked),
                "lost": sum(ack["id"] not in stored.get(ack["key"], []) for ack in acked),
                "stored twice": sum(len(ids) > 1 for ids in stored.values()),
                "stored, not acknowledged": len(not_acked),
                "their last answers": sorted(str(unanswered.get(key, "none")) for key in not_acked),
            }
    engine.dispose()
    return report
