"""Markdown rendered to HTML and sanitised, so authors can format but never inject."""

from functools import lru_cache

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"}}


CACHED_LENGTH = 20_000  # longer texts are rendered each time: the cache stays a few MB


def render_markdown(text: str | None) -> Markup:
    text = str(text or "")  # a lazy text: its words in the request's language
    return _rendered(text) if len(text) <= CACHED_LENGTH else _rendered.__wrapped__(text)


# The HTML is a function of the text alone, and an offer page renders the same description,
# terms and articles on every request: a Markdown parser built and run each time was a fifth
# of that page's time.
@lru_cache(maxsize=512)
def _rendered(text: str) -> Markup:
    html = md.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above
