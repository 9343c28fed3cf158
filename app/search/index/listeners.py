"""Keeping the index current: the session events that collect the keys a transaction changes
and re-index them after its commit."""

from __future__ import annotations

import logging
from itertools import chain

import sqlalchemy as sa
from flask import has_app_context

from ...audit.models import AuditEvent
from ...catalog.models import LIVE_STATUSES, Category, OfferSettings, PriceChange, ServiceOffer
from ...extensions import db
from ...knowledge.models import KnowledgeArticle
from .writer import apply_changes

# The index's one logger, by the name operators (and the tests) configure.
log = logging.getLogger("app.search.index")

_CHANGES = "search_index_changes"


def _offer_changed(offer: ServiceOffer, deleted: bool) -> bool:
    """Changes to a live revision, and a revision leaving the live statuses (superseded),
    reach the index; draft edits don't."""
    if deleted or offer.status in LIVE_STATUSES:
        return True
    return any(status in LIVE_STATUSES for status in sa.inspect(offer).attrs.status.history.deleted)


def _settings_changed(settings: OfferSettings, new_or_deleted: bool) -> bool:
    return new_or_deleted or sa.inspect(settings).attrs.canary.history.has_changes()


def _audit_keys(event: AuditEvent) -> set[str]:
    """Changes made with bulk statements (audience, article links) are known by their audit
    event, which every service writes in the same transaction."""
    if event.object_type == "offer_audience" and event.object_id:
        return {f"offer:{event.object_id}"}
    if event.object_type == "offer_articles":
        changed = (event.changes or {}).get("articles") or {}
        ids = set(changed.get("before") or []) | set(changed.get("after") or [])
        return {f"article:{article_id}" for article_id in ids if str(article_id).isdigit()}
    if event.object_type == "article" and str(event.object_id).isdigit():
        return {f"article:{event.object_id}"}
    return set()


def _after_flush(session, flush_context) -> None:
    keys: set[str] = session.info.setdefault(_CHANGES, set())
    deleted = set(session.deleted)
    for obj in chain(session.new, session.dirty, deleted):
        if isinstance(obj, ServiceOffer):
            if obj.code and _offer_changed(obj, obj in deleted):
                keys.add(f"offer:{obj.code}")
        elif isinstance(obj, OfferSettings):
            if obj.offer_code and _settings_changed(obj, obj in deleted or obj in session.new):
                keys.add(f"offer:{obj.offer_code}")
        elif isinstance(obj, PriceChange):
            if obj.offer_code:
                keys.add(f"offer:{obj.offer_code}")
        elif isinstance(obj, KnowledgeArticle):
            if obj.id is not None:
                keys.add(f"article:{obj.id}")
        elif isinstance(obj, Category):
            if obj.id is not None and (
                obj in deleted or sa.inspect(obj).attrs.name.history.has_changes()
            ):
                keys.add(f"category:{obj.id}")
        elif isinstance(obj, AuditEvent) and obj in session.new:
            keys |= _audit_keys(obj)


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: the transaction goes on
        return
    keys = session.info.pop(_CHANGES, None)
    if not keys or not has_app_context():
        return
    try:
        apply_changes(keys)
    except Exception:  # noqa: BLE001 - the commit stands; the index catches up on rebuild
        log.warning("Search index update failed for %s.", sorted(keys)[:10], exc_info=True)


def _after_soft_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_CHANGES, None)


def install_listeners() -> None:
    """Keep the index current after every commit of the app's session (idempotent)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)
