"""The support domain's three state machines and two optimistic locks: the moves written out
here by hand, every write of a status checked against them, the CHECK constraints naming the
same states, stale changes refused with who changed what, services that only flush, and no
service acting for nobody."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import clock, unit_of_work
from app.accounts.models import SYSTEM
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.errors import Conflict, InvalidTransition, NotAllowed
from app.extensions import db
from app.support import services as support
from app.support.models import BacklogItem, Incident, SupportRequest
from app.support.services import backlog, messages
from app.support.states import BACKLOG_ITEMS, INCIDENTS, REQUESTS
from tests.conftest import login, token_for

REQUEST_STATES = ("new", "in_progress", "waiting_on_consumer", "resolved", "closed")
REQUEST_MOVES = {
    ("new", "in_progress"): "agent",
    ("new", "waiting_on_consumer"): "agent",
    ("new", "resolved"): "agent",
    ("in_progress", "waiting_on_consumer"): "agent",
    ("in_progress", "resolved"): "agent",
    ("waiting_on_consumer", "in_progress"): "either",
    ("waiting_on_consumer", "resolved"): "agent",
    ("resolved", "closed"): "consumer",
    ("resolved", "in_progress"): "consumer",
}
INCIDENT_STATES = ("open", "investigating", "mitigated", "resolved", "closed")
INCIDENT_MOVES = {
    ("open", "investigating"),
    ("open", "resolved"),
    ("investigating", "mitigated"),
    ("investigating", "resolved"),
    ("mitigated", "investigating"),
    ("mitigated", "resolved"),
    ("resolved", "closed"),
    ("resolved", "investigating"),
}
BACKLOG_STATES = ("new", "accepted", "done", "declined")
BACKLOG_MOVES = {
    ("new", "accepted"),
    ("new", "declined"),
    ("accepted", "done"),
    ("accepted", "declined"),
}


@pytest.fixture
def open_request(active_subscription, users):
    def factory(subject: str = "Cannot connect"):
        request = support.open_request(
            users["consumer"],
            active_subscription.id,
            request_type="issue",
            priority="high",
            subject=subject,
            description="Timeout at login.",
        )
        unit_of_work.commit()  # the consumer's request that opened it ended
        return request

    return factory


@pytest.fixture
def incident(open_request, users, agents):
    product = catalog.save_product(users["product_manager"], name="Remote Access Platform")
    raised = support.raise_incident(
        agents[2], open_request().id, product_id=product.id, severity=2, title="Gateway down"
    )
    unit_of_work.commit()
    return raised


@pytest.mark.parametrize(
    ("machine", "states", "moves", "initial"),
    [
        (REQUESTS, REQUEST_STATES, set(REQUEST_MOVES), {"new"}),
        (INCIDENTS, INCIDENT_STATES, INCIDENT_MOVES, {"open"}),
        (BACKLOG_ITEMS, BACKLOG_STATES, BACKLOG_MOVES, {"new"}),
    ],
    ids=["request", "incident", "backlog item"],
)
def test_the_declared_states_and_moves(machine, states, moves, initial):
    assert machine.states == states
    assert set(machine.moves) == moves
    assert machine.initial == initial
    for source in states:
        for target in states:
            assert machine.allows(source, target) == ((source, target) in moves), (source, target)


def test_each_request_move_says_who_makes_it_and_why():
    assert {move: data.who for move, data in REQUESTS.moves.items()} == REQUEST_MOVES
    assert all(data.reason for data in REQUESTS.moves.values())


@pytest.mark.parametrize(
    ("model", "states"),
    [
        (SupportRequest, REQUEST_STATES),
        (Incident, INCIDENT_STATES),
        (BacklogItem, BACKLOG_STATES),
    ],
    ids=["request", "incident", "backlog item"],
)
def test_each_model_declares_the_check_of_its_states(model, states):
    checks = {
        constraint.name: str(constraint.sqltext)
        for constraint in model.__table__.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }
    values = ", ".join(f"'{state}'" for state in states)
    assert checks[f"ck_{model.__tablename__}_status"] == f"status IN ({values})"


@pytest.mark.parametrize("model", [SupportRequest, Incident])
def test_the_version_is_the_mappers_lock(model):
    assert sa.inspect(model).version_id_col is model.__table__.c.version


@pytest.mark.parametrize(
    ("model", "status"),
    [(SupportRequest, "resolved"), (Incident, "mitigated"), (BacklogItem, "done")],
    ids=["request", "incident", "backlog item"],
)
def test_a_new_row_cannot_start_half_way(model, status):
    with pytest.raises(InvalidTransition):
        model(status=status)


def test_a_direct_write_of_an_undeclared_move_is_refused(open_request, incident):
    request = open_request()
    with pytest.raises(InvalidTransition, match="A new request cannot become closed"):
        request.status = "closed"
    with pytest.raises(InvalidTransition, match="not a status of a request"):
        request.status = "paused"
    with pytest.raises(InvalidTransition, match="An? open incident cannot become closed"):
        incident.status = "closed"


def test_the_database_refuses_a_status_no_machine_knows(open_request):
    request = open_request()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            sa.text("UPDATE support_requests SET status = 'paused' WHERE id = :id"),
            {"id": request.id},
        )


def test_the_moves_of_one_request_are_audited_with_their_versions(open_request, users, agents):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id, expected_version=1)
    support.transition_request(agents[1], request.id, "resolved", expected_version=2)
    support.transition_request(users["consumer"], request.id, "closed", expected_version=3)
    events = db.session.scalars(
        sa.select(AuditEvent.changes)
        .where(AuditEvent.object_type == "support_request", AuditEvent.object_id == str(request.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e["status"]["after"], e["version"]["after"]) for e in events if "status" in e] == [
        ("in_progress", 2),
        ("resolved", 3),
        ("closed", 4),
    ]
    assert db.session.get(SupportRequest, request.id).version == 4


# --- stale changes -------------------------------------------------------------------------------


def test_a_stale_incident_move_is_refused_with_who_changed_what(incident, agents):
    seen = incident.version
    support.transition_incident(agents[2], incident.id, "investigating", expected_version=seen)
    with pytest.raises(Conflict) as refused:
        support.transition_incident(agents[3], incident.id, "resolved", expected_version=seen)
    assert refused.value.message.startswith(
        f"{agents[2].name} changed status since you opened this incident (your copy is version "
        f"{seen}, the saved one is version {seen + 1})."
    )
    assert db.session.get(Incident, incident.id).status == "investigating"


def test_the_incidents_page_shows_a_stale_move_at_its_incident(app, incident, agents):
    seen = incident.version
    page = login(app.test_client(), agents[3])
    support.transition_incident(agents[2], incident.id, "investigating")
    unit_of_work.commit()
    response = page.post(
        f"/support/incidents/{incident.id}/transition",
        data={f"i{incident.id}-to": "resolved", f"i{incident.id}-version": str(seen)},
    )
    assert response.status_code == 409
    assert f"{agents[2].name} changed status since you opened this incident" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "investigating"


def test_the_api_answers_a_stale_move_409_naming_who_and_what(api, open_request, users, agents):
    request = open_request()
    support.assign(agents[1], request.id, agents[1].id)
    unit_of_work.commit()
    response = api(token_for(agents[2])).post(
        f"/api/v1/support-requests/{request.id}/transitions",
        json={"to": "resolved", "version": 1, "reason": "Fixed it"},
    )
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert response.json["detail"].startswith(
        f"{agents[1].name} changed assignee_id, status since you opened this request"
    )
    assert response.json["errors"] == {"version": ["Stale: now version 2."]}
    db.session.expire_all()
    saved = db.session.get(SupportRequest, request.id)
    assert (saved.status, saved.assignee_id, saved.version) == ("in_progress", agents[1].id, 2)


def test_the_auto_close_moves_the_version_so_an_older_form_is_stale(open_request, users, agents):
    request = open_request()
    support.transition_request(agents[1], request.id, "resolved")
    unit_of_work.commit()
    seen = db.session.get(SupportRequest, request.id).version
    clock.freeze(clock.now() + timedelta(days=8))
    assert support.sla_check(SYSTEM)["closed"] == 1
    saved = db.session.get(SupportRequest, request.id)
    assert (saved.status, saved.version) == ("closed", seen + 1)
    with pytest.raises(Conflict):
        support.transition_request(
            users["consumer"], request.id, "in_progress", expected_version=seen
        )


# --- the unit of work ----------------------------------------------------------------------------


def test_services_only_flush_and_the_edge_commits(open_request, agents):
    request = open_request()
    support.transition_request(agents[1], request.id, "in_progress", reason="On it")
    assert db.session.get(SupportRequest, request.id).status == "in_progress"
    db.session.rollback()  # the edge's answer when the work failed: nothing of it is kept
    saved = db.session.get(SupportRequest, request.id)
    assert (saved.status, saved.version) == ("new", 1)
    assert "On it" not in " ".join(m.body for m in support.messages_for(agents[1], saved))


# --- nobody is refused, the system is allowed ------------------------------------------------------


def test_services_refuse_to_act_for_nobody(open_request, incident, active_subscription, agents):
    request_id = open_request().id
    calls = [
        lambda: support.open_request(
            None,
            active_subscription.id,
            request_type="issue",
            priority="low",
            subject="x",
            description="y",
        ),
        lambda: support.request_for(None, request_id),
        lambda: support.my_requests_query(None),
        lambda: support.requestable_subscriptions(None),
        lambda: support.transition_request(None, request_id, "in_progress"),
        lambda: support.add_message(None, request_id, "Hello"),
        lambda: support.assign(None, request_id, agents[1].id),
        lambda: support.escalate(None, request_id, "Too hard"),
        lambda: support.queue_query(None),
        lambda: support.rate(None, request_id, 5),
        lambda: support.raise_incident(None, request_id, product_id=1, severity=2, title="x"),
        lambda: support.incidents_query(None),
        lambda: support.transition_incident(None, incident.id, "investigating"),
        lambda: support.raise_backlog_item(
            None, request_id, product_id=1, kind="defect", title="x"
        ),
        lambda: support.link_backlog_item(None, 1, request_id),
        lambda: support.backlog_counts(None),
        lambda: support.record_deflection(None, active_subscription.id, None),
        lambda: support.suggest_articles(None, active_subscription.id, "vpn"),
        lambda: support.request_view(None, request_id),
        lambda: support.sla_check(None),
        lambda: backlog.backlog_query(None),
        lambda: messages.messages_for(None, db.session.get(SupportRequest, request_id)),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            call()
    assert db.session.get(SupportRequest, request_id).status == "new"


def test_the_system_is_allowed_what_the_system_does(open_request, incident, agents):
    request = open_request()
    assert support.request_for(SYSTEM, request.id) is request
    assert support.request_view(SYSTEM, request.id)["request"] is request
    assert request in list(db.session.scalars(support.queue_query(SYSTEM)))
    support.assign(SYSTEM, request.id, agents[1].id)
    support.transition_request(SYSTEM, request.id, "resolved")
    assert (request.status, request.assignee_id) == ("resolved", agents[1].id)
    assert support.transition_incident(SYSTEM, incident.id, "investigating").status == (
        "investigating"
    )
    assert incident in list(db.session.scalars(support.incidents_query(SYSTEM)))
    assert support.sla_check(SYSTEM) == {
        "response_breaches": 0,
        "resolution_breaches": 0,
        "closed": 0,
    }


def test_the_sla_check_is_the_systems_alone(users, agents):
    for person in (agents[1], users["consumer"], users["product_manager"]):
        with pytest.raises(NotAllowed):
            support.sla_check(person)
