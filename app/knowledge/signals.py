"""Knowledge's domain events, sent by its services inside their transaction, after the flush;
listeners (the search index) run in that same transaction."""

from __future__ import annotations

from blinker import Namespace

knowledge_events = Namespace()

# sender: the KnowledgeArticle just created with the published status, or changed to it.
article_published = knowledge_events.signal("article.published")
# sender: the KnowledgeArticle just created or changed (any status).
article_changed = knowledge_events.signal("article.changed")
# sender: the offer code; before= and after= the linked article ids (sorted lists).
articles_linked = knowledge_events.signal("offer.articles_linked")
