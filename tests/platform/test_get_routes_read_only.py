"""No GET handler changes state (issue 11): every GET route of the URL map, its parameters filled
from the demo world, asked by each role, leaves every table's rows as they were, writes nothing
through the unit of work and runs no INSERT, UPDATE or DELETE (a write rolled back is caught
too). A route whose parameters this walk cannot fill fails the test by name, so a new GET route
is walked from the day it is added."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa
from huey.storage import MemoryStorage
from werkzeug.datastructures import FileStorage

from app import jobs, unit_of_work
from app.accounts import services as accounts
from app.accounts.models import SYSTEM, User
from app.catalog.models import Category, ChoiceList, DigitalProduct
from app.demo.seeds import load_seeds
from app.extensions import db
from app.integrations.models import Webhook
from app.integrations.services import integrations, webhooks
from app.knowledge.models import KnowledgeArticle
from app.notifications.models import OutboxEmail
from app.subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription
from app.support.models import Attachment, SupportRequest
from app.support.services import messages
from tests.conftest import count_queries, login, module_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# The demo users (seeds/users.yaml) who walk the site, one per role.
WALKERS = {
    "anonymous": None,
    "consumer": "fiona@offerdesk.example",
    "catalog_manager": "catalog@offerdesk.example",
    "support_agent": "agent1@offerdesk.example",
    "product_manager": "product@offerdesk.example",
    "admin": "admin@offerdesk.example",
}

# Query strings that take a page past its empty state (an order form needs its offer...).
QUERIES = {
    "subscriptions.new": lambda ids: {"offer": ids["offer_id"]},
    "subscriptions.compare": lambda ids: {"ids": [ids["offer_id"]]},
    "subscriptions.modify": lambda ids: {"target": ids["offer_id"], "find": "a"},
    "support.new_request": lambda ids: {"subscription": ids["subscription_id"]},
    "support.suggestions": lambda ids: {"subscription": ids["subscription_id"], "q": "vpn"},
    "support.offer_codes": lambda ids: {"q": "v"},
    "search.results": lambda ids: {"q": "vpn"},
    "knowledge.index": lambda ids: {"q": "vpn"},
    "catalog.diff": lambda ids: {"from": 1, "to": 2},
}


def _first(query):
    value = db.session.scalar(query.limit(1))
    assert value is not None, f"the demo world has no row for {query}"
    return value


@module_world
def demo_world(app):
    """The demo data (`flask seed`), an integration with a webhook, and an attachment on the
    consumer's first request: every kind of row a GET route names."""
    load_seeds()
    consumer = _walker("consumer")
    integrations.create_integration(
        SYSTEM, name="Walk hooks", kind="webhook", url="http://127.0.0.1:9/hooks", secret=None
    )
    webhooks.subscribe(SYSTEM, integration="Walk hooks", events=["offer.published"])
    own_request = _first(
        sa.select(SupportRequest.id)
        .where(SupportRequest.requester_id == consumer.id)
        .order_by(SupportRequest.id)
    )
    messages.add_message(
        consumer,
        own_request,
        "A screenshot.",
        files=[FileStorage(io.BytesIO(PNG), filename="screen.png", content_type="image/png")],
    )
    tokens = {}
    for role in WALKERS:
        if WALKERS[role]:
            token, plaintext = accounts.create_token(SYSTEM, _walker(role).id, "walk")
            tokens[role] = (token.id, plaintext)
    db.session.commit()
    subscription = db.session.get(
        Subscription,
        _first(
            sa.select(Subscription.id)
            .where(Subscription.group_id.in_(sorted(consumer.group_ids)))
            .order_by(Subscription.id)
        ),
    )
    return {"ids": _ids(consumer, subscription, own_request), "tokens": tokens}


def _walker(role: str) -> User | None:
    email = WALKERS[role]
    return email and db.session.scalar(sa.select(User).where(User.email == email))


def _ids(consumer: User, subscription: Subscription, own_request: int) -> dict[str, int | str]:
    """A value for each URL argument: the consumer's own rows, which staff may see as well."""
    article = sa.select(KnowledgeArticle.id).where(KnowledgeArticle.status == "published")
    return {
        "subscription_id": subscription.id,
        "contract_id": _first(
            sa.select(ServiceContract.id).where(ServiceContract.subscription_id == subscription.id)
        ),
        "offer_id": subscription.offer_id,
        "request_id": own_request,
        "task_id": _first(
            sa.select(FulfillmentTask.id)
            .join(Order, FulfillmentTask.order_id == Order.id)
            .where(Order.subscription_id == subscription.id)
            .order_by(FulfillmentTask.id)
        ),
        "attachment_id": _first(
            sa.select(Attachment.id).where(Attachment.request_id == own_request)
        ),
        "article_id": _first(article.order_by(KnowledgeArticle.id)),
        "user_id": consumer.id,
        "group_id": sorted(consumer.group_ids)[0],
        "integration_id": _first(sa.select(Webhook.integration_id)),
        "webhook_id": _first(sa.select(Webhook.id)),
        "category_id": _first(sa.select(Category.id).where(Category.parent_id.is_not(None))),
        "slug": _first(sa.select(Category.slug).order_by(Category.id)),
        "product_id": _first(sa.select(DigitalProduct.id).order_by(DigitalProduct.id)),
        "table": "summary",
        "email_id": _first(sa.select(OutboxEmail.id).order_by(OutboxEmail.id)),
        "name": _first(sa.select(ChoiceList.name).order_by(ChoiceList.id)),
        "key": "walk-checkout",  # a cart checkout's key: no such checkout, so 404
    }


def get_rules(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods),
        key=lambda rule: rule.rule,
    )


def build_url(app, rule, ids: dict) -> str:
    missing = sorted(set(rule.arguments) - set(ids))
    assert not missing, (
        f"GET {rule.rule} ({rule.endpoint}) has arguments {missing} that the read-only walk "
        "cannot fill: add them to _ids() in tests/platform/test_get_routes_read_only.py"
    )
    values = {name: ids[name] for name in rule.arguments}
    extra = QUERIES.get(rule.endpoint, lambda ids: {})(ids)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values, **extra)


def snapshot() -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows in primary-key order."""
    connection = db.session.connection()
    state = {}
    for table in db.metadata.sorted_tables:
        order = ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
        rows = connection.exec_driver_sql(f'SELECT * FROM "{table.name}" ORDER BY {order}').all()
        state[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


WRITE_WORDS = ("insert", "update", "delete", "replace")


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip()[:7].lower().startswith(WRITE_WORDS)]


@pytest.fixture
def unit_of_work_writes(monkeypatch):
    """The unit of work's own verdict at the end of each request: did the view write?"""
    verdicts: list[bool] = []
    finish = unit_of_work.finish

    def finish_and_record(succeeded: bool) -> None:
        verdicts.append(unit_of_work.has_changes())
        finish(succeeded)

    monkeypatch.setattr(unit_of_work, "finish", finish_and_record)
    return verdicts


def test_every_get_route_can_be_filled_from_the_world(app, demo_world):
    rules = [rule for rule in get_rules(app) if rule.endpoint != "static"]
    urls = [build_url(app, rule, demo_world["ids"]) for rule in rules]
    assert len(urls) == len(rules) > 80  # 88 GET routes when this test was written
    assert "/healthz" in urls and "/api/v1/openapi.json" in urls


@pytest.fixture
def job_queue(monkeypatch):
    """Huey's own in-memory storage in place of the jobs file: what the walk enqueued."""
    monkeypatch.setattr(jobs.huey, "storage", MemoryStorage("walk"))
    return jobs.huey


@pytest.mark.parametrize("role", list(WALKERS))
def test_no_get_route_changes_state(app, demo_world, role, unit_of_work_writes, job_queue):
    walker = _walker(role)
    client = app.test_client()
    if walker is not None:
        login(client, walker)
    token_id, token = demo_world["tokens"].get(role, (None, None))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    problems = []
    before = snapshot()
    for rule in get_rules(app):
        if rule.endpoint == "static":
            continue
        url = build_url(app, rule, demo_world["ids"])
        del unit_of_work_writes[:]
        with count_queries() as statements:
            response = client.get(url, headers=headers if url.startswith("/api/") else {})
        after = snapshot()
        found = []
        if response.status_code >= 500:
            found.append(f"answered {response.status_code}")
        if changed_tables(before, after):
            found.append(f"changed {changed_tables(before, after)}")
        if writes(statements):
            found.append(f"ran {writes(statements)}")
        if any(unit_of_work_writes):
            found.append("wrote through the unit of work")
        if found:
            problems.append(f"GET {url} ({rule.endpoint}) as {role}: {'; '.join(found)}")
        before = after
    assert problems == []
    # The token's last use is still recorded, by a job (none has run yet: one per call).
    pending = [(task.name, task.args[0]) for task in job_queue.pending()]
    # The search pages found no Whoosh index here: they asked for its rebuild, once in all.
    rebuild = ("jobs.run_now", "search.index_health")
    assert pending.count(rebuild) <= 1
    queued = set(pending) - {rebuild}
    assert queued == ({("accounts.token_used", token_id)} if token else set())
