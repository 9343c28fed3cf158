"""Sign-in through a real OpenID provider (oidc-provider, started by the fixtures): just-in-time
users, claims copied at every sign-in, local grants kept, and the refusals that leave nothing."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import SYSTEM, User, UserIdentity, UserRole
from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, login
from tests.oidc.fixtures import oidc, openid_provider  # noqa: F401 - fixtures

ALICE = {
    "sub": "alice-0001",
    "email": "alice@corp.example",
    "email_verified": True,
    "name": "Alice Analyst",
    "groups": ["finance", "catalog-team"],
}


def start(client, path="/login/oidc"):
    response = client.get(path)
    assert response.status_code == 302, response.data[:300]
    return response.headers["Location"]


def come_back(client, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, provider, login):
    return come_back(client, provider.sign_in(start(client), login))


def user_named(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def roles_of(user):
    return {(link.role, link.local) for link in user.roles}


def test_first_sign_in_creates_the_user_with_mapped_role_and_group(app, oidc):
    oidc.set_accounts(ALICE)
    client = app.test_client()
    response = sign_in(client, oidc, "alice-0001")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    alice = user_named("alice@corp.example")
    assert alice.name == "Alice Analyst"
    assert roles_of(alice) == {("catalog_manager", False)}
    assert [group.name for group in alice.groups] == ["Finance"]
    identity = db.session.scalar(sa.select(UserIdentity).where(UserIdentity.user_id == alice.id))
    assert (identity.issuer, identity.subject) == (oidc.issuer, "alice-0001")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == str(alice.id))
    ).all()
    assert {"created", "identity_added", "updated_from_provider", "logged_in"} <= set(actions)
    page = client.get("/account")
    assert page.status_code == 200
    assert b"Alice Analyst" in page.data


def test_the_next_sign_in_copies_the_changed_claims(app, oidc):
    oidc.set_accounts(ALICE)
    sign_in(app.test_client(), oidc, "alice-0001")
    first = user_named("alice@corp.example").id
    oidc.set_claims(
        "alice-0001", name="Alice Architect", email="alice.a@corp.example", groups=["engineering"]
    )
    response = sign_in(app.test_client(), oidc, "alice-0001")
    assert response.status_code == 302
    alice = user_named("alice.a@corp.example")
    assert alice.id == first
    assert alice.name == "Alice Architect"
    assert roles_of(alice) == {("consumer", False)}
    assert [group.name for group in alice.groups] == ["Engineering"]
    assert count(User) == 1


def test_what_an_admin_granted_in_offerdesk_outlives_the_claims(app, oidc):
    oidc.set_accounts(ALICE)
    sign_in(app.test_client(), oidc, "alice-0001")
    alice = user_named("alice@corp.example")
    sales = accounts.save_group(SYSTEM, name="Sales")
    accounts.update_user(
        SYSTEM,
        alice.id,
        email=alice.email,
        name=alice.name,
        roles=["catalog_manager", "product_manager"],
        group_ids=[*alice.group_ids, sales.id],
        support_tier=None,
    )
    db.session.commit()
    oidc.set_claims("alice-0001", groups=[])
    sign_in(app.test_client(), oidc, "alice-0001")
    alice = user_named("alice@corp.example")
    assert roles_of(alice) == {("product_manager", True), ("consumer", False)}
    assert [group.name for group in alice.groups] == ["Sales"]


def test_a_group_map_of_star_creates_groups_on_first_sight(app, oidc, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_GROUP_MAP", "*")
    oidc.set_accounts({**ALICE, "groups": ["Treasury Ops"]})
    sign_in(app.test_client(), oidc, "alice-0001")
    assert [group.name for group in user_named("alice@corp.example").groups] == ["Treasury Ops"]


def test_a_deactivated_user_is_refused(app, oidc):
    oidc.set_accounts(ALICE)
    sign_in(app.test_client(), oidc, "alice-0001")
    accounts.set_user_active(SYSTEM, user_named("alice@corp.example").id, False)
    db.session.commit()
    oidc.set_claims("alice-0001", name="Renamed")
    client = app.test_client()
    response = sign_in(client, oidc, "alice-0001")
    assert response.status_code == 403
    assert b"Sign-in refused" in response.data
    assert b"deactivated" in response.data
    assert user_named("alice@corp.example").name == "Alice Analyst"
    assert client.get("/account").status_code == 302  # not logged in


def test_a_verified_email_links_the_existing_local_account(app, oidc, make_user):
    local = make_user("consumer", email="bob@corp.example", groups=("Finance",))
    oidc.set_accounts(
        {"sub": "bob-7", "email": "Bob@corp.example", "name": "Bob", "email_verified": True}
    )
    response = sign_in(app.test_client(), oidc, "bob-7")
    assert response.status_code == 302
    assert count(User) == 1
    identity = db.session.scalar(sa.select(UserIdentity))
    assert (identity.user_id, identity.subject) == (local.id, "bob-7")
    bob = user_named("bob@corp.example")
    # the local membership and the local consumer role stay; the provider grants consumer too
    assert [group.name for group in bob.groups] == ["Finance"]
    assert roles_of(bob) == {("consumer", True)}


def test_an_unverified_email_of_an_existing_account_is_refused(app, oidc, make_user, caplog):
    make_user("consumer", email="bob@corp.example", name="Local Bob")
    oidc.set_accounts(
        {"sub": "bob-7", "email": "bob@corp.example", "name": "Intruder",
         "email_verified": False, "groups": ["catalog-team"]}
    )  # fmt: skip
    client = app.test_client()
    response = sign_in(client, oidc, "bob-7")
    assert response.status_code == 403
    assert b"has not verified" in response.data
    assert count(UserIdentity) == 0
    bob = user_named("bob@corp.example")
    assert (bob.name, roles_of(bob)) == ("Local Bob", {("consumer", True)})
    assert "without email_verified" in caplog.text
    assert client.get("/account").status_code == 302


def refused_and_nothing_created(response, client):
    assert response.status_code == 401
    assert b"Sign-in refused" in response.data
    assert count(User) == 0
    assert count(UserIdentity) == 0
    assert client.get("/account").status_code == 302


def test_a_wrong_state_is_refused(app, oidc, caplog):
    oidc.set_accounts(ALICE)
    client = app.test_client()
    back = urlsplit(oidc.sign_in(start(client), "alice-0001"))
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    query["state"] = "forged-state"
    response = client.get(f"{back.path}?{urlencode(query)}")
    refused_and_nothing_created(response, client)
    assert "the state does not match" in caplog.text


def test_a_callback_with_no_sign_in_under_way_is_refused(app, oidc):
    client = app.test_client()
    response = client.get("/login/oidc/callback?code=abc&state=def")
    refused_and_nothing_created(response, client)


def test_a_replayed_code_is_refused_by_the_provider(app, oidc, caplog):
    oidc.set_accounts(ALICE)
    first = app.test_client()
    back = oidc.sign_in(start(first), "alice-0001")
    assert come_back(first, back).status_code == 302
    db.session.execute(sa.delete(UserIdentity))
    db.session.execute(sa.delete(User))
    db.session.commit()
    # another browser starts a sign-in of its own and slips in the code already used
    other = app.test_client()
    own = parse_qs(urlsplit(start(other)).query)
    used = parse_qs(urlsplit(back).query)
    response = other.get(
        "/login/oidc/callback?" + urlencode({"code": used["code"][0], "state": own["state"][0]})
    )
    refused_and_nothing_created(response, other)
    assert "the token endpoint refused the code" in caplog.text
    # and the same answer again in the first browser: its sign-in is over
    assert come_back(first, back).status_code == 401


def test_a_nonce_other_than_the_sign_in_s_is_refused(app, oidc, caplog):
    oidc.set_accounts(ALICE)
    client = app.test_client()
    authorize = start(client)
    with client.session_transaction() as session:
        session["oidc"] = {**session["oidc"], "nonce": "another-sign-in-s-nonce"}
    response = come_back(client, oidc.sign_in(authorize, "alice-0001"))
    refused_and_nothing_created(response, client)
    assert "nonce" in caplog.text


def test_log_out_ends_the_provider_session_too(app, oidc):
    oidc.set_accounts(ALICE)
    client = app.test_client()
    sign_in(client, oidc, "alice-0001")
    response = client.post("/logout")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{oidc.issuer}/session/end"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert query["client_id"] == ["offerdesk"]
    assert query["id_token_hint"][0].count(".") == 2
    assert requests.get(response.headers["Location"], timeout=5).status_code == 200
    assert client.get("/account").status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "logged_out"))


def test_the_log_in_page_offers_the_provider(app, oidc):
    page = app.test_client().get("/login")
    assert b"Sign in with Test SSO" in page.data
    assert b'name="password"' in page.data


@pytest.fixture
def oidc_only(app, oidc, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_ONLY", True)
    return oidc


def test_oidc_only_hides_the_password_form_but_admins_keep_it(app, oidc_only, make_user):
    client = app.test_client()
    page = client.get("/login")
    assert b"Sign in with Test SSO" in page.data
    assert b'name="password"' not in page.data
    local = client.get("/login?local=1")
    assert b'name="password"' in local.data
    consumer = make_user("consumer")
    refused = client.post(
        "/login?local=1", data={"email": consumer.email, "password": DEMO_PASSWORD}
    )
    assert refused.status_code == 401
    assert b"Password log-in is for administrators" in refused.data
    admin = make_user("admin")
    response = client.post("/login?local=1", data={"email": admin.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_a_role_granted_by_the_provider_is_not_marked_local(app, oidc):
    oidc.set_accounts({**ALICE, "groups": ["offerdesk-admins"]})
    sign_in(app.test_client(), oidc, "alice-0001")
    link = db.session.scalar(sa.select(UserRole))
    assert (link.role, link.local) == ("admin", False)


def test_a_provider_only_user_is_not_offered_a_password_change(app, oidc):
    oidc.set_accounts(ALICE)
    client = app.test_client()
    sign_in(client, oidc, "alice-0001")
    page = client.get("/account")
    assert b"there is no Offerdesk password to change" in page.data
    assert b'name="pw-current_password"' not in page.data
    before = user_named("alice@corp.example").password_hash
    with pytest.raises(accounts.ValidationFailed) as refusal:
        accounts.change_own_password(user_named("alice@corp.example"), "", "a-new-password")
    assert refusal.value.fields == {
        "current_password": [
            "You sign in through your organisation's identity provider, so there is no "
            "Offerdesk password to change: change it at the provider."
        ]
    }
    assert user_named("alice@corp.example").password_hash == before


def test_the_admin_page_tells_provider_grants_from_local_ones(app, oidc, make_user):
    oidc.set_accounts(ALICE)
    sign_in(app.test_client(), oidc, "alice-0001")
    alice = user_named("alice@corp.example")
    sales = accounts.save_group(SYSTEM, name="Sales")
    accounts.update_user(
        SYSTEM,
        alice.id,
        email=alice.email,
        name=alice.name,
        roles=["catalog_manager", "product_manager"],
        group_ids=[*alice.group_ids, sales.id],
        support_tier=None,
    )
    db.session.commit()
    admin = login(app.test_client(), make_user("admin"))
    page = admin.get(f"/admin/users/{alice.id}").get_data(as_text=True)
    section = page.split('data-testid="provider-grants"')[1].split("</section>")[0]
    assert f"{oidc.issuer} (subject <code>alice-0001</code>)" in section
    assert "<dt>Roles from the provider</dt>\n    <dd>catalog_manager</dd>" in section
    assert "<dt>Groups from the provider</dt>\n    <dd>Finance</dd>" in section
    assert "This user has no Offerdesk password" in section
