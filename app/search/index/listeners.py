"""Keeping the index current: the session events and the catalog's and knowledge's domain
events collect the keys a transaction changes; after its commit they go to the job engine
(app/search_jobs.py: `search.index_changes`), whose worker re-indexes them. The request itself
never writes the index."""

from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import chain

import sqlalchemy as sa
from flask import current_app, has_app_context

from ...catalog import signals as catalog_signals
from ...catalog.models import LIVE_STATUSES, Category, OfferSettings, PriceChange, ServiceOffer
from ...extensions import db
from ...knowledge import signals as knowledge_signals
from ...knowledge.models import KnowledgeArticle
from .locks import queue_keys
from .store import index_dir

# The index's one logger, by the name operators (and the tests) configure.
log = logging.getLogger("app.search.index")

_CHANGES = "search_index_changes"
_job: Callable[[list[str]], object] | None = None


def register_job(job: Callable[[list[str]], object]) -> None:
    """The job that re-indexes keys in the worker (app/search_jobs.py registers it)."""
    global _job
    _job = job


def _offer_changed(offer: ServiceOffer, deleted: bool) -> bool:
    """Changes to a live revision, and a revision leaving the live statuses (superseded),
    reach the index; draft edits don't."""
    if deleted or offer.status in LIVE_STATUSES:
        return True
    return any(status in LIVE_STATUSES for status in sa.inspect(offer).attrs.status.history.deleted)


def _settings_changed(settings: OfferSettings, new_or_deleted: bool) -> bool:
    return new_or_deleted or sa.inspect(settings).attrs.canary.history.has_changes()


def _changed(keys: set[str]) -> None:
    db.session.info.setdefault(_CHANGES, set()).update(keys)


# Changes made with bulk statements (an audience, an offer's article links) are not seen by the
# session's flush: the domains' events name them.
def _audience_changed(code: str, **_) -> None:
    _changed({f"offer:{code}"})


def _articles_linked(code: str, *, before: list[int], after: list[int], **_) -> None:
    _changed({f"article:{article_id}" for article_id in set(before) | set(after)})


def _article_changed(article: KnowledgeArticle, **_) -> None:
    _changed({f"article:{article.id}"})


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
        elif (
            isinstance(obj, Category)
            and obj.id is not None
            and (obj in deleted or sa.inspect(obj).attrs.name.history.has_changes())
        ):
            keys.add(f"category:{obj.id}")


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: the transaction goes on
        return
    keys = session.info.pop(_CHANGES, None)
    if not keys or not has_app_context() or _job is None:
        return
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        return  # the database's search columns changed with the rows: no index to update
    try:
        _job(sorted(keys))
    except Exception:  # noqa: BLE001 - the commit stands: the next writer takes the keys
        log.warning(
            "Search index: could not enqueue %s; queued for the next write.",
            sorted(keys)[:10],
            exc_info=True,
        )
        if index_dir().is_dir():
            queue_keys(index_dir(), keys)


def _after_soft_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_CHANGES, None)


def install_listeners() -> None:
    """Keep the index current after every commit of the app's session (idempotent)."""
    catalog_signals.audience_changed.connect(_audience_changed)
    knowledge_signals.articles_linked.connect(_articles_linked)
    knowledge_signals.article_changed.connect(_article_changed)
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)
