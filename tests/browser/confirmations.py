"""Answering the confirmation dialog that every destructive action opens (static/js/confirm.js,
the <dialog id="confirm-dialog"> of base.html), for browser tests that click such buttons."""

from __future__ import annotations

from playwright.sync_api import expect


def answer_confirmation(page, accept: bool = True) -> str:
    """Wait for the confirmation dialog, check that focus is inside it, confirm (or cancel) it,
    and return its question. Works in any language: the buttons are found by their role in
    the dialog, not by their words."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    assert page.evaluate(
        "document.getElementById('confirm-dialog').contains(document.activeElement)"
    ), "focus moves into the dialog"
    question = dialog.locator("[data-confirm-text]").inner_text()
    dialog.locator("[data-confirm-accept]" if accept else "[data-confirm-cancel]").click()
    expect(dialog).to_be_hidden()
    return question
