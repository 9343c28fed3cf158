"""The confirmation dialog in a real browser: an admin deactivates a user. The dialog opens
with the question, focus inside it; Cancel and Escape change nothing; the dialog's own button
deactivates. Without <dialog> support, window.confirm asks instead."""

import re

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.extensions import db
from tests.browser.confirmations import answer_confirmation
from tests.conftest import DEMO_PASSWORD, browser_login

pytestmark = pytest.mark.browser


def is_active(user_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(User, user_id).active


def deactivate_button(page, user):
    row = page.get_by_role("row").filter(has_text=user.email)
    return row.get_by_role("button", name="Deactivate")


def test_deactivating_a_user_asks_first(page, users):
    admin, target = users["admin"], users["other_consumer"]
    browser_login(page, admin.email, DEMO_PASSWORD)
    page.goto("/admin/users")

    # Cancel: nothing changes, focus goes back to the button.
    deactivate_button(page, target).click()
    dialog = page.get_by_role("dialog", name="Please confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Deactivate {target.name}? They can no longer log in")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    question = answer_confirmation(page, accept=False)
    assert question.startswith(f"Deactivate {target.name}?")
    expect(deactivate_button(page, target)).to_be_focused()
    assert page.url.endswith("/admin/users") and is_active(target.id)

    # Escape cancels too.
    deactivate_button(page, target).click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert is_active(target.id)

    # Confirm: the dialog's button is labelled as the action, and deactivates.
    deactivate_button(page, target).click()
    expect(dialog.get_by_role("button", name="Deactivate")).to_be_visible()
    answer_confirmation(page, accept=True)
    expect(
        page.get_by_text(re.compile(rf"{re.escape(target.email)} is deactivated"))
    ).to_be_visible()
    assert not is_active(target.id)
    row = page.get_by_role("row").filter(has_text=target.email)
    expect(row.get_by_role("button", name="Activate")).to_be_visible()
    # The dialog fits a small screen.
    page.set_viewport_size({"width": 390, "height": 844})
    deactivate_button(page, users["consumer"]).click()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    answer_confirmation(page, accept=False)
    assert is_active(users["consumer"].id)


def test_without_dialog_support_window_confirm_asks(page, users):
    admin, target = users["admin"], users["other_consumer"]
    page.add_init_script("HTMLDialogElement.prototype.showModal = undefined;")
    browser_login(page, admin.email, DEMO_PASSWORD)
    page.goto("/admin/users")
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    deactivate_button(page, target).click()
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    assert questions and questions[0].startswith(f"Deactivate {target.name}?")
    assert is_active(target.id)
    page.once("dialog", lambda dialog: dialog.accept())
    deactivate_button(page, target).click()
    expect(page.get_by_text(f"{target.email} is deactivated.")).to_be_visible()
    assert not is_active(target.id)
