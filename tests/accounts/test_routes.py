import re

import pytest
import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import SYSTEM, User
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, login


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example/x",
        "https:/evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        " //evil.example",
    ],
)
def test_login_never_redirects_off_site(client, users, target):
    response = client.post(
        "/login", data={"email": users["consumer"].email, "password": DEMO_PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, users):
    client.get("/login?next=/inbox")
    response = client.post(
        "/login",
        data={"email": users["consumer"].email, "password": DEMO_PASSWORD, "next": "/inbox"},
    )
    assert response.headers["Location"] == "/inbox"


def test_protected_page_sends_anonymous_users_to_login_with_next(client):
    response = client.get("/inbox")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_wrong_password_shows_message(client, users):
    response = client.post("/login", data={"email": users["consumer"].email, "password": "nope"})
    assert response.status_code == 401
    assert b"Invalid e-mail or password" in response.data


def test_eleventh_attempt_is_rate_limited_even_with_right_password(client, users):
    for _ in range(10):
        client.post("/login", data={"email": users["consumer"].email, "password": "nope"})
    response = client.post(
        "/login", data={"email": users["consumer"].email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.data


def test_login_form_reports_missing_fields(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert b"This field is required." in response.data


def test_remember_me_sets_a_remember_cookie(client, users):
    client.post(
        "/login",
        data={"email": users["consumer"].email, "password": DEMO_PASSWORD, "remember": "y"},
    )
    assert client.get_cookie("remember_token") is not None


def test_logout_is_a_post(client_as):
    client = client_as("consumer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users",
        "/admin/groups",
        "/admin/tokens",
        "/admin/audit/",
        "/admin/outbox",
        "/admin/users/new",
    ],
)
@pytest.mark.parametrize(
    "role,status",
    [
        ("consumer", 403),
        ("catalog_manager", 403),
        ("support_agent", 403),
        ("product_manager", 403),
        ("admin", 200),
    ],
)
def test_admin_pages_by_role(client_as, path, role, status):
    assert client_as(role).get(path).status_code == status


def test_admin_creates_user_with_field_errors_then_success(client_as):
    client = client_as("admin")
    response = client.post(
        "/admin/users/new",
        data={"email": "bad", "name": "", "password": "x", "roles": ["consumer"]},
    )
    assert response.status_code == 200
    assert b"Enter a valid e-mail address." in response.data
    assert db.session.scalar(sa.select(User).where(User.email == "bad")) is None
    response = client.post(
        "/admin/users/new",
        data={
            "email": "new@example.test",
            "name": "New Person",
            "password": "longenough",
            "roles": ["support_agent"],
            "support_tier": "2",
        },
    )
    assert response.status_code == 302
    created = accounts.find_user_by_email("new@example.test")
    assert created.role_names == {"support_agent"} and created.support_tier == 2


def test_admin_deactivates_user_who_then_cannot_log_in(client_as, users, app):
    client_as("admin").post(f"/admin/users/{users['consumer'].id}/active", data={"active": "0"})
    response = app.test_client().post(
        "/login", data={"email": users["consumer"].email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 401


def test_deactivated_users_session_ends(app, users, client_as):
    consumer_client = client_as("consumer")
    assert consumer_client.get("/inbox").status_code == 200
    client_as("admin").post(f"/admin/users/{users['consumer'].id}/active", data={"active": "0"})
    assert consumer_client.get("/inbox").status_code == 302


def test_admin_manages_groups_and_members(client_as, users):
    client = client_as("admin")
    response = client.post("/admin/groups/new", data={"name": "Legal", "description": "Lawyers"})
    assert response.status_code == 302
    legal = accounts.find_group_by_name("Legal")
    client.post(
        f"/admin/groups/{legal.id}/members", data={"m-members": [str(users["consumer"].id)]}
    )
    db.session.expire_all()
    assert [member.email for member in legal.members] == [users["consumer"].email]
    response = client.post("/admin/groups/new", data={"name": "Legal"})
    assert b"Another group already has this name." in response.data


def test_user_creates_and_revokes_own_token(client_as, users):
    client = client_as("consumer")
    response = client.post("/account", data={"action": "token", "tok-label": "my script"})
    assert response.status_code == 200
    assert b"odk_" in response.data
    token = accounts.list_tokens(users["consumer"], users["consumer"].id)[0]
    client.post(f"/tokens/{token.id}/revoke", data={"next": "https://evil.example"})
    db.session.expire_all()
    assert token.is_revoked


def test_consumer_cannot_revoke_someone_elses_token(client_as, users):
    token, _ = accounts.create_token(SYSTEM, users["admin"].id, "ops")
    response = client_as("consumer").post(f"/tokens/{token.id}/revoke")
    assert response.status_code == 404
    db.session.expire_all()
    assert not token.is_revoked


def test_change_password_needs_current_password(client_as, users, app):
    client = client_as("consumer")
    response = client.post(
        "/account",
        data={
            "action": "password",
            "pw-current_password": "wrong",
            "pw-new_password": "brand-new-pass",
        },
    )
    assert b"This is not your current password." in response.data
    client.post(
        "/account",
        data={
            "action": "password",
            "pw-current_password": DEMO_PASSWORD,
            "pw-new_password": "brand-new-pass",
        },
    )
    login(app.test_client(), users["consumer"], "brand-new-pass")


def test_user_list_filters_and_paginates(client_as, make_user, app):
    for number in range(25):
        make_user("consumer", email=f"bulk{number:02d}@example.test", name=f"Bulk {number:02d}")
    client = client_as("admin")
    first = client.get("/admin/users?q=bulk").data
    assert b"Page 1 of 2" in first
    assert b"bulk24@example.test" not in first
    assert b"bulk24@example.test" in client.get("/admin/users?q=bulk&page=2").data


def test_group_page_lists_members_and_finds_others(client_as, users, make_user, monkeypatch):
    monkeypatch.setattr(accounts, "MEMBER_CHOICES", 2)
    zoe, _, _ = (
        make_user("consumer", name=name) for name in ("Zoe Zed", "Yann Young", "Walter 100% Sure")
    )
    legal = accounts.save_group(users["admin"], name="Legal")
    accounts.set_group_members(users["admin"], legal.id, [users["consumer"].id])
    client = client_as("admin")
    page_url = f"/admin/groups/{legal.id}"

    def listed(query: str = "") -> list[str]:
        page = client.get(page_url + query).get_data(as_text=True)
        members = page[page.index("<legend>Members") :]
        return re.findall(r"<label[^>]*>([^<]+) &lt;", members[: members.index("</fieldset>")])

    member = users["consumer"].name
    assert listed()[0] == member and len(listed()) == 3  # the member, then 2 others
    assert listed("?people=zed") == [member, "Zoe Zed"]
    assert listed("?people=100%25") == [member, "Walter 100% Sure"]  # % is literal
    assert "No one else matches “nobody”." in client.get(page_url + "?people=nobody").get_data(
        as_text=True
    )
    url = f"/admin/groups/{legal.id}/members"
    client.post(url, data={"m-members": [str(users["consumer"].id), str(zoe.id)]})
    db.session.expire_all()
    assert {m.name for m in accounts.get_group(legal.id).members} == {member, "Zoe Zed"}
    for junk in ("abc", "99999999999999999999", "987654"):
        client.post(url, data={"m-members": [str(zoe.id), junk]})
        db.session.expire_all()
        assert len(accounts.get_group(legal.id).members) == 2  # nothing changed
