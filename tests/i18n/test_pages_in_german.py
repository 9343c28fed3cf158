"""Every HTML page of the demo world, asked for in German by each role, is German: `lang="de"`
and none of a list of English interface words in its text. Catches what the template check
cannot: labels and messages that reach a page from Python (forms, services, presenters)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import login
from tests.platform.test_get_routes_read_only import (  # the read-only walk's demo world
    WALKERS,
    _walker,
    build_url,
    demo_world,  # noqa: F401 - a fixture
    get_rules,
)

# Interface words that German pages never show (data such as offer names may be English; these
# words do not occur in the demo data as whole words).
ENGLISH = re.compile(
    r"\b(Log out|Skip to content|Find offers|My subscriptions|Service levels|"
    r"Terms and conditions|Save|Cancel|Delete|Search|Status of|Your account|Subscriptions|"
    r"Price|Priority|Created|Updated|Description|Actions|Next|Page \d+ of|in all|no data|"
    r"Nothing|No \w+ yet|Choose|Enter|Show|Apply|Clear|Back to|Welcome|"
    r"Yearly|One-time|Critical|High|Low|left|late|ago|since|until)\b"
)


class _Text(HTMLParser):
    """The page's visible text (not scripts, styles or code)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "code", "pre", "textarea")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "code", "pre", "textarea") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


@pytest.mark.parametrize("role", [role for role in WALKERS if role != "anonymous"])
def test_every_page_is_german_for_a_german_user(app, demo_world, role):  # noqa: F811
    client = login(app.test_client(), _walker(role))
    problems = []
    for rule in get_rules(app):
        if rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        url = build_url(app, rule, demo_world["ids"])
        response = client.get(url, headers={"Accept-Language": "de"})
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        html = response.get_data(as_text=True)
        if '<html lang="de">' not in html:
            problems.append(f"{url}: not lang=de")
            continue
        words = sorted(set(ENGLISH.findall(visible_text(html))))
        if words:
            problems.append(f"{url}: {words}")
    assert problems == []
