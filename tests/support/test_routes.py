"""Support pages: each rule seen through the HTML routes, with role × status matrices."""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts.models import SYSTEM
from app.catalog import services as catalog
from app.extensions import db
from app.knowledge import services as knowledge
from app.subscriptions import services as subs
from app.support import services as support
from app.support.models import Attachment, Deflection, SupportRequest
from tests.conftest import count_queries, login, module_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def as_user(app):
    """as_user(user) → a test client logged in as that user."""
    return lambda user: login(app.test_client(), user)


@pytest.fixture
def new_request(active_subscription, users):
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


@module_world
def product(users):
    return catalog.save_product(users["product_manager"], name="Remote Access Platform")


def page_text(response) -> str:
    return response.get_data(as_text=True)


# --- asking for help ---------------------------------------------------------------------------------


def test_new_request_form_offers_only_the_groups_open_subscriptions(active_subscription, client_as):
    html = page_text(
        client_as("consumer").get(f"/support/new?subscription={active_subscription.id}")
    )
    assert f'<option selected value="{active_subscription.id}">' in html
    for hint in support.PRIORITY_HINTS.values():
        assert str(hint) in html
    assert (
        "How to use VPN-ACCESS" in html and "This answered my question" in html
    )  # the offer's article
    other = page_text(
        client_as("other_consumer").get(f"/support/new?subscription={active_subscription.id}")
    )
    assert "VPN access" not in other and "You have no subscription to ask about" in other


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("consumer", 200),
        ("support_agent", 403),
        ("catalog_manager", 403),
        ("product_manager", 403),
        ("admin", 403),
    ],
)
def test_only_consumers_ask_for_help(active_subscription, client_as, role, status):
    assert client_as(role).get("/support/new").status_code == status


def test_sending_a_request_with_an_attachment(active_subscription, client_as, agents):
    response = client_as("consumer").post(
        "/support/new",
        content_type="multipart/form-data",
        data={
            "subscription_id": str(active_subscription.id),
            "request_type": "issue",
            "priority": "high",
            "subject": "Tunnel drops",
            "description": "Every 10 minutes.",
            "action": "send",
            "attachments": [(io.BytesIO(PNG), "screen.png")],
        },
    )
    assert response.status_code == 302
    request = db.session.scalar(sa.select(SupportRequest))
    assert response.headers["Location"].endswith(f"/support/requests/{request.id}")
    assert [a.filename for a in support.attachments_for(agents[1], request)] == ["screen.png"]


@pytest.fixture
def attachments_refused_by_the_database(app):
    """A trigger that refuses every attachment row, so the commit fails after the files were
    written to disk."""
    if db.engine.dialect.name == "postgresql":
        statements = [
            "CREATE FUNCTION refuse_attachment() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'attachments refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_attachments BEFORE INSERT ON attachments "
            "FOR EACH ROW EXECUTE FUNCTION refuse_attachment()",
        ]
        cleanup = [
            "DROP TRIGGER IF EXISTS refuse_attachments ON attachments",
            "DROP FUNCTION IF EXISTS refuse_attachment()",
        ]
    else:
        statements = [
            "CREATE TRIGGER refuse_attachments BEFORE INSERT ON attachments "
            "BEGIN SELECT RAISE(ABORT, 'attachments refused'); END"
        ]
        cleanup = ["DROP TRIGGER IF EXISTS refuse_attachments"]
    for statement in statements:
        db.session.execute(sa.text(statement))
    db.session.commit()
    yield
    db.session.rollback()
    for statement in cleanup:
        db.session.execute(sa.text(statement))
    db.session.commit()


def test_a_request_whose_commit_fails_leaves_no_file_behind(
    app, active_subscription, client_as, attachments_refused_by_the_database
):
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    response = client_as("consumer").post(
        "/support/new",
        content_type="multipart/form-data",
        data={
            "subscription_id": str(active_subscription.id),
            "request_type": "issue",
            "priority": "high",
            "subject": "Tunnel drops",
            "description": "Every 10 minutes.",
            "action": "send",
            "attachments": [(io.BytesIO(PNG), "screen.png"), (io.BytesIO(b"boot log"), "a.log")],
        },
    )
    assert response.status_code == 500
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert set(folder.iterdir()) == before


def test_finding_articles_without_a_subscription_shows_the_form_again_with_422(
    active_subscription, client_as
):
    response = client_as("consumer").post(
        "/support/new",
        data={
            "subscription_id": "",
            "request_type": "question",
            "priority": "low",
            "subject": "tunnel drops",
            "description": "after sleep",
            "action": "find",
        },
    )
    assert response.status_code == 422
    html = page_text(response)
    assert "Choose a subscription to find its articles." in html and 'value="tunnel drops"' in html


def test_refused_attachment_keeps_the_text_and_says_why_next_to_the_field(
    app, active_subscription, client_as
):
    app.config["MAX_ATTACHMENT_BYTES"] = 100
    try:
        response = client_as("consumer").post(
            "/support/new",
            content_type="multipart/form-data",
            data={
                "subscription_id": str(active_subscription.id),
                "request_type": "issue",
                "priority": "critical",
                "subject": "Tunnel drops 🙁",
                "description": "Every 10 minutes, since Monday.",
                "action": "send",
                "attachments": [
                    (io.BytesIO(b"x" * 101), "big.log"),
                    (io.BytesIO(b"MZ"), "tool.exe"),
                ],
            },
        )
    finally:
        app.config.pop("MAX_ATTACHMENT_BYTES")
    assert response.status_code == 422
    html = page_text(response)
    assert 'value="Tunnel drops 🙁"' in html and "Every 10 minutes, since Monday." in html
    assert (
        'value="critical" checked' in html
        or 'checked value="critical"' in html
        or 'checked id="priority-0"' in html
    )
    assert "big.log is larger than 100 bytes." in html and "tool.exe: only" in html
    assert 'class="field has-error"' in html
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"subject": "", "description": ""}, "This field is required."),
        ({"subject": "s" * 201}, "Keep this to 200 characters."),
        ({"priority": "whenever"}, "Choose a priority"),
        ({"request_type": "rant"}, "Choose a type"),
        ({"subscription_id": "abc"}, "Choose a subscription."),
        ({"subscription_id": ""}, "Choose a subscription."),
        ({"subject": "\x01\x02"}, "This field is required."),  # control characters only
    ],
)
def test_bad_request_input_re_renders_with_messages(
    active_subscription, client_as, data, field_message
):
    form = {
        "subscription_id": str(active_subscription.id),
        "request_type": "question",
        "priority": "low",
        "subject": "Hello",
        "description": "Kept text ✓",
        "action": "send",
    }
    form.update(data)
    response = client_as("consumer").post("/support/new", data=form)
    assert response.status_code == 422
    assert field_message in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


def test_another_groups_subscription_id_is_refused_with_the_text_kept(
    active_subscription, users, client_as
):
    subs.subscribe(
        users["other_consumer"],
        active_subscription.offer_id,
        options={},
        accept_terms=True,
        idempotency_key="o",
    )
    response = client_as("other_consumer").post(
        "/support/new",
        data={
            "subscription_id": str(active_subscription.id),
            "request_type": "question",
            "priority": "low",
            "subject": "Sneaky",
            "description": "Kept ✓",
            "action": "send",
        },
    )
    assert response.status_code == 422
    assert "Choose one of your subscriptions." in page_text(response) and "Kept ✓" in page_text(
        response
    )
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0


def test_find_articles_without_javascript_then_deflect(active_subscription, users, client_as):
    article = knowledge.save_article(
        users["catalog_manager"], title="Tunnel drops after sleep", body="Turn off sleep."
    )
    consumer = client_as("consumer")
    response = consumer.post(
        "/support/new",
        data={
            "subscription_id": str(active_subscription.id),
            "request_type": "question",
            "priority": "low",
            "subject": "tunnel drops",
            "description": "after sleep",
            "action": "find",
        },
    )
    html = page_text(response)
    assert (
        response.status_code == 200
        and "Tunnel drops after sleep" in html
        and 'value="tunnel drops"' in html
    )
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 0
    done = consumer.post(
        "/support/deflect",
        data={
            "subscription_id": str(active_subscription.id),
            "article_id": str(article.id),
            "q": "tunnel drops",
        },
    )
    assert done.status_code == 302
    assert "Glad the article answered your question" in page_text(
        consumer.get(done.headers["Location"])
    )
    assert knowledge.deflection_counts([article.id]) == {article.id: 1}
    assert consumer.post("/support/deflect", data={"subscription_id": "x"}).status_code == 400
    other = client_as("other_consumer").post(
        "/support/deflect",
        data={"subscription_id": str(active_subscription.id), "article_id": str(article.id)},
    )
    assert other.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Deflection.id))) == 1


def test_suggestions_json_for_live_typing(active_subscription, users, client_as):
    knowledge.save_article(
        users["catalog_manager"], title="Tunnel drops after sleep", body="Turn off sleep."
    )
    response = client_as("consumer").get(
        f"/support/suggestions?subscription={active_subscription.id}&q=tunnel+drops"
    )
    assert response.status_code == 200
    titles = [a["title"] for a in response.json["articles"]]
    assert titles[0] == "Tunnel drops after sleep"
    assert response.json["articles"][0]["url"].startswith("/support/knowledge/")
    assert client_as("consumer").get("/support/suggestions").json == {"articles": []}
    assert (
        client_as("other_consumer")
        .get(f"/support/suggestions?subscription={active_subscription.id}")
        .status_code
        == 404
    )
    assert (
        client_as("support_agent")
        .get(f"/support/suggestions?subscription={active_subscription.id}")
        .status_code
        == 403
    )


# --- my requests and the request page -----------------------------------------------------------------


def test_my_requests_lists_the_groups_requests_with_a_status_filter(
    new_request, users, agents, client_as
):
    first = new_request(subject="First problem")
    second = new_request(subject="Second problem")
    support.transition_request(agents[1], second.id, "resolved")
    html = page_text(client_as("consumer").get("/support/requests"))
    assert "First problem" in html and "Second problem" in html and "VPN access" in html
    html = page_text(client_as("consumer").get("/support/requests?status=resolved"))
    assert "Second problem" in html and "First problem" not in html
    assert "First problem" not in page_text(client_as("other_consumer").get("/support/requests"))
    assert client_as("consumer").get("/support/requests?status=bogus&page=x").status_code == 200
    assert first.id


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("consumer", 200),
        ("other_consumer", 404),
        ("support_agent", 200),
        ("product_manager", 200),
        ("catalog_manager", 404),
        ("admin", 404),
    ],
)
def test_request_page_matrix(new_request, client_as, who, status):
    request = new_request()
    assert client_as(who).get(f"/support/requests/{request.id}").status_code == status


def test_request_page_needs_a_login(new_request, client):
    response = client.get(f"/support/requests/{new_request().id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_request_is_404(client_as, users):
    assert client_as("consumer").get("/support/requests/999999").status_code == 404


def test_internal_notes_appear_for_agents_only(new_request, client_as, agents, as_user):
    request = new_request()
    agent = as_user(agents[1])
    response = agent.post(
        f"/support/requests/{request.id}/reply",
        data={"reply-body": "INTERNAL-XYZ check gateway", "reply-kind": "note"},
    )
    assert response.status_code == 302
    agent.post(
        f"/support/requests/{request.id}/reply",
        data={"reply-body": "Public hello", "reply-kind": "reply"},
    )
    consumer_html = page_text(client_as("consumer").get(f"/support/requests/{request.id}"))
    assert (
        "Public hello" in consumer_html
        and "INTERNAL-XYZ" not in consumer_html
        and "internal note" not in consumer_html
    )
    assert "INTERNAL-XYZ" not in page_text(
        client_as("product_manager").get(f"/support/requests/{request.id}")
    )
    agent_html = page_text(agent.get(f"/support/requests/{request.id}"))
    assert "INTERNAL-XYZ" in agent_html and "internal note" in agent_html
    # A consumer crafting an internal note is refused.
    refused = client_as("consumer").post(
        f"/support/requests/{request.id}/reply", data={"reply-body": "psst", "reply-kind": "note"}
    )
    assert refused.status_code == 403


def test_consumer_reply_with_attachment_and_download_headers(
    new_request, client_as, agents, as_user
):
    request = new_request()
    consumer = client_as("consumer")
    response = consumer.post(
        f"/support/requests/{request.id}/reply",
        content_type="multipart/form-data",
        data={
            "reply-body": "Here is the log",
            "reply-kind": "reply",
            "reply-attachments": [(io.BytesIO(b"<html><script>x</script>"), "client.log")],
        },
    )
    assert response.status_code == 302
    [attachment] = support.attachments_for(agents[1], request)
    download = as_user(agents[1]).get(f"/support/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == b"<html><script>x</script>"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "client.log" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "text/plain"
    assert (
        client_as("other_consumer").get(f"/support/attachments/{attachment.id}").status_code == 404
    )
    assert (
        client_as("catalog_manager").get(f"/support/attachments/{attachment.id}").status_code == 404
    )
    assert consumer.get("/support/attachments/999999").status_code == 404


def test_refused_reply_keeps_the_text(app, new_request, client_as):
    request = new_request()
    response = client_as("consumer").post(
        f"/support/requests/{request.id}/reply",
        content_type="multipart/form-data",
        data={
            "reply-body": "My long explanation ✓",
            "reply-kind": "reply",
            "reply-attachments": [(io.BytesIO(b"MZ"), "tool.exe")],
        },
    )
    assert response.status_code == 422
    html = page_text(response)
    assert "My long explanation ✓" in html and "tool.exe: only" in html
    empty = client_as("consumer").post(
        f"/support/requests/{request.id}/reply", data={"reply-body": "  "}
    )
    assert empty.status_code == 422 and "This field is required." in page_text(empty)


def test_two_agents_at_once_the_second_is_refused_and_keeps_their_text(
    new_request, agents, as_user
):
    request = new_request()
    first, second = as_user(agents[1]), as_user(agents[2])
    ok = first.post(
        f"/support/requests/{request.id}/status",
        data={
            "status-to": "waiting_on_consumer",
            "status-version": "1",
            "status-reason": "FIRST: which client version?",
        },
    )
    assert ok.status_code == 302
    stale = second.post(
        f"/support/requests/{request.id}/status",
        data={
            "status-to": "resolved",
            "status-version": "1",
            "status-reason": "SECOND: reinstall fixed it",
        },
    )
    assert stale.status_code == 409
    html = page_text(stale)
    assert (
        f"{agents[1].name} changed status since you opened this request (your copy is version 1,"
        " the saved one is version 2). Nothing of yours was saved" in html
    )
    assert "SECOND: reinstall fixed it" in html  # kept in the form
    assert "FIRST: which client version?" in html  # and the first agent's text is in the thread
    assert 'name="status-version" type="hidden" value="2"' in html  # resubmitting now works
    again = second.post(
        f"/support/requests/{request.id}/status",
        data={
            "status-to": "resolved",
            "status-version": "2",
            "status-reason": "SECOND: reinstall fixed it",
        },
    )
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).status == "resolved"


def test_invalid_transition_is_named_on_the_page(new_request, agents, as_user):
    request = new_request()
    response = as_user(agents[1]).post(
        f"/support/requests/{request.id}/status",
        data={"status-to": "closed", "status-reason": "Done?"},
    )
    assert response.status_code == 409
    html = page_text(response)
    assert "A new request cannot become closed." in html and "Done?" in html


@pytest.mark.parametrize(
    ("status", "who", "present", "absent"),
    [
        (
            "new",
            "agent",
            ["Start work", "Ask for more information", "Resolve", "Take it", "Escalate to tier 2"],
            ["Accept resolution"],
        ),
        (
            "new",
            "consumer",
            ["Send reply"],
            ["Resolve", "Take it", "Escalate", "Accept resolution", "Add internal note"],
        ),
        (
            "waiting_on_consumer",
            "consumer",
            ["Send reply", "The clock is paused"],
            ["Reopen", "Resolve"],
        ),
        (
            "resolved",
            "consumer",
            ["Accept resolution", "Reopen", "Rate the support you received"],
            ["Resolve"],
        ),
        ("resolved", "agent", ["Add internal note"], ["Accept resolution", "Escalate to tier 2"]),
        (
            "closed",
            "consumer",
            ["Rate the support you received"],
            ["Send reply", "Reopen", "Accept resolution"],
        ),
        ("closed", "agent", [], ["Send reply", "Take it", "Resolve"]),
    ],
)
def test_actions_by_role_and_status(
    new_request, users, agents, as_user, status, who, present, absent
):
    request = new_request()
    path = {
        "new": [],
        "waiting_on_consumer": ["waiting_on_consumer"],
        "resolved": ["resolved"],
        "closed": ["resolved", "closed"],
    }[status]
    for step in path:
        support.transition_request(
            users["consumer"] if step == "closed" else agents[1], request.id, step
        )
    html = page_text(
        as_user(agents[1] if who == "agent" else users["consumer"]).get(
            f"/support/requests/{request.id}"
        )
    )
    for text in present:
        assert text in html, text
    for text in absent:
        assert text not in html, text


def test_agent_takes_escalates_and_tier_two_raises_incident_and_backlog(
    new_request, users, agents, as_user, product, client_as
):
    request = new_request()
    tier1, tier2 = as_user(agents[1]), as_user(agents[2])
    assert (
        tier1.post(f"/support/requests/{request.id}/take", data={"take-version": "1"}).status_code
        == 302
    )
    refused = tier1.post(
        f"/support/requests/{request.id}/escalate", data={"esc-reason": "", "esc-version": "2"}
    )
    assert refused.status_code == 422 and "This field is required." in page_text(refused)
    assert (
        tier1.post(
            f"/support/requests/{request.id}/escalate",
            data={"esc-reason": "Needs gateway logs", "esc-version": "2"},
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).tier == 2
    # Tier 1 cannot raise an incident.
    assert (
        tier1.post(
            f"/support/requests/{request.id}/incident",
            data={"inc-product_id": str(product.id), "inc-severity": "2", "inc-title": "X"},
        ).status_code
        == 403
    )
    bad = tier2.post(
        f"/support/requests/{request.id}/incident",
        data={
            "inc-product_id": "",
            "inc-severity": "9",
            "inc-title": "Gateway down",
            "inc-description": "Kept ✓",
        },
    )
    assert (
        bad.status_code == 422
        and "Kept ✓" in page_text(bad)
        and "Choose a digital product." in page_text(bad)
    )
    assert (
        tier2.post(
            f"/support/requests/{request.id}/incident",
            data={
                "inc-product_id": str(product.id),
                "inc-severity": "2",
                "inc-title": "Gateway down",
            },
        ).status_code
        == 302
    )
    assert (
        tier2.post(
            f"/support/requests/{request.id}/backlog",
            data={
                "bl-product_id": str(product.id),
                "bl-kind": "defect",
                "bl-title": "Reconnect loop",
            },
        ).status_code
        == 302
    )
    consumer_html = page_text(client_as("consumer").get(f"/support/requests/{request.id}"))
    assert "is <strong>open</strong>" in consumer_html and 'aria-current="step"' in consumer_html
    assert "Reconnect loop" not in consumer_html and "Gateway down" not in consumer_html
    agent_html = page_text(tier2.get(f"/support/requests/{request.id}"))
    assert "Gateway down" in agent_html and "Reconnect loop" in agent_html
    assert "Raise an incident" not in agent_html  # one open incident per request
    other = new_request(subject="Also looping")
    pm = client_as("product_manager")
    item_id = support.backlog_items_of(db.session.get(SupportRequest, request.id))[0].id
    assert (
        pm.post(
            f"/support/requests/{other.id}/backlog/link", data={"bll-item_id": str(item_id)}
        ).status_code
        == 302
    )
    assert (
        client_as("consumer")
        .post(
            f"/support/requests/{other.id}/backlog",
            data={"bl-product_id": str(product.id), "bl-kind": "defect", "bl-title": "X"},
        )
        .status_code
        == 403
    )


def test_assign_to_an_agent(new_request, agents, as_user):
    request = new_request()
    agent = as_user(agents[1])
    html = page_text(agent.get(f"/support/requests/{request.id}"))
    assert f'<option value="{agents[3].id}">' in html
    bad = agent.post(
        f"/support/requests/{request.id}/assign",
        data={"assign-assignee_id": "abc", "assign-version": "1"},
    )
    assert bad.status_code == 422 and "Choose an active support agent." in page_text(bad)
    ok = agent.post(
        f"/support/requests/{request.id}/assign",
        data={"assign-assignee_id": str(agents[3].id), "assign-version": "1"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(SupportRequest, request.id).assignee_id == agents[3].id


def test_consumer_accepts_and_rates_with_bounds(new_request, agents, client_as):
    request = new_request()
    support.transition_request(agents[1], request.id, "resolved", reason="Fixed")
    consumer = client_as("consumer")
    assert (
        consumer.post(
            f"/support/requests/{request.id}/status", data={"status-to": "closed"}
        ).status_code
        == 302
    )
    bad = consumer.post(
        f"/support/requests/{request.id}/rate",
        data={"rate-satisfaction": "9", "rate-satisfaction_comment": "Great people ✓"},
    )
    assert bad.status_code == 422
    assert "Must be at most 5." in page_text(bad) and "Great people ✓" in page_text(bad)
    ok = consumer.post(
        f"/support/requests/{request.id}/rate",
        data={"rate-satisfaction": "5", "rate-satisfaction_comment": "Great people ✓"},
    )
    assert ok.status_code == 302
    assert "5 / 5" in page_text(consumer.get(f"/support/requests/{request.id}"))
    assert (
        client_as("other_consumer")
        .post(f"/support/requests/{request.id}/rate", data={"rate-satisfaction": "1"})
        .status_code
        == 404
    )


# --- queue, incidents, backlog ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("support_agent", 200),
        ("consumer", 403),
        ("product_manager", 403),
        ("catalog_manager", 403),
        ("admin", 403),
    ],
)
def test_queue_matrix(client_as, users, role, status):
    assert client_as(role).get("/support/queue").status_code == status


def test_queue_shows_time_left_and_filters_breaches_the_sla_job_recorded(
    new_request, agents, as_user
):
    clock.freeze(TUESDAY_9)
    critical = new_request(priority="critical", subject="All down")
    new_request(priority="low", subject="Small question")
    agent = as_user(agents[1])
    html = page_text(agent.get("/support/queue"))
    assert html.index("All down") < html.index("Small question")  # soonest due first
    assert "response: 1 h 00 min left" in html
    assert "Small question" not in page_text(agent.get("/support/queue?priority=critical"))
    clock.freeze(TUESDAY_9.replace(hour=10, minute=30))
    agent.get("/support/queue")
    db.session.expire_all()
    assert db.session.get(SupportRequest, critical.id).response_breached_at is None  # a GET
    assert support.sla_check(SYSTEM) == {
        "response_breaches": 1,
        "resolution_breaches": 0,
        "closed": 0,
    }
    html = page_text(agent.get("/support/queue?breached=1"))
    assert "All down" in html and "Small question" not in html and "response breached" in html
    db.session.expire_all()
    assert db.session.get(SupportRequest, critical.id).response_breached_at is not None
    assert (
        page_text(agent.get("/support/queue?tier=9&status=zzz&assignee=x&product=q")).count("<tr>")
        >= 1
    )


def test_queue_and_my_requests_query_counts_do_not_grow_with_rows(
    new_request, users, agents, as_user, client_as
):
    clock.freeze(TUESDAY_9)
    consumer, agent = client_as("consumer"), as_user(agents[1])
    for number in range(3):
        new_request(subject=f"Request {number}")
    support.assign(
        agents[1], db.session.scalars(sa.select(SupportRequest.id)).first(), agents[1].id
    )
    counts = {}
    for label, client, path in (
        ("mine", consumer, "/support/requests"),
        ("queue", agent, "/support/queue"),
    ):
        client.get(path)  # warm up
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        counts[label] = len(queries)
    for number in range(3, 20):
        new_request(subject=f"Request {number}")
    db.session.commit()  # (else the next request's commit would write their rollup rows)
    for label, client, path in (
        ("mine", consumer, "/support/requests"),
        ("queue", agent, "/support/queue"),
    ):
        with count_queries() as queries:
            response = client.get(path)
        assert response.status_code == 200 and "Request 19" in page_text(response)
        assert len(queries) == counts[label], label


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("tier1", 403),
        ("tier2", 200),
        ("tier3", 200),
        ("product_manager", 200),
        ("consumer", 403),
        ("catalog_manager", 403),
    ],
)
def test_incidents_page_matrix(catalog_setup, users, agents, as_user, who, status):
    user = {"tier1": agents[1], "tier2": agents[2], "tier3": agents[3]}.get(who) or users[who]
    assert as_user(user).get("/support/incidents").status_code == status


def test_incident_transitions_on_the_incidents_page(
    new_request, agents, as_user, product, client_as
):
    request = new_request()
    incident = support.raise_incident(
        agents[2], request.id, product_id=product.id, severity=2, title="Gateway down"
    )
    tier2 = as_user(agents[2])
    html = page_text(tier2.get("/support/incidents"))
    assert "Gateway down" in html and f"#{request.id} Cannot connect" in html
    prefix = f"i{incident.id}"
    ok = tier2.post(
        f"/support/incidents/{incident.id}/transition",
        data={f"{prefix}-to": "investigating", f"{prefix}-version": "1"},
    )
    assert ok.status_code == 302
    stale = tier2.post(
        f"/support/incidents/{incident.id}/transition",
        data={
            f"{prefix}-to": "mitigated",
            f"{prefix}-version": "1",
            f"{prefix}-note": "Failover done ✓",
        },
    )
    assert stale.status_code == 409 and "Failover done ✓" in page_text(stale)
    wrong = tier2.post(
        f"/support/incidents/{incident.id}/transition", data={f"{prefix}-to": "open"}
    )
    assert wrong.status_code == 409 and "cannot become open" in page_text(wrong)
    assert "investigating" in page_text(
        client_as("consumer").get(f"/support/requests/{request.id}")
    )
    pm_html = page_text(client_as("product_manager").get("/support/incidents"))
    assert "Gateway down" in pm_html and "Update incident" not in pm_html
    assert (
        client_as("product_manager")
        .post(f"/support/incidents/{incident.id}/transition", data={f"{prefix}-to": "resolved"})
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [("product_manager", 200), ("support_agent", 200), ("consumer", 403), ("catalog_manager", 403)],
)
def test_backlog_page_matrix(client_as, role, status):
    assert client_as(role).get("/support/backlog").status_code == status
    assert client_as(role).get("/support/backlog.csv").status_code == status


def test_backlog_page_and_csv_show_items_with_source_requests(
    new_request, users, agents, client_as, product
):
    first, second = new_request(subject="Export fails"), new_request(subject="Export broken")
    item = support.raise_backlog_item(
        agents[1], first.id, product_id=product.id, kind="defect", title="=CSV export fails"
    )
    support.link_backlog_item(agents[1], item.id, second.id)
    pm = client_as("product_manager")
    html = page_text(pm.get("/support/backlog"))
    assert "Remote Access Platform" in html and "=CSV export fails" in html
    assert f"#{first.id}</a>, <a" in html
    export = pm.get("/support/backlog.csv")
    assert export.mimetype == "text/csv" and export.headers["Content-Disposition"].startswith(
        "attachment"
    )
    lines = export.get_data(as_text=True).splitlines()
    assert lines[0] == "product,kind,title,status,created,source requests,request count"
    assert lines[1].startswith(
        "Remote Access Platform,defect,'=CSV export fails,new,"
    )  # no formula injection
    assert lines[1].endswith(f",{first.id} {second.id},2")


def test_sla_check_command(app, new_request, agents):
    clock.freeze(TUESDAY_9)
    new_request(priority="critical")
    clock.freeze(TUESDAY_9.replace(hour=11))
    result = app.test_cli_runner().invoke(args=["support", "sla-check"])
    assert result.exit_code == 0, result.output
    assert "Response breaches: 1, resolution breaches: 0" in result.output


def test_navigation_links_to_support(client_as, users):
    assert 'href="/support/requests"' in page_text(client_as("consumer").get("/"))
    assert 'href="/support/queue"' in page_text(client_as("support_agent").get("/"))


def test_control_characters_never_reach_the_database(
    active_subscription, agents, client_as, as_user
):
    consumer = client_as("consumer")
    sent = consumer.post(
        "/support/new",
        data={
            "subscription_id": str(active_subscription.id),
            "request_type": "question",
            "priority": "low",
            "subject": "Null\x01 byte",
            "description": "Bell\x07 and SOH\x01",
            "action": "send",
        },
    )
    assert sent.status_code == 302
    request = db.session.scalar(sa.select(SupportRequest))
    assert (request.subject, request.description) == ("Null byte", "Bell and SOH")
    assert (
        consumer.post(
            f"/support/requests/{request.id}/reply", data={"reply-body": "a\x01b"}
        ).status_code
        == 302
    )
    deflected = consumer.post(
        "/support/deflect", data={"subscription_id": str(active_subscription.id), "q": "x\x01"}
    )
    assert deflected.status_code == 302
    assert (
        consumer.get(
            f"/support/suggestions?subscription={active_subscription.id}&q=vpn%01"
        ).status_code
        == 200
    )
    agent = as_user(agents[1])
    assert agent.get("/support/queue?offer=%01").status_code == 200
    saved = agent.post(
        "/support/knowledge/new",
        data={"title": "T\x01", "body": "B\x01", "status": "published", "offer_codes": ["VPN\x01"]},
    )
    assert saved.status_code == 422 and "Unknown offer" in page_text(saved)


def test_demo_seeds_have_requests_in_every_state_and_load_once(app):
    from app.support.models import BacklogItem, Incident

    first = app.test_cli_runner().invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert (
        "support requests: 8 created" in first.output
        and "skipped" not in first.output.split("knowledge articles")[1]
    )
    requests = db.session.scalars(sa.select(SupportRequest)).all()
    assert {r.status for r in requests} == {
        "new",
        "in_progress",
        "waiting_on_consumer",
        "resolved",
        "closed",
    }
    assert any(r.status == "closed" and r.satisfaction == 5 for r in requests)
    escalated = next(r for r in requests if r.tier == 2)
    assert (
        escalated.incident_id is not None
        and db.session.get(Incident, escalated.incident_id).status == "investigating"
    )
    [item] = db.session.scalars(sa.select(BacklogItem)).all()
    assert escalated.id in [r.id for r in item.source_requests] and len(item.source_requests) == 2
    assert any(r.tier == 3 for r in requests)
    second = app.test_cli_runner().invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert (
        "support requests: 0 created" in second.output
        and "knowledge articles: 0 created" in second.output
    )
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 8


def test_sending_the_request_form_twice_opens_one_request(active_subscription, client_as):
    consumer = client_as("consumer")
    shown = page_text(consumer.get(f"/support/new?subscription={active_subscription.id}"))
    key = shown.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    form = {
        "subscription_id": str(active_subscription.id),
        "request_type": "question",
        "priority": "low",
        "subject": "Printer offline",
        "description": "Since this morning.",
        "action": "send",
        "idempotency_key": key,
    }
    first = consumer.post("/support/new", data=form)
    second = consumer.post("/support/new", data=form)  # the double click
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 1
    reused = consumer.post("/support/new", data={**form, "subject": "Something else"})
    assert reused.status_code == 409
    assert "This form was already sent as request" in page_text(reused)
    assert "Something else" in page_text(reused)  # the text is kept
    assert db.session.scalar(sa.select(sa.func.count(SupportRequest.id))) == 1
    another = page_text(consumer.get("/support/new"))
    assert key not in another  # a new form, a new key


def test_offer_code_suggestions_match_code_or_name_and_only_what_the_reader_may_see(
    make_offer, users, client_as, client
):
    from app.accounts import services as accounts

    engineering = accounts.find_group_by_name("Engineering")
    make_offer("VPN-ACCESS")
    make_offer("MAIL-VPN", name="Mail over VPN")
    make_offer("GPU-SECRET", name="Secret VPN cluster", group_ids=(engineering.id,))
    make_offer("VPN-DRAFT", name="Draft VPN", publish=False)
    consumer = client_as("consumer").get("/support/offer-codes?q=vpn")
    assert consumer.status_code == 200 and consumer.mimetype == "application/json"
    assert [item["code"] for item in consumer.get_json()] == ["VPN-ACCESS", "MAIL-VPN"]
    staff = client_as("support_agent").get("/support/offer-codes?q=vpn").get_json()
    assert {item["code"] for item in staff[:2]} == {"VPN-ACCESS", "VPN-DRAFT"}  # codes first
    assert {item["code"] for item in staff} == {"VPN-ACCESS", "VPN-DRAFT", "MAIL-VPN", "GPU-SECRET"}
    for literal in ("%25", "_", "x" * 5000):  # LIKE wildcards match themselves only
        assert client_as("consumer").get(f"/support/offer-codes?q={literal}").get_json() == []
    everything = client_as("consumer").get("/support/offer-codes").get_json()
    assert client_as("consumer").get("/support/offer-codes?q=%01").get_json() == everything
    assert {item["code"] for item in everything} == {"VPN-ACCESS", "MAIL-VPN"}
    assert client.get("/support/offer-codes?q=vpn").status_code == 302  # log in first


def test_queue_filters_by_a_typed_offer_code(new_request, agents, as_user):
    new_request()
    agent = as_user(agents[1])
    assert "Cannot connect" in page_text(agent.get("/support/queue?offer=+vpn-access"))
    assert "Cannot connect" not in page_text(agent.get("/support/queue?offer=MAIL-BOX"))
    assert 'value="VPN-ACCESS"' in page_text(agent.get("/support/queue?offer=vpn-access"))
