"""Highlighting: hits marked in titles and snippets, rendered safely (everything escaped, then
<mark> around the hits). The index path marks with Whoosh's highlighter over the analysed terms;
the SQL fallback marks the words it looked for (marked_words)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape
from whoosh.highlight import ContextFragmenter, Formatter, WholeFragmenter, get_text, highlight

from .index.documents import plain_text
from .index.schema import ANALYZER
from .query import CONTROL, Word

MARK_START, MARK_END = "\x02", "\x03"


class _Marks(Formatter):
    """Marks hits with control characters; render_marked() escapes, then turns them into
    <mark>, so nothing from the text itself is ever rendered as HTML."""

    between = " … "

    def format_token(self, text, token, replace=False):
        return f"{MARK_START}{get_text(text, token, replace)}{MARK_END}"


def render_marked(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def clean(text: str | None) -> str:
    return CONTROL.sub(" ", text or "")


def shorten(text: str, limit: int = 200) -> str:
    text = plain_text(text)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def highlighted(text: str, terms: frozenset[str], *, whole: bool = False, top: int = 2) -> str:
    if not text or not terms:
        return ""
    fragmenter = WholeFragmenter() if whole else ContextFragmenter(maxchars=220, surround=60)
    return highlight(text, terms, ANALYZER, fragmenter, _Marks(), top=top, minscore=1)


def offer_snippets(stored: dict, row, terms: dict) -> tuple[Markup, Markup]:
    name = clean(row.name)
    title = highlighted(name, terms.get("name", frozenset()), whole=True)
    snippet = ""
    for fieldname in ("description", "summary"):
        snippet = highlighted(stored.get(fieldname, ""), terms.get(fieldname, frozenset()))
        if snippet:
            break
    if not snippet:
        snippet = shorten(row.summary or stored.get("description", ""))
    return render_marked(title or name), render_marked(snippet)


def marked_words(text: str, words: list[Word], limit: int = 220) -> str:
    """A window of the text around the first match, with every matching word marked."""
    text = plain_text(text)
    if not words:
        return shorten(text, limit)
    pattern = re.compile(
        r"\w*(?:" + "|".join(re.escape(word.needle) for word in words) + r")\w*", re.IGNORECASE
    )
    first = pattern.search(text)
    if first is None:
        return ""
    start = max(0, first.start() - 60)
    if start:
        start = text.find(" ", start) + 1 or start
    window = text[start : start + limit]
    marked = pattern.sub(lambda match: f"{MARK_START}{match.group(0)}{MARK_END}", window)
    return ("… " if start else "") + marked + (" …" if start + limit < len(text) else "")
