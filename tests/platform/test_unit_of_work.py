"""A request is one unit of work: committed once after the view returns, rolled back on error,
with actions that run only after the commit or only after a rollback."""

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from app import create_app, unit_of_work
from app.audit import services as audit
from app.audit.models import AuditEvent
from app.errors import ValidationFailed
from app.extensions import db
from tests.conftest import settings_for_tests

# Each test builds an app of its own (its own engine and connections), so it commits for real.
pytestmark = pytest.mark.committed


@pytest.fixture
def edge_app(app):
    """An app with routes that write, fail and run actions around the commit."""
    application = create_app(settings_for_tests())
    ran: list[str] = []

    def write(label: str) -> None:
        audit.record(None, "test", 1, label)
        unit_of_work.on_commit(lambda: ran.append(f"committed {label}"))
        unit_of_work.on_rollback(lambda: ran.append(f"rolled back {label}"))

    @application.post("/edge/ok")
    def ok():
        write("ok")
        return "done"

    @application.post("/edge/refused")
    def refused():
        write("refused")
        db.session.flush()
        raise ValidationFailed("No.", fields={"x": ["Not this."]})

    @application.post("/api/edge/stale")
    def stale():
        write("stale")
        raise StaleDataError(
            "UPDATE statement on table 'x' expected to update 1 row(s); 0 were matched."
        )

    application.ran = ran
    yield application
    with application.app_context():
        db.session.remove()


def _labels() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_view_writes_and_the_edge_commits(edge_app):
    response = edge_app.test_client().post("/edge/ok")
    assert response.status_code == 200
    assert _labels() == ["ok"]
    assert edge_app.ran == ["committed ok"]


def test_a_refused_request_leaves_nothing_behind(edge_app):
    response = edge_app.test_client().post("/edge/refused")
    assert response.status_code == 302  # back to the form, with the message flashed
    assert _labels() == []
    assert edge_app.ran == ["rolled back refused"]


def test_a_stale_write_is_a_conflict_with_nothing_saved(edge_app):
    response = edge_app.test_client().post("/api/edge/stale")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "Someone else changed this" in response.get_json()["detail"]
    assert _labels() == []
    assert edge_app.ran == ["rolled back stale"]


def test_a_view_that_answers_an_error_commits_nothing(app):
    application = create_app(settings_for_tests())

    @application.post("/edge/shown-again")
    def shown_again():
        audit.record(None, "test", 1, "half-written")
        return "the form again, with its errors", 422

    response = application.test_client().post("/edge/shown-again")
    assert response.status_code == 422
    assert _labels() == []


def test_a_bulk_statement_counts_as_a_change_and_is_committed(app):
    application = create_app(settings_for_tests())

    @application.post("/edge/bulk")
    def bulk():
        db.session.execute(
            sa.insert(AuditEvent).values(object_type="t", object_id="1", action="bulk")
        )
        return "done"

    assert application.test_client().post("/edge/bulk").status_code == 200
    assert _labels() == ["bulk"]


def test_a_released_savepoint_is_not_the_commit(app):
    """A service may undo part of its work with a SAVEPOINT (the catalog import does); releasing
    it neither runs the after-commit actions nor makes the edge think nothing was written."""
    application = create_app(settings_for_tests())
    ran: list[str] = []

    @application.post("/edge/savepoint")
    def savepoint():
        nested = db.session.begin_nested()
        audit.record(None, "test", 1, "kept")
        unit_of_work.on_commit(lambda: ran.append("committed"))
        db.session.flush()
        nested.commit()
        ran.append("savepoint released")
        return "done"

    assert application.test_client().post("/edge/savepoint").status_code == 200
    assert _labels() == ["kept"]
    assert ran == ["savepoint released", "committed"]


def test_a_row_written_under_a_released_savepoint_is_rolled_back_with_the_request(app):
    """The first statement of the request opens a SAVEPOINT (as opening a support request does
    around its insert); when the request then fails, the row written under it is gone too. On
    SQLite, releasing a SAVEPOINT that began the transaction would have committed the row."""
    application = create_app(settings_for_tests())

    @application.post("/edge/savepoint-then-fail")
    def savepoint_then_fail():
        with db.session.begin_nested():
            audit.record(None, "test", 1, "under the savepoint")
        raise ValidationFailed("No.", fields={"x": ["Not this."]})

    refused = application.test_client().post("/edge/savepoint-then-fail")
    assert refused.status_code == 302  # back to the form, with the message
    assert _labels() == []
