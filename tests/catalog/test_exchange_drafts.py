"""Catalog import against an offer with an unfinished revision: the dry run says which revision
the import writes, every transition and every notification; a draft with changes of its own is
never overwritten; an import whose outcome differs from its dry run is refused."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.catalog.exchange import export_catalog, import_catalog
from app.errors import ValidationFailed
from app.extensions import db
from app.notifications.models import Notification


def notifications() -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)))


def draft_with_changes(manager) -> tuple:
    """VPN-ACCESS: revision 1 published at 7.50, revision 2 a draft at 8.20 with new terms."""
    live = catalog.live_revision("VPN-ACCESS")
    draft = catalog.create_revision(manager, live.id)
    catalog.update_offer(
        manager,
        draft.id,
        {"price": "8.20", "terms": "New terms: two devices."},
        expected_version=None,
    )
    db.session.commit()
    return live, draft


def test_import_refuses_to_overwrite_a_draft_with_changes_of_its_own(make_offer, users):
    make_offer("VPN-ACCESS")
    live, draft = draft_with_changes(users["catalog_manager"])
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    told = notifications()
    for dry_run in (True, False):
        with pytest.raises(ValidationFailed) as failure:
            import_catalog(SYSTEM, document, dry_run=dry_run)
        assert failure.value.fields["offers[0].revision"] == [
            "VPN-ACCESS has an unfinished revision 2 (draft) with changes of its own to price, "
            "terms that this file does not have (it describes revision 1); importing would "
            "overwrite them. Publish or discard revision 2 in the editor and export again, or "
            "write its changes into the file."
        ]
    db.session.expire_all()
    assert [(r.revision, r.status) for r in catalog.revisions_of("VPN-ACCESS")] == [
        (1, "published"),
        (2, "draft"),
    ]
    kept = db.session.get(type(draft), draft.id)
    assert (str(kept.price), kept.terms) == ("8.20", "New terms: two devices.")
    assert catalog.live_revision("VPN-ACCESS").summary == "Remote access to the corporate network."
    assert notifications() == told


def test_a_file_that_leaves_the_offer_as_it_is_leaves_the_draft_alone(make_offer, users):
    make_offer("VPN-ACCESS")
    draft_with_changes(users["catalog_manager"])
    report = import_catalog(SYSTEM, export_catalog(SYSTEM))
    assert report["offers"][0]["action"] == "unchanged"
    draft = catalog.draft_revision("VPN-ACCESS")
    assert (draft.revision, str(draft.price)) == (2, "8.20")


def test_dry_run_names_the_revision_the_transitions_and_the_notifications(make_offer, users):
    make_offer("VPN-ACCESS", group_ids=[users["consumer"].groups[0].id])
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    dry = import_catalog(SYSTEM, document, dry_run=True)
    [line] = dry["offers"]
    assert line["revision"] == "new revision 2 of published revision 1"
    assert line["transitions"] == [
        "revision 2: draft → planned",
        "revision 2: planned → ready",
        "revision 2: ready → published",
        "revision 1: published → superseded",
    ]
    assert line["notifications"] == [{"subject": "Changed: VPN access", "recipients": 1}]
    assert dry["lines"][:7] == [
        "would update VPN-ACCESS: summary",
        "    summary: Remote access to the corporate network. → Now with zero trust.",
        "    writes new revision 2 of published revision 1",
        "    revision 2: draft → planned",
        "    revision 2: planned → ready",
        "    revision 2: ready → published",
        "    revision 1: published → superseded",
    ]
    assert dry["lines"][7] == "    notifies 1 person (in-app and e-mail): Changed: VPN access"
    done = import_catalog(SYSTEM, document, expected=dry["fingerprint"])
    assert [(k, done["offers"][0][k]) for k in ("revision", "transitions", "notifications")] == [
        (k, line[k]) for k in ("revision", "transitions", "notifications")
    ]
    assert [(r.revision, r.status) for r in catalog.revisions_of("VPN-ACCESS")] == [
        (1, "superseded"),
        (2, "published"),
    ]


def test_an_untouched_draft_is_the_revision_the_import_publishes(make_offer, users):
    make_offer("VPN-ACCESS")
    live = catalog.live_revision("VPN-ACCESS")
    catalog.create_revision(users["catalog_manager"], live.id)
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    report = import_catalog(SYSTEM, document)
    assert report["offers"][0]["revision"] == "draft revision 2, edited"
    assert [(r.revision, r.status, r.summary) for r in catalog.revisions_of("VPN-ACCESS")] == [
        (1, "superseded", "Remote access to the corporate network."),
        (2, "published", "Now with zero trust."),
    ]


def test_a_file_that_describes_the_draft_publishes_it(make_offer, users):
    make_offer("VPN-ACCESS")
    _live, draft = draft_with_changes(users["catalog_manager"])
    document = export_catalog(SYSTEM)
    document["offers"][0].update(price="8.20", terms="New terms: two devices.")
    report = import_catalog(SYSTEM, document, dry_run=True)
    assert report["offers"][0]["revision"] == "draft revision 2, as it is"
    assert report["offers"][0]["transitions"][-2:] == [
        "revision 2: ready → published",
        "revision 1: published → superseded",
    ]


def test_an_import_that_would_differ_from_its_dry_run_is_refused(make_offer, users):
    make_offer("VPN-ACCESS")
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    dry = import_catalog(SYSTEM, document, dry_run=True)
    draft_with_changes(users["catalog_manager"])  # someone starts a revision in between
    document["offers"][0].update(price="8.20", terms="New terms: two devices.")
    with pytest.raises(ValidationFailed) as failure:
        import_catalog(SYSTEM, document, expected=dry["fingerprint"])
    assert failure.value.fields == {
        "file": [
            "The import would now do something other than the dry run showed (the catalog "
            "or the file changed since). Nothing was imported: run the dry run again."
        ]
    }
    assert catalog.live_revision("VPN-ACCESS").revision == 1


# --- the import page -------------------------------------------------------------------------


def test_import_page_checks_then_imports_exactly_as_checked(make_offer, client_as):
    make_offer("VPN-ACCESS")
    client = client_as("catalog_manager")
    text = client.get("/catalog/manage/catalog.yaml").get_data(as_text=True)
    text = text.replace("Remote access to the corporate network.", "Now with zero trust.")
    checked = client.post("/catalog/manage/import", data={"document": text, "op": "check"})
    assert checked.status_code == 200
    page = checked.get_data(as_text=True)
    assert "What the import will do" in page
    assert "new revision 2 of published revision 1" in page
    assert "revision 1: published → superseded" in page
    assert catalog.live_revision("VPN-ACCESS").revision == 1
    fingerprint = re.search(r'name="expected" value="([0-9a-f]+)"', page).group(1)
    refused = client.post("/catalog/manage/import", data={"document": text, "op": "import"})
    assert refused.status_code == 422
    assert "Check the file first" in refused.get_data(as_text=True)
    done = client.post(
        "/catalog/manage/import",
        data={"document": text, "op": "import", "expected": fingerprint},
    )
    assert done.status_code == 200
    assert "The catalog file was imported as checked." in done.get_data(as_text=True)
    db.session.expire_all()
    assert catalog.live_revision("VPN-ACCESS").summary == "Now with zero trust."


def test_import_page_is_for_catalog_managers(client_as):
    response = client_as("consumer").get("/catalog/manage/import")
    assert response.status_code == 403


def test_an_import_keeps_the_price_in_force_when_the_file_leaves_the_price(make_offer, users):
    """The file carries the offer's base price and its price history; a new revision starts
    from the price in force, and the import does not turn it back into the base price."""
    make_offer("VPN-ACCESS")
    catalog.add_price_change(
        users["catalog_manager"],
        "VPN-ACCESS",
        price="9.00",
        effective_from="2000-01-01",
        confirm_backdated=True,
    )
    document = export_catalog(SYSTEM)
    document["offers"][0]["summary"] = "Now with zero trust."
    report = import_catalog(SYSTEM, document)
    assert report["offers"][0]["revision"] == "new revision 2 of published revision 1"
    live = catalog.live_revision("VPN-ACCESS")
    assert (live.revision, str(catalog.current_price(live)[0])) == (2, "9.00")
    assert [str(c.price) for c in catalog.price_history("VPN-ACCESS")] == ["9.00"]
    assert import_catalog(SYSTEM, export_catalog(SYSTEM))["summary"]["unchanged"] == 1
