"""Load seeds/support.yaml: troubleshooting articles, votes, the subscriptions the demo requests
need, deflections, and demo requests in every state. Idempotent: articles are matched by title,
subscriptions by group and offer, deflections by consumer and article, requests by group and
subject; what exists is left as it is. Everything goes through the services, as the acting
demo users, with the clock set back so the requests have a history. Anything naming an offer,
product or user that is missing is skipped with a note in the report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import yaml

from .. import clock, unit_of_work
from ..accounts.models import SYSTEM, User
from ..catalog import services as catalog
from ..catalog.models import DigitalProduct
from ..errors import DomainError
from ..extensions import db
from ..knowledge.models import ArticleFeedback, KnowledgeArticle
from ..subscriptions.models import Subscription, SubscriptionStatus
from ..support import services
from ..support.models import BacklogItem, Deflection, SupportRequest
from .common import clock_at, find_user, order_and_fulfil

SEED_FILE = "support.yaml"


def load_support_seeds(folder: Path | str) -> list[str]:
    path = Path(folder) / SEED_FILE
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines = [
        _load_articles(data.get("articles") or []),
        _load_votes(data.get("votes") or []),
        _load_subscriptions(data.get("subscriptions") or {}),
        _load_deflections(data.get("deflections") or []),
        _load_requests(data.get("requests") or []),
    ]
    unit_of_work.commit()  # what the knowledge services above left for their caller to commit
    return [line for line in lines if line]


def _product_id(name: str | None) -> int | None:
    if not name:
        return None
    return db.session.scalar(sa.select(DigitalProduct.id).where(DigitalProduct.name == name))


def _article_id(title: str) -> int | None:
    return db.session.scalar(sa.select(KnowledgeArticle.id).where(KnowledgeArticle.title == title))


def _with_note(line: str, skipped: list[str]) -> str:
    return line + (f"; skipped {', '.join(skipped)}" if skipped else "")


# --- knowledge ------------------------------------------------------------------------------


def _load_articles(items: list[dict]) -> str:
    created, skipped = 0, []
    for item in items:
        if _article_id(item["title"]) is not None:
            continue
        author = find_user(item.get("author"))
        known_codes = [
            code for code in item.get("offers") or [] if catalog.live_revision(code) is not None
        ]
        missing = sorted(set(item.get("offers") or []) - set(known_codes))
        if missing:
            skipped.append(
                f"links of “{item['title']}” to {', '.join(missing)} (not in the catalog)"
            )
        try:
            services.save_article_with_offers(
                author or _any_writer() or SYSTEM,
                title=item["title"],
                body=item.get("body", ""),
                status=item.get("status", "published"),
                product_id=_product_id(item.get("product")),
                offer_codes=known_codes,
            )
            unit_of_work.commit()  # one seeded article, one unit of work
            created += 1
        except DomainError as error:
            db.session.rollback()
            skipped.append(f"“{item['title']}” ({error.message})")
    return _with_note(f"knowledge articles: {created} created", skipped)


def _any_writer() -> User | None:
    from ..accounts.models import Role, UserRole

    return db.session.scalar(
        sa.select(User).where(User.roles.any(UserRole.role == Role.CATALOG_MANAGER.value)).limit(1)
    )


def _load_votes(items: list[dict]) -> str:
    counted = 0
    for item in items:
        user, article_id = find_user(item.get("user")), _article_id(item.get("article", ""))
        if user is None or article_id is None:
            continue
        voted = db.session.scalar(
            sa.select(ArticleFeedback.id).where(
                ArticleFeedback.article_id == article_id, ArticleFeedback.user_id == user.id
            )
        )
        if voted is None:
            services.rate_article(user, article_id, bool(item.get("helpful")))
            counted += 1
    unit_of_work.commit()
    return f"article votes: {counted} recorded" if items else ""


# --- subscriptions and deflections -------------------------------------------------------------


def _open_subscription(user: User, code: str) -> Subscription | None:
    return db.session.scalar(
        sa.select(Subscription)
        .where(
            Subscription.group_id.in_(sorted(user.group_ids) or [-1]),
            Subscription.offer_code == code,
            Subscription.parent_id.is_(None),
            Subscription.status != SubscriptionStatus.TERMINATED.value,
        )
        .order_by(Subscription.id)
        .limit(1)
    )


def _load_subscriptions(config: dict) -> str:
    agent = find_user(config.get("agent"))
    ordered_at = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(
        days=int(config.get("ordered_days_ago") or 0)
    )
    created, skipped = 0, []
    for item in config.get("items") or []:
        consumer = find_user(item.get("consumer"))
        if consumer is None:
            skipped.append(f"{item.get('offer')} (no user {item.get('consumer')})")
            continue
        if _open_subscription(consumer, item["offer"]) is not None:
            continue
        refusal = order_and_fulfil(
            consumer, agent, item, ordered_at, key=f"seed-support-{item['offer']}", hours=2
        )
        if refusal is None:
            created += 1
        else:
            skipped.append(f"{item['offer']} for {item['consumer']} ({refusal})")
    return _with_note(f"support demo subscriptions: {created} created", skipped)


def _load_deflections(items: list[dict]) -> str:
    created, skipped = 0, []
    for item in items:
        consumer, article_id = find_user(item.get("consumer")), _article_id(item.get("article", ""))
        subscription = _open_subscription(consumer, item.get("offer", "")) if consumer else None
        if consumer is None or article_id is None or subscription is None:
            skipped.append(
                f"{item.get('offer')} / {item.get('article')} (missing user, article or subscription)"
            )
            continue
        exists = db.session.scalar(
            sa.select(Deflection.id).where(
                Deflection.user_id == consumer.id, Deflection.article_id == article_id
            )
        )
        if exists is None:
            services.record_deflection(consumer, subscription.id, article_id, item.get("query", ""))
            unit_of_work.commit()
            created += 1
    return _with_note(f"deflections: {created} recorded", skipped) if items else ""


# --- requests -------------------------------------------------------------------------------


def _load_requests(items: list[dict]) -> str:
    created, skipped = 0, []
    now = clock.now()
    for item in items:
        consumer = find_user(item.get("consumer"))
        if consumer is None:
            skipped.append(f"“{item['subject']}” (no user {item.get('consumer')})")
            continue
        exists = db.session.scalar(
            sa.select(SupportRequest.id).where(
                SupportRequest.group_id.in_(sorted(consumer.group_ids) or [-1]),
                SupportRequest.subject == item["subject"],
            )
        )
        if exists is not None:
            continue
        subscription = _open_subscription(consumer, item["offer"])
        if subscription is None:
            skipped.append(
                f"“{item['subject']}” (no {item['offer']} subscription: is the offer in the catalog?)"
            )
            continue
        opened = now - timedelta(hours=float(item.get("hours_ago") or 0))
        try:
            with clock_at(opened):
                request = services.open_request(
                    consumer,
                    subscription.id,
                    request_type=item.get("type", "question"),
                    priority=item.get("priority", "medium"),
                    subject=item["subject"],
                    description=item.get("description", ""),
                )
            for step in item.get("steps") or []:
                moment = min(opened + timedelta(hours=float(step.get("at") or 0)), now)
                actor = find_user(step.get("by")) or consumer
                with clock_at(moment):
                    _run_step(actor, request.id, step)
            unit_of_work.commit()  # one seeded request and its history, one unit of work
            created += 1
        except DomainError as error:
            db.session.rollback()
            skipped.append(f"“{item['subject']}” ({error.message})")
    return _with_note(f"support requests: {created} created", skipped)


def _run_step(actor: User, request_id: int, step: dict) -> None:
    action = step["do"]
    if action == "take":
        services.assign(actor, request_id, actor.id)
    elif action == "assign":
        assignee = find_user(step.get("to"))
        services.assign(actor, request_id, assignee.id if assignee else None)
    elif action in ("reply", "note"):
        services.add_message(actor, request_id, step.get("body", ""), internal=action == "note")
    elif action == "status":
        services.transition_request(actor, request_id, step["to"], reason=step.get("reason", ""))
    elif action == "escalate":
        services.escalate(actor, request_id, step.get("reason", ""))
    elif action == "incident":
        incident = services.raise_incident(
            actor,
            request_id,
            product_id=_product_id(step.get("product")),
            severity=step.get("severity", 3),
            title=step.get("title", ""),
            description=step.get("description", ""),
        )
        if step.get("status"):
            services.transition_incident(actor, incident.id, step["status"])
    elif action == "backlog":
        services.raise_backlog_item(
            actor,
            request_id,
            product_id=_product_id(step.get("product")),
            kind=step.get("kind", "defect"),
            title=step.get("title", ""),
            description=step.get("description", ""),
        )
    elif action == "link_backlog":
        item_id = db.session.scalar(
            sa.select(BacklogItem.id).where(BacklogItem.title == step.get("title", ""))
        )
        services.link_backlog_item(actor, item_id, request_id)
    elif action == "rate":
        services.rate(actor, request_id, step.get("score"), step.get("comment", ""))
    else:
        raise ValueError(f"Unknown step in seeds/support.yaml: {action}")
