"""The index's one-pass analysis (app/search/index/analysis.py) gives the terms, frequencies,
weights and spelling words Whoosh's own StemmingAnalyzer gives, on every kind of text; and
plain_text() skips the substitutions a text cannot match without changing what it gives."""

import re

import pytest
from whoosh import fields

from app.search.index.analysis import ANALYZER, AnalysedText
from app.search.index.documents import _CONTROL, _MD_LINK, _MD_MARKS, plain_text

TEXTS = [
    "",
    "VPN access",
    "Connect securely from anywhere. Enterprise gateway, the Enterprise way.",
    "Backups, monitoring and upgrades: v1.2.3 end. *star* a I to it",
    "İstanbul Straße ÉCOLE naïve café — ÅNGSTRÖM 42 x y zz",
    "tabs\tand\nnewlines   and    running runs ran runner",
    "code_words WITH_UNDERSCORE db-managed 100% _lead trail_",
]


@pytest.mark.parametrize("text", TEXTS)
def test_one_pass_analysis_equals_whoosh(text):
    whoosh_field = fields.TEXT(analyzer=ANALYZER, phrase=False, spelling=True)
    ours = AnalysedText()
    assert sorted(ours.index(text)) == sorted(whoosh_field.index(text))
    assert list(ours.spellable_words(text)) == list(whoosh_field.spellable_words(text))


def _plain_text_by_regex(text):
    """plain_text() as it was written first: four substitutions on every text."""
    text = _CONTROL.sub(" ", text or "")
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


MARKDOWN = [
    None,
    "",
    "Plain words and a full stop.",
    "# Title\n\n## Sub *bold* _it_ `code` ~strike~ | table |",
    "1. first\n2. second\n- dash\n+ plus\n* star\n> quote",
    "\u0663. Arabic-Indic digit item\n\u00b2. superscript two",
    "Version v1.2.3 costs 9.50 EUR; .5 and 5. and a.b",
    "[a link](https://example.org) and ![an image](x.png) [unclosed](",
    "tabs\tand\nnew\r\nlines\x0b\x0c\x1c\x1d and\u00a0nbsp\u2003em\u3000ideographic ",
    "control\x00chars\x07here\x7f",
    "db-managed OFF-0001 under_score",
]


@pytest.mark.parametrize("text", MARKDOWN)
def test_plain_text_equals_the_four_substitutions(text):
    assert plain_text(text) == _plain_text_by_regex(text)
