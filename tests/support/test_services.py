"""Provide Service Support rules, through the services, on a real database."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app import clock, storage, unit_of_work
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.knowledge import services as knowledge
from app.notifications.models import Notification
from app.subscriptions import services as subs
from app.subscriptions.models import Subscription
from app.support import services as support
from app.support.models import (
    Attachment,
    Deflection,
    RequestMessage,
    SupportRequest,
)
from tests.conftest import module_world
from tests.support.conftest import upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@module_world
def product(users):
    return catalog.save_product(users["product_manager"], name="Remote Access Platform")


@pytest.fixture
def open_request(active_subscription, users):
    """open_request(**overrides) → a new request by the Finance consumer on the VPN subscription."""

    def factory(**overrides):
        data = {
            "request_type": "issue",
            "priority": "high",
            "subject": "Cannot connect",
            "description": "Timeout at login.",
        }
        data.update(overrides)
        return support.open_request(users["consumer"], active_subscription.id, **data)

    return factory


def notifications_of(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)))


def thread_text(user, request) -> str:
    return " ".join(message.body for message in support.messages_for(user, request))


# --- who may ask, on what ------------------------------------------------------------------------


def test_consumer_of_the_group_opens_a_request_with_targets_from_the_contract(open_request, agents):
    request = open_request()
    assert request.status == "new" and request.tier == 1 and request.version == 1
    assert (request.response_target_hours, request.resolution_target_hours) == (4.0, 8.0)
    assert request.business_hours_only is True
    # Tier-1 agents hear of it.
    assert any("New high request" in n.subject for n in notifications_of(agents[1]))


def test_consumer_of_another_group_cannot_open_a_request_on_the_subscription(
    active_subscription, users
):
    with pytest.raises(NotFound):
        support.open_request(
            users["other_consumer"],
            active_subscription.id,
            request_type="question",
            priority="low",
            subject="Hi",
            description="?",
        )
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


@pytest.mark.parametrize("role", ["support_agent", "catalog_manager", "product_manager", "admin"])
def test_only_consumers_open_requests(active_subscription, users, role):
    with pytest.raises(NotAllowed):
        support.open_request(
            users[role],
            active_subscription.id,
            request_type="question",
            priority="low",
            subject="Hi",
            description="?",
        )


@pytest.mark.parametrize("subscription_id", [None, "", "abc", "1.5x"])
def test_a_missing_or_malformed_subscription_is_a_field_error(
    active_subscription, users, subscription_id
):
    with pytest.raises(ValidationFailed) as error:
        support.open_request(
            users["consumer"],
            subscription_id,
            request_type="question",
            priority="low",
            subject="Hi",
            description="?",
        )
    assert "subscription_id" in error.value.fields


def test_no_request_on_a_terminated_subscription(active_subscription, users, agents):
    end, _ = subs.terminate(users["consumer"], active_subscription.id, idempotency_key="end")
    subs.transition_task(agents[1], end.tasks[0].id, "complete")
    assert db.session.get(Subscription, active_subscription.id).status == "terminated"
    with pytest.raises(ValidationFailed) as error:
        support.open_request(
            users["consumer"],
            active_subscription.id,
            request_type="issue",
            priority="low",
            subject="Still broken",
            description="?",
        )
    assert "terminated" in error.value.fields["subscription_id"][0]
    assert support.requestable_subscriptions(users["consumer"]) == []


def test_requestable_subscriptions_are_the_groups_open_ones(active_subscription, users):
    assert [s.id for s in support.requestable_subscriptions(users["consumer"])] == [
        active_subscription.id
    ]
    assert support.requestable_subscriptions(users["other_consumer"]) == []
    assert support.requestable_subscriptions(users["support_agent"]) == []


def test_every_field_problem_is_reported_in_one_pass(active_subscription, users):
    with pytest.raises(ValidationFailed) as error:
        support.open_request(
            users["consumer"],
            active_subscription.id,
            request_type="rant",
            priority="urgent",
            subject="",
            description="x" * 20_001,
            files=[upload("virus.exe", b"MZ")],
        )
    assert set(error.value.fields) == {
        "request_type",
        "priority",
        "subject",
        "description",
        "attachments",
    }


@pytest.mark.parametrize("subject", [["a list"], 42, {"a": 1}])
def test_wrong_types_are_field_errors(active_subscription, users, subject):
    with pytest.raises(ValidationFailed) as error:
        support.open_request(
            users["consumer"],
            active_subscription.id,
            request_type="issue",
            priority="low",
            subject=subject,
            description="?",
        )
    assert error.value.fields["subject"] == ["Enter text."]


def test_unicode_text_is_kept_as_typed(open_request, users):
    request = open_request(subject="VPN bricht ab — 接続できません 🙁", description="Ünïcödé ✓")
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).subject == "VPN bricht ab — 接続できません 🙁"


# --- attachments ---------------------------------------------------------------------------------


def test_attachment_is_stored_outside_the_web_root_and_served_only_to_those_who_see_the_request(
    app, open_request, users, agents
):
    request = open_request(
        files=[upload("screen.png", PNG), upload("log.txt", b"line 1\nline 2\n")]
    )
    files = support.attachments_for(users["consumer"], request)
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("screen.png", "image/png", len(PNG)),
        ("log.txt", "text/plain", 14),
    ]
    attachment, stream = support.attachment_for(users["consumer"], files[0].id)
    with stream:
        assert stream.read() == PNG
    path = storage.current().path_for(attachment.stored_name)
    assert path.read_bytes() == PNG
    assert Path(app.config["UPLOAD_DIR"]).resolve() in path.resolve().parents
    assert Path(app.static_folder).resolve() not in path.resolve().parents
    assert support.attachment_for(agents[2], files[0].id)[0].id == attachment.id
    with pytest.raises(NotFound):
        support.attachment_for(users["other_consumer"], files[0].id)


def test_oversized_attachment_is_refused_and_nothing_is_saved(app, open_request):
    app.config["MAX_ATTACHMENT_BYTES"] = 1024
    try:
        with pytest.raises(ValidationFailed) as error:
            open_request(files=[upload("big.txt", b"x" * 1025)])
    finally:
        app.config.pop("MAX_ATTACHMENT_BYTES")
    assert error.value.fields == {"attachments": ["big.txt is larger than 1 KB."]}
    assert "your text is kept" in error.value.message
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_default_limit_is_five_megabytes(open_request):
    with pytest.raises(ValidationFailed) as error:
        open_request(files=[upload("huge.log", b"y" * (5 * 1024 * 1024 + 1))])
    assert error.value.fields["attachments"] == ["huge.log is larger than 5 MB."]
    assert open_request(files=[upload("ok.log", b"y" * (5 * 1024 * 1024))]).id


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "only"),
        ("page.html", b"<script>alert(1)</script>", "only"),
        ("image.svg", b"<svg onload=alert(1)>", "only"),
        ("fake.png", b"<html>not a png</html>", "does not look like a .png file"),
        ("binary.txt", b"\x00\x01\x02", "is not a text file"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_disallowed_attachments_are_refused_naming_the_file(open_request, name, data, message):
    with pytest.raises(ValidationFailed) as error:
        open_request(files=[upload(name, data)])
    assert (
        name in error.value.fields["attachments"][0]
        and message in error.value.fields["attachments"][0]
    )


def test_path_in_a_filename_is_dropped(open_request, users):
    request = open_request(
        files=[
            upload("../../etc/evil\x07.txt", b"hello"),
            upload("C:\\Users\\me\\notes.txt", b"hi"),
        ]
    )
    names = [a.filename for a in support.attachments_for(users["consumer"], request)]
    assert names == ["evil.txt", "notes.txt"]


def test_too_many_attachments_are_refused(open_request):
    with pytest.raises(ValidationFailed) as error:
        open_request(files=[upload(f"f{n}.txt", b"x") for n in range(support.MAX_ATTACHMENTS + 1)])
    assert "at most" in error.value.fields["attachments"][0]


def test_internal_note_attachments_are_agents_only(open_request, users, agents):
    request = open_request()
    support.add_message(
        agents[1],
        request.id,
        "Trace from the gateway",
        internal=True,
        files=[upload("trace.log", b"trace")],
    )
    note_file = support.attachments_for(agents[1], request)[0]
    assert note_file.internal is True
    assert support.attachments_for(users["consumer"], request) == []
    with pytest.raises(NotFound):
        support.attachment_for(users["consumer"], note_file.id)


# --- internal notes never reach consumers ----------------------------------------------------------


def test_internal_notes_are_never_shown_or_sent_to_consumers(open_request, users, agents):
    consumer = users["consumer"]
    request = open_request()
    support.add_message(
        agents[1], request.id, "SECRET-NOTE: the customer's gateway is misconfigured", internal=True
    )
    support.escalate(agents[1], request.id, "SECRET-REASON: needs the network team")
    support.raise_incident(
        agents[2],
        request.id,
        product_id=catalog.save_product(users["product_manager"], name="Net").id,
        severity=2,
        title="SECRET-INCIDENT gateway",
        description="SECRET-DESC",
    )
    support.add_message(agents[2], request.id, "We are on it.")
    assert "SECRET" not in thread_text(consumer, request)
    assert "SECRET-NOTE" in thread_text(agents[1], request)
    consumer_mail = " ".join(f"{n.subject} {n.body}" for n in notifications_of(consumer))
    assert "We are on it." in consumer_mail and "SECRET" not in consumer_mail
    view = support.request_view(consumer, request.id)
    assert all(not message.internal for message in view["messages"])
    assert view["backlog_items"] == []


def test_consumer_cannot_write_internal_notes(open_request, users):
    request = open_request()
    with pytest.raises(NotAllowed):
        support.add_message(users["consumer"], request.id, "psst", internal=True)


def test_other_group_and_non_participants_cannot_reply(open_request, users):
    request = open_request()
    with pytest.raises(NotFound):
        support.add_message(users["other_consumer"], request.id, "Me too")
    with pytest.raises(NotFound):
        support.add_message(users["catalog_manager"], request.id, "Hello")


# --- the conversation and the status table ---------------------------------------------------------


def test_agent_reply_is_the_first_response_and_tells_the_consumer(open_request, users, agents):
    request = open_request()
    support.add_message(agents[1], request.id, "Which client version do you use?")
    assert request.first_response_at is not None
    assert any("Which client version" in n.body for n in notifications_of(users["consumer"]))


def test_consumer_reply_while_waiting_restarts_the_clock_and_tells_the_assignee(
    open_request, users, agents
):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id)
    support.transition_request(
        agents[1], request.id, "waiting_on_consumer", reason="Which version?"
    )
    version = request.version
    support.add_message(users["consumer"], request.id, "Version 5.2")
    assert request.status == "in_progress" and request.paused_since is None
    assert request.version == version + 1  # a state change: stale forms notice it
    assert any("Consumer replied" in n.subject for n in notifications_of(agents[1]))


def test_full_lifecycle_with_accept_and_reopen(open_request, users, agents):
    consumer, agent = users["consumer"], agents[1]
    request = open_request()
    support.transition_request(agent, request.id, "in_progress")
    assert request.assignee_id == agent.id
    support.transition_request(agent, request.id, "resolved", reason="Reinstalled the profile.")
    assert request.resolved_at is not None and support.sla_state(request)["paused"] is True
    support.transition_request(consumer, request.id, "in_progress", reason="Still failing")
    assert request.status == "in_progress" and request.resolved_at is None
    assert any("reopened" in n.subject for n in notifications_of(agent))
    support.transition_request(agent, request.id, "resolved", reason="Now fixed for real.")
    support.transition_request(consumer, request.id, "closed")
    assert request.status == "closed" and request.closed_at is not None


@pytest.mark.parametrize(
    ("path", "to", "expected"),
    [
        (
            [],
            "closed",
            "A new request cannot become closed. Allowed next: in_progress, waiting_on_consumer, resolved.",
        ),
        ([], "new", "A new request cannot become new. It already is."),
        ([], "archived", "cannot become “archived” (not a status)"),
        (
            ["resolved", "closed"],
            "in_progress",
            "It is closed: open a new request instead. Allowed next: none.",
        ),
        (["resolved"], "waiting_on_consumer", "Allowed next: closed, in_progress."),
    ],
)
def test_invalid_transitions_name_why(open_request, users, agents, path, to, expected):
    request = open_request()
    for step in path:
        actor = users["consumer"] if step == "closed" else agents[1]
        support.transition_request(actor, request.id, step)
    with pytest.raises(InvalidTransition) as error:
        support.transition_request(agents[1], request.id, to)
    assert expected in error.value.message


@pytest.mark.parametrize(
    ("who", "to", "message"),
    [
        ("consumer", "resolved", "Only a support agent can do that."),
        ("consumer", "waiting_on_consumer", "Only a support agent can do that."),
        ("agent", "accept", None),
    ],
)
def test_who_may_make_a_move(open_request, users, agents, who, to, message):
    request = open_request()
    if to == "accept":
        support.transition_request(agents[1], request.id, "resolved")
        with pytest.raises(NotAllowed) as error:
            support.transition_request(agents[1], request.id, "closed")
        assert error.value.message == "Only the person who opened the request can do that."
        return
    with pytest.raises(NotAllowed) as error:
        support.transition_request(users["consumer"], request.id, to)
    assert error.value.message == message


def test_a_non_text_target_or_reason_is_refused_without_a_crash(open_request, agents):
    request = open_request()
    with pytest.raises(InvalidTransition):
        support.transition_request(agents[1], request.id, 5)
    with pytest.raises(ValidationFailed) as error:
        support.transition_request(agents[1], request.id, "in_progress", reason=["x"])
    assert error.value.fields == {"reason": ["Enter text."]}
    assert request.status == "new"


def test_no_reply_on_a_closed_request(open_request, users, agents):
    request = open_request()
    support.transition_request(agents[1], request.id, "resolved")
    support.transition_request(users["consumer"], request.id, "closed")
    with pytest.raises(InvalidTransition):
        support.add_message(users["consumer"], request.id, "One more thing")
    with pytest.raises(InvalidTransition):
        support.assign(agents[1], request.id, agents[1].id)


# --- optimistic locking ------------------------------------------------------------------------


def test_stale_update_is_refused_and_the_first_agents_text_is_kept(open_request, agents):
    request = open_request()
    seen = request.version
    support.transition_request(
        agents[1],
        request.id,
        "waiting_on_consumer",
        expected_version=seen,
        reason="FIRST: which version?",
    )
    with pytest.raises(Conflict) as error:
        support.transition_request(
            agents[2], request.id, "resolved", expected_version=seen, reason="SECOND: fixed"
        )
    assert error.value.message.startswith(
        f"{agents[1].name} changed status since you opened this request (your copy is version "
        f"{seen}, the saved one is version {seen + 1})."
    )
    assert error.value.fields == {"version": [f"Stale: now version {seen + 1}."]}
    db.session.expire_all()
    request = db.session.get(SupportRequest, request.id)
    assert request.status == "waiting_on_consumer"
    assert "FIRST: which version?" in thread_text(agents[1], request)
    assert "SECOND" not in thread_text(
        agents[1], request
    )  # refused: the page gives it back to its author


def test_a_racing_update_between_read_and_write_is_refused(open_request, agents):
    request = open_request()
    unit_of_work.commit()  # the consumer's request that opened it ended
    # Another worker bumps the row after this session read it (the identity map still says v1).
    db.session.execute(
        sa.update(SupportRequest)
        .where(SupportRequest.id == request.id)
        .values(version=SupportRequest.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict):
        support.transition_request(agents[1], request.id, "in_progress", expected_version=1)
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).status == "new"


@pytest.mark.parametrize("version", ["abc", "1.5", [1]])
def test_a_garbled_version_is_a_field_error_not_a_crash(open_request, agents, version):
    request = open_request()
    with pytest.raises(ValidationFailed) as error:
        support.transition_request(agents[1], request.id, "in_progress", expected_version=version)
    assert "version" in error.value.fields


def test_stale_assign_and_escalate_are_refused(open_request, agents):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id, expected_version=1)
    with pytest.raises(Conflict):
        support.assign(agents[2], request.id, agents[2].id, expected_version=1)
    with pytest.raises(Conflict):
        support.escalate(agents[1], request.id, "Too hard", expected_version=1)
    assert request.assignee_id == agents[1].id and request.tier == 1


# --- the queue, assignment and escalation tiers ---------------------------------------------------


def test_escalation_moves_up_one_tier_at_a_time_with_a_reason(open_request, users, agents):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id)
    with pytest.raises(ValidationFailed) as error:
        support.escalate(agents[1], request.id, "  ")
    assert "reason" in error.value.fields
    support.escalate(agents[1], request.id, "Gateway logs needed")
    assert request.tier == 2 and request.assignee_id is None
    assert "Escalated to tier 2: Gateway logs needed" in thread_text(agents[2], request)
    assert any("Escalated to tier 2" in n.subject for n in notifications_of(agents[2]))
    assert not any("Escalated" in n.subject for n in notifications_of(agents[3]))
    support.escalate(agents[2], request.id, "Code defect")
    assert request.tier == 3
    with pytest.raises(ValidationFailed) as error:
        support.escalate(agents[3], request.id, "Nowhere to go")
    assert "last tier" in error.value.fields["tier"][0]


def test_queue_shows_each_tier_its_own_requests_soonest_due_first(open_request, users, agents):
    clock.freeze(
        clock.now().replace(year=2026, month=11, day=24, hour=9, minute=0, second=0, microsecond=0)
    )
    low = open_request(priority="low", subject="Low")
    critical = open_request(priority="critical", subject="Critical")
    escalated = open_request(priority="medium", subject="Escalated")
    support.escalate(agents[1], escalated.id, "Needs tier 2")
    tier1 = [r.subject for r in db.session.scalars(support.queue_query(agents[1]))]
    assert tier1 == ["Critical", "Low"]
    assert [r.id for r in db.session.scalars(support.queue_query(agents[2]))] == [escalated.id]
    assert [r.id for r in db.session.scalars(support.queue_query(agents[1], priority="low"))] == [
        low.id
    ]
    assert [r.id for r in db.session.scalars(support.queue_query(agents[1], assignee="none"))] == [
        critical.id,
        low.id,
    ]
    support.assign(agents[1], low.id, agents[1].id)
    assert [r.id for r in db.session.scalars(support.queue_query(agents[1], assignee="me"))] == [
        low.id
    ]
    with pytest.raises(NotAllowed):
        support.queue_query(users["consumer"])


def test_queue_filters_by_offer_product_and_breach(make_offer, users, agents, product):
    offer = make_offer("MAIL-BOX", product_id=product.id)
    order, _ = subs.subscribe(
        users["consumer"], offer.id, options={}, accept_terms=True, idempotency_key="mail"
    )
    subs.transition_task(
        agents[1], next(t for t in order.tasks if t.mode == "manual").id, "complete"
    )
    clock.freeze(
        clock.now().replace(year=2026, month=11, day=24, hour=9, minute=0, second=0, microsecond=0)
    )
    mail = support.open_request(
        users["consumer"],
        order.subscription_id,
        request_type="issue",
        priority="critical",
        subject="Mail down",
        description="!",
    )
    assert [
        r.id for r in db.session.scalars(support.queue_query(agents[1], offer_code="MAIL-BOX"))
    ] == [mail.id]
    assert [
        r.id for r in db.session.scalars(support.queue_query(agents[1], product_id=product.id))
    ] == [mail.id]
    assert list(db.session.scalars(support.queue_query(agents[1], breached=True))) == []
    clock.freeze(clock.now().replace(hour=11))
    support.sla_check(SYSTEM)
    assert [r.id for r in db.session.scalars(support.queue_query(agents[1], breached=True))] == [
        mail.id
    ]


def test_assign_needs_an_active_agent_of_the_requests_tier(open_request, users, agents):
    request = open_request()
    support.escalate(agents[1], request.id, "Tier 2 please")
    for bad in (users["consumer"].id, "abc", None, 999_999):
        with pytest.raises(ValidationFailed):
            support.assign(agents[2], request.id, bad)
    with pytest.raises(ValidationFailed) as error:
        support.assign(agents[2], request.id, agents[1].id)
    assert "tier 2" in error.value.message
    support.assign(agents[1], request.id, agents[3].id)  # tier 3 can take a tier-2 request
    assert request.assignee_id == agents[3].id and request.status == "in_progress"
    assert any("Assigned to you" in n.subject for n in notifications_of(agents[3]))
    with pytest.raises(NotAllowed):
        support.assign(users["consumer"], request.id, agents[3].id)
    assert [a.id for a in support.assignable_agents(request)] == [agents[2].id, agents[3].id]


def test_breach_notifies_the_assignee(open_request, agents):
    clock.freeze(
        clock.now().replace(year=2026, month=11, day=24, hour=9, minute=0, second=0, microsecond=0)
    )
    request = open_request(priority="critical")
    support.assign(agents[1], request.id, agents[1].id)
    clock.freeze(clock.now().replace(hour=10, minute=1))
    assert support.sla_check(SYSTEM)["response_breaches"] == 1
    assert any("SLA breached (first response)" in n.subject for n in notifications_of(agents[1]))
    assert support.sla_check(SYSTEM)["response_breaches"] == 0  # recorded once


# --- escalation to operations and feedback to development ------------------------------------------


def test_incident_is_raised_by_tier_two_and_linked_both_ways(open_request, users, agents, product):
    request = open_request()
    with pytest.raises(NotAllowed):
        support.raise_incident(
            agents[1], request.id, product_id=product.id, severity=2, title="Gateway down"
        )
    incident = support.raise_incident(
        agents[2],
        request.id,
        product_id=product.id,
        severity=2,
        title="Gateway down",
        description="All tunnels drop",
    )
    assert request.incident_id == incident.id
    assert support.requests_of_incidents([incident.id]) == {incident.id: [request]}
    view = support.request_view(users["consumer"], request.id)
    assert view["incident"].id == incident.id
    assert [step["state"] for step in view["incident_progress"]] == [
        "current",
        "todo",
        "todo",
        "todo",
        "todo",
    ]
    with pytest.raises(ValidationFailed) as error:
        support.raise_incident(
            agents[2], request.id, product_id=product.id, severity=1, title="Again"
        )
    assert f"already linked to incident {incident.id}" in error.value.fields["title"][0]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"product_id": None}, "product_id"),
        ({"product_id": "abc"}, "product_id"),
        ({"severity": 0}, "severity"),
        ({"severity": 5}, "severity"),
        ({"severity": 2.5}, "severity"),
        ({"severity": "high"}, "severity"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
    ],
)
def test_incident_fields_are_checked(open_request, agents, product, fields, bad):
    request = open_request()
    data = {"product_id": product.id, "severity": 3, "title": "Slow", "description": ""}
    data.update(fields)
    with pytest.raises(ValidationFailed) as error:
        support.raise_incident(agents[2], request.id, **data)
    assert bad in error.value.fields


def test_incident_states_and_who_works_them(open_request, users, agents, product):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id)
    incident = support.raise_incident(
        agents[2], request.id, product_id=product.id, severity=2, title="Gateway down"
    )
    with pytest.raises(InvalidTransition) as error:
        support.transition_incident(agents[2], incident.id, "closed")
    assert "Allowed next: investigating, resolved." in error.value.message
    support.transition_incident(agents[2], incident.id, "investigating", expected_version=1)
    with pytest.raises(Conflict):
        support.transition_incident(agents[2], incident.id, "mitigated", expected_version=1)
    assert any(
        "Incident" in n.subject and "investigating" in n.subject
        for n in notifications_of(agents[1])
    )
    for who in (agents[1], users["product_manager"], users["consumer"]):
        with pytest.raises(NotAllowed):
            support.transition_incident(who, incident.id, "mitigated")
    support.transition_incident(agents[3], incident.id, "resolved")
    assert incident.resolved_at is not None
    progress = support.incident_progress(incident)
    assert [p["state"] for p in progress] == ["done", "done", "done", "current", "todo"]


def test_incidents_are_seen_by_operations_and_product_managers(
    open_request, users, agents, product
):
    support.raise_incident(
        agents[2], open_request().id, product_id=product.id, severity=3, title="Slow"
    )
    for who in (agents[2], agents[3], users["product_manager"]):
        assert len(db.session.scalars(support.incidents_query(who)).all()) == 1
    for who in (agents[1], users["consumer"], users["catalog_manager"]):
        with pytest.raises(NotAllowed):
            support.incidents_query(who)


def test_backlog_item_is_linked_both_ways_and_counted(open_request, users, agents, product):
    first, second = open_request(subject="Export fails"), open_request(subject="Export fails too")
    with pytest.raises(NotAllowed):
        support.raise_backlog_item(
            users["consumer"], first.id, product_id=product.id, kind="defect", title="Export"
        )
    item = support.raise_backlog_item(
        agents[1],
        first.id,
        product_id=product.id,
        kind="defect",
        title="CSV export fails",
        description="Steps…",
    )
    assert [r.id for r in item.source_requests] == [first.id]
    assert [b.id for b in support.backlog_items_of(first)] == [item.id]
    assert any(
        "New defect for Remote Access Platform" in n.subject
        for n in notifications_of(users["product_manager"])
    )
    support.link_backlog_item(users["product_manager"], item.id, second.id)
    with pytest.raises(ValidationFailed):
        support.link_backlog_item(users["product_manager"], item.id, second.id)
    support.raise_backlog_item(
        users["product_manager"], None, product_id=product.id, kind="feature", title="Dark mode"
    )
    assert [
        (p.id, defects, features, sources)
        for p, defects, features, sources in support.backlog_counts(agents[1])
    ] == [(product.id, 1, 1, 2)]
    rows = support.backlog_export_rows(users["product_manager"])
    assert sorted(row[1:3] + row[5:] for row in rows) == [
        ["defect", "CSV export fails", f"{first.id} {second.id}", 2],
        ["feature", "Dark mode", "", 0],
    ]
    with pytest.raises(NotAllowed):
        support.backlog_counts(users["consumer"])


@pytest.mark.parametrize(("kind", "title"), [("bug", "X"), ("defect", ""), (None, "X")])
def test_backlog_fields_are_checked(open_request, agents, product, kind, title):
    with pytest.raises(ValidationFailed):
        support.raise_backlog_item(
            agents[1], open_request().id, product_id=product.id, kind=kind, title=title
        )


# --- resolution and rating -------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 6, -1, 2.5, "abc", None, True, "", [3]])
def test_rating_must_be_a_whole_number_from_one_to_five(open_request, users, agents, score):
    request = open_request()
    support.transition_request(agents[1], request.id, "resolved")
    with pytest.raises(ValidationFailed) as error:
        support.rate(users["consumer"], request.id, score)
    assert "satisfaction" in error.value.fields
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).satisfaction is None


@pytest.mark.parametrize("score", [1, 5, "4"])
def test_rating_bounds_are_inclusive(open_request, users, agents, score):
    request = open_request()
    support.transition_request(agents[1], request.id, "resolved")
    support.rate(users["consumer"], request.id, score, "Quick and kind ✓")
    assert request.satisfaction == int(score) and request.satisfaction_comment == "Quick and kind ✓"


def test_rating_only_by_the_group_once_resolved(open_request, users, agents):
    request = open_request()
    with pytest.raises(ValidationFailed):
        support.rate(users["consumer"], request.id, 5)
    support.transition_request(agents[1], request.id, "resolved")
    with pytest.raises(NotAllowed):
        support.rate(agents[1], request.id, 5)
    with pytest.raises(NotFound):
        support.rate(users["other_consumer"], request.id, 5)


# --- knowledge, suggestions and deflection ----------------------------------------------------------


def test_deflection_is_counted_and_opens_no_request(active_subscription, users, agents):
    article = knowledge.articles_of("VPN-ACCESS")[0]
    deflection = support.record_deflection(
        users["consumer"], active_subscription.id, article.id, "how do I connect"
    )
    assert deflection.id and knowledge.deflection_counts([article.id]) == {article.id: 1}
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    with pytest.raises(NotFound):
        support.record_deflection(users["other_consumer"], active_subscription.id, article.id)
    with pytest.raises(NotAllowed):
        support.record_deflection(agents[1], active_subscription.id, article.id)
    assert db.session.scalar(sa.select(sa.func.count(Deflection.id))) == 1


def test_my_requests_are_my_own_and_my_groups_on_asking(open_request, users, make_user):
    request = open_request()
    colleague = make_user("consumer", groups=("Finance",))
    mine = support.my_requests_query
    assert [r.id for r in db.session.scalars(mine(users["consumer"]))] == [request.id]
    assert list(db.session.scalars(mine(colleague))) == []  # not theirs
    assert [r.id for r in db.session.scalars(mine(colleague, whose="group"))] == [request.id]
    assert list(db.session.scalars(mine(users["other_consumer"], whose="group"))) == []
    assert list(db.session.scalars(mine(colleague, status="closed", whose="group"))) == []
    with pytest.raises(NotFound):
        support.request_for(users["other_consumer"], request.id)
    # A colleague in the group may follow up and sees the public thread.
    support.add_message(colleague, request.id, "Same for me")
    assert "Same for me" in thread_text(users["consumer"], request)


def test_messages_keep_their_order_and_authors(open_request, users, agents):
    request = open_request()
    support.add_message(agents[1], request.id, "one")
    support.add_message(users["consumer"], request.id, "two")
    support.add_message(agents[1], request.id, "three")
    bodies = [(m.author.id, m.body) for m in support.messages_for(users["consumer"], request)]
    assert bodies == [(agents[1].id, "one"), (users["consumer"].id, "two"), (agents[1].id, "three")]
    assert db.session.scalar(sa.select(sa.func.count(RequestMessage.id))) == 3
