"""Every destructive action asks first, the same way: a scan of the templates finds each POST
button that deactivates, deletes, removes, revokes, retires, archives, ends, fails or cancels
(by its label, or by its "danger" style) and asserts that it, or its form, carries
data-confirm, which static/js/confirm.js turns into the confirmation dialog of base.html."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SCRIPTS = ROOT / "static" / "js"

DESTRUCTIVE_WORDS = re.compile(
    r"^(Deactivate|Delete|Remove|Revoke|Retire|Archive|End|Terminate|Cancel|Fail|Disable|"
    r"Reject|Withdraw|Purge|Reset|Unsubscribe)\b"
)
# Buttons that look destructive but change nothing stored, each with the reason.
NOT_DESTRUCTIVE = {
    # the editor's order-form and fulfillment-plan rows: removed from the unsaved form only
    # (apply_list_op, "without saving"); leaving the page or not saving keeps them
    ('value="remove:options:', "the editor's form row, not saved until Save"),
    ('value="remove:steps:', "the editor's plan row, not saved until Save"),
    # undoes a scheduled end: the subscription stays
    ("_('Cancel end')", "keeps the subscription"),
    ("_('Cancel the scheduled end')", "keeps the subscription"),
}
EXEMPT_MARKERS = tuple(marker for marker, _reason in NOT_DESTRUCTIVE)


@dataclass(frozen=True)
class Action:
    template: str
    line: int
    label: str
    confirmed: bool


def _labels(text: str) -> list[str]:
    return re.findall(r"""_\(\s*(['"])(.*?)\1""", text)


def _label_of(text: str) -> str:
    found = _labels(text)
    return found[0][1] if found else re.sub(r"\{\{.*?\}\}|<[^>]+>", "", text).strip()


def _is_destructive(markup: str, label: str) -> bool:
    if any(marker in markup for marker in EXEMPT_MARKERS):
        return False
    return bool(DESTRUCTIVE_WORDS.match(label)) or re.search(r"\bdanger\b", markup) is not None


def _call_args(source: str, start: int) -> str:
    """The argument text of the call whose "(" is at `start`, quotes and nesting respected."""
    depth, index, quote = 0, start, None
    while index < len(source):
        char = source[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return source[start + 1 : index]
        index += 1
    raise AssertionError("unbalanced post_button call")


def _top_level_args(args: str) -> list[str]:
    """The arguments of a call, split at the commas outside quotes, parentheses and braces."""
    parts, depth, quote, current = [], 0, None, ""
    for char in args:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    return [*parts, current.strip()] if current.strip() else parts


def _asks(args: str) -> bool:
    """post_button(action, label, cls, extra, confirm): a question by keyword or in 5th place."""
    parts = _top_level_args(args)
    if any(part.startswith("confirm=") for part in parts):
        return True
    positional = [part for part in parts if not re.match(r"^\w+=", part)]
    return len(positional) >= 5 and positional[4] != "None"


def post_button_actions(name: str, source: str) -> list[Action]:
    actions = []
    for found in re.finditer(r"post_button\(", source):
        if source[max(0, found.start() - 6) : found.start()].endswith("macro "):
            continue
        args = _call_args(source, found.end() - 1)
        labels = [text for _quote, text in _labels(args)]
        label = labels[0] if labels else ""
        if any(marker in args for marker in EXEMPT_MARKERS):
            continue
        if _is_destructive(args, label) or any(DESTRUCTIVE_WORDS.match(t) for t in labels[:2]):
            line = source[: found.start()].count("\n") + 1
            actions.append(Action(name, line, label, _asks(args)))
    return actions


def form_actions(name: str, source: str) -> list[Action]:
    actions = []
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", source, re.S):
        tag, body = form.group(1), form.group(2)
        if 'method="post"' not in tag or "{{ action }}" in tag:  # the post_button macro itself
            continue
        buttons = [
            (match.group(1), match.group(2))
            for match in re.finditer(r"<button\b([^>]*)>(.*?)</button>", body, re.S)
        ]
        # WTForms submit fields rendered as buttons: {{ form.end_now(class='button danger') }},
        # labelled here by their name ("End now")
        buttons += [
            (match.group(0), match.group(1).replace("_", " ").capitalize())
            for match in re.finditer(r"\{\{\s*\w+\.(\w+)\([^)]*class_?=[^)]*\)\s*\}\}", body)
        ]
        for markup, text in buttons:
            label = _label_of(text)
            if _is_destructive(markup, label):
                line = source[: form.start()].count("\n") + 1
                confirmed = "data-confirm=" in tag or "data-confirm=" in markup
                actions.append(Action(name, line, label or markup.strip(), confirmed))
    return actions


def destructive_actions() -> list[Action]:
    actions = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = str(path.relative_to(TEMPLATES))
        source = path.read_text(encoding="utf-8")
        actions += post_button_actions(name, source)
        actions += form_actions(name, source)
    return actions


def test_every_destructive_action_asks_first():
    unconfirmed = [action for action in destructive_actions() if not action.confirmed]
    assert unconfirmed == []


@pytest.mark.parametrize(
    ("template", "label"),
    [
        ("admin/users.html", "Deactivate"),
        ("catalog/products.html", "Mark %(status)s"),  # "Mark retired" on a release
        ("admin/groups.html", "Delete"),
        ("accounts/_tokens.html", "Revoke"),
        ("catalog/categories.html", "Archive"),
        ("catalog/editor.html", "Retire offer"),
        ("integrations/index.html", "Delete"),
        ("integrations/webhooks.html", "Delete"),
        ("subscriptions/queue.html", "Fail task"),
    ],
)
def test_the_scan_finds_the_known_destructive_actions(template, label):
    found = [action for action in destructive_actions() if action.template == template]
    assert any(action.label == label and action.confirmed for action in found), found


def test_the_scan_finds_wtforms_buttons_and_button_level_questions():
    ending = [a for a in destructive_actions() if a.template == "subscriptions/terminate.html"]
    assert [(action.label, action.confirmed) for action in ending] == [
        ("End now", True),
        ("End at", True),
    ]
    editor = [a for a in destructive_actions() if a.template == "catalog/editor.html"]
    bundle = [action for action in editor if action.label != "Retire offer"]
    assert len(bundle) == 1 and bundle[0].confirmed  # Remove a bundle member: on its button
    source = (TEMPLATES / "catalog/editor.html").read_text(encoding="utf-8")
    assert "data-confirm=\"{{ _('Remove %(code)s from the bundle?'" in source


def test_the_scan_flags_a_destructive_button_without_a_question():
    form = (
        '<form method="post" action="/x">'
        '<button class="button danger" type="submit">{{ _(\'Delete\') }}</button></form>'
    )
    assert form_actions("sample.html", form) == [Action("sample.html", 1, "Delete", False)]
    call = "{{ post_button('/x', _('Revoke'), 'button small') }}"
    assert post_button_actions("sample.html", call) == [Action("sample.html", 1, "Revoke", False)]
    asked = "{{ post_button('/x', _('Revoke'), 'button small', confirm=_('Revoke it?')) }}"
    assert post_button_actions("sample.html", asked)[0].confirmed
    in_fifth_place = "{{ post_button('/x', _('Delete'), 'button danger', None, _('Delete it?')) }}"
    assert post_button_actions("sample.html", in_fifth_place)[0].confirmed
    unasked = "{{ post_button('/x', _('Delete'), 'button danger', {'a': '1, 2'}, None) }}"
    assert not post_button_actions("sample.html", unasked)[0].confirmed


def test_there_is_one_way_to_ask():
    """confirm.js is the only script that asks, and every page loads it with the dialog."""
    for script in SCRIPTS.glob("*.js"):
        if script.name == "confirm.js":
            continue
        text = script.read_text(encoding="utf-8")
        assert "confirm(" not in text and "data-confirm" not in text.replace(
            "(data-confirm)", ""
        ), script.name
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"on(click|submit)=", text), path
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert "js/confirm.js" in base and '<dialog id="confirm-dialog"' in base
    assert 'aria-labelledby="confirm-dialog-title"' in base


def test_pages_carry_the_dialog_and_the_question(client_as):
    page = client_as("admin").get("/admin/users").get_data(as_text=True)
    assert '<dialog id="confirm-dialog"' in page
    assert 'src="/static/js/confirm.js"' in page
    assert re.search(r'data-confirm="Deactivate [^"]+\? They can no longer log in', page)
