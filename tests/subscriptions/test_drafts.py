"""Saved drafts of an order form: saved without checking required fields, only the form's shown
fields kept; listed under Drafts on My subscriptions; resumed pre-filled, with what no longer
applies after the offer's form changed; deleted; ordering from a resumed draft deletes it; and
someone else's draft is not found."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.errors import NotFound
from app.extensions import db
from app.subscriptions.models import OrderDraft, Subscription
from app.subscriptions.services import drafts
from tests.vm_options import VM_OPTIONS


@pytest.fixture
def vm(make_offer):
    return make_offer("VM-TEST", options=VM_OPTIONS)


def _form_address(consumer, offer_id: int, draft_id: int | None = None) -> str:
    query = f"offer={offer_id}" + (f"&draft={draft_id}" if draft_id else "")
    opened = consumer.get(f"/subscriptions/new?{query}")
    assert opened.status_code == 302
    return opened.headers["Location"]


def _change_form(offer, options: list[dict]) -> None:
    offer.options = options
    db.session.commit()


# --- the service ------------------------------------------------------------------------------


def test_a_draft_keeps_known_shown_fields_without_checking_required_ones(users, vm):
    draft = drafts.save(
        users["consumer"],
        vm,
        {"region": "eu-west", "gpu": False, "gpu_model": "A100", "colour": "red"},
    )
    assert draft.values == {
        "options": {"region": "eu-west", "gpu": False},
        "labels": {"region": "Region", "gpu": "GPU"},
    }
    assert [d.id for d in drafts.drafts_of(users["consumer"])] == [draft.id]
    assert drafts.drafts_of(users["other_consumer"]) == []


def test_resuming_after_the_form_changed_keeps_what_still_applies(users, vm):
    draft = drafts.save(
        users["consumer"],
        vm,
        {"region": "eu-west", "data_centre": "Dublin 2", "memory_gb": "32", "gpu": True},
    )
    changed = [dict(option) for option in VM_OPTIONS if option["key"] != "gpu"]
    changed[1]["choice_map"] = {"eu-west": ["Dublin 1"], "eu-north": ["Stockholm 1"]}
    _change_form(vm, changed)
    kept, stale = drafts.resumed(draft, vm)
    assert kept == {"region": "eu-west", "memory_gb": "32"}
    assert stale == [
        "Data centre: “Dublin 2” is no longer offered.",
        "GPU: this field is no longer on the form.",
    ]


def test_resuming_names_values_a_changed_condition_hides_or_a_changed_limit_refuses(
    make_offer, users
):
    disk = {"key": "disk_gb", "label": "Disk (GB)", "type": "number", "min": 20, "max": 500}
    offer = make_offer("VM-DISK", options=[*VM_OPTIONS, disk])
    draft = drafts.save(
        users["consumer"],
        offer,
        {"region": "eu-west", "gpu": True, "gpu_model": "A100", "disk_gb": "400"},
    )
    assert draft.values["options"]["gpu_model"] == "A100"
    changed = [dict(option) for option in VM_OPTIONS]
    changed[4]["visible_when"] = {"field": "region", "equals": "eu-north"}
    changed[4]["required_when"] = None
    _change_form(offer, [*changed, dict(disk, max=200)])
    kept, stale = drafts.resumed(draft, offer)
    assert kept == {"region": "eu-west", "gpu": True}
    assert stale == [
        "GPU model: no longer applies with your other choices.",
        "Disk (GB): “400” is no longer accepted.",
    ]


def test_someone_elses_draft_is_not_found(users, vm):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west"})
    with pytest.raises(NotFound):
        drafts.draft_for(users["other_consumer"], draft.id)
    with pytest.raises(NotFound):
        drafts.discard(users["other_consumer"], draft.id)


# --- the pages --------------------------------------------------------------------------------


def test_save_as_draft_lists_it_and_resuming_fills_the_form(client_as, users, vm):
    consumer = client_as("consumer")
    address = _form_address(consumer, vm.id)
    assert "Save as draft" in consumer.get(address).get_data(as_text=True)
    saved = consumer.post(
        address,
        data={"option_region": "eu-north", "option_memory_gb": "16", "save_draft": "1"},
    )
    assert saved.status_code == 302 and saved.headers["Location"] == "/subscriptions#drafts"
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    draft = db.session.scalars(sa.select(OrderDraft)).one()
    assert draft.user_id == users["consumer"].id
    assert draft.values["options"] == {"region": "eu-north", "memory_gb": "16", "gpu": False}

    mine = consumer.get("/subscriptions").get_data(as_text=True)
    assert 'data-testid="draft-row"' in mine and f"<strong>{vm.name}</strong>" in mine
    resume = f"/subscriptions/new?offer={vm.id}&amp;draft={draft.id}"
    assert resume in mine
    assert f'action="/subscriptions/drafts/{draft.id}/delete"' in mine
    assert f'data-confirm="Delete this draft of {vm.name}?"' in mine

    page = consumer.get(_form_address(consumer, vm.id, draft.id)).get_data(as_text=True)
    assert 'data-testid="resumed-draft"' in page
    assert re.search(r'<option selected value="eu-north">', page)
    assert re.search(r'<option selected value="16">', page)
    assert 'data-testid="stale-values"' not in page

    resumed = _form_address(consumer, vm.id, draft.id)
    again = consumer.post(
        resumed, data={"option_region": "eu-west", "option_memory_gb": "32", "save_draft": "1"}
    )
    assert again.status_code == 302  # saving a resumed draft updates it
    db.session.expire_all()
    assert [d.values["options"] for d in db.session.scalars(sa.select(OrderDraft))] == [
        {"region": "eu-west", "memory_gb": "32", "gpu": False}
    ]


def test_a_resumed_draft_says_what_no_longer_applies(client_as, users, vm):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west", "memory_gb": "32"})
    db.session.commit()
    changed = [dict(option) for option in VM_OPTIONS]
    changed[2]["choices"] = ["8", "16"]
    changed[2]["prices"] = {"16": {"monthly": "5.00"}}
    _change_form(vm, changed)
    consumer = client_as("consumer")
    page = consumer.get(_form_address(consumer, vm.id, draft.id)).get_data(as_text=True)
    assert "Memory (GB): “32” is no longer offered." in page
    assert re.search(r'<option selected value="eu-west">', page)


def test_ordering_from_a_resumed_draft_deletes_it(client_as, users, vm):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west"})
    db.session.commit()
    consumer = client_as("consumer")
    address = _form_address(consumer, vm.id, draft.id)
    assert f"draft={draft.id}" in address
    ordered = consumer.post(
        address,
        data={
            "option_region": "eu-west",
            "option_data_centre": "Dublin 1",
            "option_memory_gb": "8",
            "accept_terms": "y",
            "idempotency_key": parse_qs(urlsplit(address).query)["form"][0],
        },
    )
    assert ordered.status_code == 302, ordered.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(OrderDraft.id))) == 0


def test_deleting_a_draft_and_someone_elses_draft_is_404(client_as, users, vm, make_offer):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west"})
    db.session.commit()
    other = client_as("other_consumer")
    assert other.get(f"/subscriptions/new?offer={vm.id}&draft={draft.id}").status_code == 404
    assert other.post(f"/subscriptions/drafts/{draft.id}/delete").status_code == 404
    consumer = client_as("consumer")
    elsewhere = make_offer("VPN-ACCESS")  # a draft resumed on another offer's form: not found
    assert (
        consumer.get(f"/subscriptions/new?offer={elsewhere.id}&draft={draft.id}").status_code == 404
    )
    deleted = consumer.post(f"/subscriptions/drafts/{draft.id}/delete")
    assert deleted.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(OrderDraft.id))) == 0
    assert 'data-testid="drafts"' not in consumer.get("/subscriptions").get_data(as_text=True)


def test_saving_or_deleting_a_draft_without_the_csrf_token_is_refused(app, client_as, users, vm):
    draft = drafts.save(users["consumer"], vm, {"region": "eu-west"})
    db.session.commit()
    consumer = client_as("consumer")
    address = _form_address(consumer, vm.id)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        saved = consumer.post(address, data={"option_region": "eu-north", "save_draft": "1"})
        assert saved.status_code == 400
        assert consumer.post(f"/subscriptions/drafts/{draft.id}/delete").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert [d.values["options"] for d in db.session.scalars(sa.select(OrderDraft))] == [
        {"region": "eu-west"}
    ]
