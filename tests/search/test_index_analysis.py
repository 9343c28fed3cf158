"""The index's one-pass analysis (app/search/index/analysis.py) gives the terms, frequencies,
weights and spelling words Whoosh's own StemmingAnalyzer gives, on every kind of text."""

import pytest
from whoosh import fields

from app.search.index.analysis import ANALYZER, AnalysedText

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
