"""Finds user-facing text in a Jinja template that does not go through gettext.

The template is split with Jinja's own lexer; every `{{ }}`/`{% %}` becomes a placeholder
without letters, and the rest is read as HTML: a text node, or an attribute people read or hear
(title, placeholder, aria-label, alt, label, a submit input's value, data-confirm), that still has
letters outside the placeholders is untranslated. Text inside `{% trans %}` is translated; so is
a string literal right after `_(`. A string literal elsewhere that reads like words (a capital
and then small letters, or words ending in a full stop) is reported too: it is the label of a
macro call such as `empty('No offers.')`."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from jinja2 import Environment

# Brand and unit names that read the same in every language.
ALLOWED = {
    "Offerdesk",
    "UTC",
    "OpenID Connect",
    "OpenAPI",
    "API",
    "JSON",
    "CSV",
    "YAML",
    "AWX",
    "KPI",
    "SLA",
}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "data-confirm"}
PLACEHOLDER = "\u2063"  # an invisible separator: no letters
LETTERS = re.compile(r"[^\W\d_]")
WORDS = re.compile(r"^[A-Z][a-z]|[a-z]\s+[a-z].*[.:?!]$")
IDENTIFIER = re.compile(r"^[A-Z][a-z]+[A-Z]\w*$")  # a class name such as 'BooleanField'

GETTEXT_CALLS = {"_", "gettext", "ngettext", "_l", "pgettext"}
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "svg"}

_environment = Environment(extensions=["jinja2.ext.i18n"])


def _reads_as_words(text: str) -> bool:
    text = " ".join(text.replace(PLACEHOLDER, " ").split())
    if not LETTERS.search(text):
        return False
    for allowed in sorted(ALLOWED, key=len, reverse=True):
        text = text.replace(allowed, " ")
    return bool(LETTERS.search(text))


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self.skipping.append(tag)
        attributes = dict(attrs)
        for name, value in attrs:
            read = name in READ_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and attributes.get("type") in ("submit", "button", "reset")
            )
            if read and value and _reads_as_words(value):
                self.found.append(f'<{tag} {name}="{value.replace(PLACEHOLDER, "…")}">')

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping and _reads_as_words(data):
            self.found.append(" ".join(data.replace(PLACEHOLDER, "…").split()))


def untranslated(source: str) -> list[str]:
    """The untranslated texts of one template, in order."""
    html: list[str] = []
    found: list[str] = []
    in_trans = False
    previous: list[str] = []  # the last names and operators inside the current tag
    tokens = [token for token in _environment.lex(source) if token[1] != "whitespace"]
    for index, (_lineno, kind, value) in enumerate(tokens):
        if kind == "data":
            html.append(PLACEHOLDER if in_trans else value)
            continue
        html.append(PLACEHOLDER if kind.endswith("_begin") else "")
        if kind == "name" and value == "trans" and tokens[index - 1][1] == "block_begin":
            in_trans = True
        elif kind == "name" and value == "endtrans":
            in_trans = False
        elif kind == "string":
            value = value[1:-1]
            called = previous[-2:] if len(previous) >= 2 else []
            is_gettext = len(called) == 2 and called[1] == "(" and called[0] in GETTEXT_CALLS
            is_gettext = is_gettext or previous[-4:] == ["ngettext", "(", "string", ","]
            if (
                not is_gettext
                and not in_trans
                and WORDS.search(value)
                and not IDENTIFIER.match(value)
                and _reads_as_words(value)
            ):
                found.append(repr(value))
        if kind in ("name", "operator"):
            previous.append(value)
        elif kind.endswith("_end"):
            previous = []
        else:
            previous.append(kind)
    reader = _Reader()
    # a tag whose name is a variable (<{{ heading }}>) is still a tag
    markup = (
        "".join(html).replace("</" + PLACEHOLDER, "</x-tag").replace("<" + PLACEHOLDER, "<x-tag")
    )
    reader.feed(markup)
    reader.close()
    return reader.found + found
