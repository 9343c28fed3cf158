"""Every user-facing string of every template goes through gettext."""

from __future__ import annotations

from pathlib import Path

import pytest

from .template_text import untranslated

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ALL = sorted(path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("name", ALL)
def test_template_has_no_text_outside_gettext(name):
    assert untranslated((TEMPLATES / name).read_text()) == []


def test_the_check_finds_text_attributes_and_macro_labels_outside_gettext():
    source = (
        "<h1>Your orders</h1>\n"
        '<button type="submit" title="Close the form">{{ _("Close") }}</button>\n'
        '<input type="submit" value="Send">\n'
        "{{ empty('No orders yet.') }}\n"
        "<p>{{ count }} items</p>\n"
    )
    assert untranslated(source) == [
        "Your orders",
        '<button title="Close the form">',
        '<input value="Send">',
        "… items",
        "'No orders yet.'",
    ]


def test_the_check_accepts_gettext_trans_blocks_code_and_brand_names():
    source = (
        "{% block title %}Offerdesk{% endblock %}\n"
        "<h1>{{ _('Your orders') }}</h1>\n"
        "{% trans count=n %}{{ count }} orders{% endtrans %}\n"
        "<code>curl -H 'Authorization: Bearer'</code>\n"
        "{{ empty(_('No orders yet.')) }}\n"
        '<a class="button small" href="{{ url_for(\'catalog.browse\') }}">→ {{ offer.name }}</a>\n'
        "<p>{{ when|datetime('%Y-%m-%d') }} UTC</p>\n"
    )
    assert untranslated(source) == []
