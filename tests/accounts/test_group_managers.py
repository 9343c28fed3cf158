"""Group managers: chosen by an admin among the group's members, audited, shown on the admin
pages and in the API, seeded for the demo."""

import pytest
import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.audit.models import AuditEvent
from app.errors import NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from tests.conftest import login, token_for


@pytest.fixture
def legal(make_user, users):
    """Legal: two members (Lena, Lars), no manager yet; Otto is in no group of theirs."""
    group = accounts.save_group(SYSTEM, name="Legal")
    lena = make_user("consumer", groups=("Legal",), name="Lena Law", email="lena@example.test")
    lars = make_user("consumer", groups=("Legal",), name="Lars Law", email="lars@example.test")
    otto = make_user("consumer", groups=("Sales",), name="Otto Out", email="otto@example.test")
    db.session.commit()
    return {"group": group, "lena": lena, "lars": lars, "otto": otto}


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


# --- service ----------------------------------------------------------------------------------


def test_admin_sets_managers_and_the_change_is_audited(users, legal):
    group = legal["group"]
    groups.set_managers(users["admin"], group, [legal["lena"]])
    db.session.commit()
    assert [user.email for user in groups.managers_of(group)] == ["lena@example.test"]
    assert groups.is_group_manager(legal["lena"], group) is True
    assert groups.is_group_manager(legal["lars"], group) is False
    assert groups.is_group_manager(legal["lena"], group.id) is True
    assert [g.name for g in groups.managed_groups(legal["lena"])] == ["Legal"]
    assert groups.managed_groups(legal["lars"]) == []
    (event,) = _events("managers_changed")
    assert event.actor_id == users["admin"].id and event.object_id == str(group.id)
    assert event.changes == {"managers": {"before": [], "after": ["lena@example.test"]}}


def test_two_managers_and_back_to_none(users, legal):
    group = legal["group"]
    groups.set_managers(users["admin"], group, [legal["lars"], legal["lena"]])
    assert [user.name for user in groups.managers_of(group)] == ["Lars Law", "Lena Law"]
    groups.set_managers(users["admin"], group, [])
    db.session.commit()
    assert groups.managers_of(group) == []
    assert [e.changes["managers"]["after"] for e in _events("managers_changed")] == [
        ["lars@example.test", "lena@example.test"],
        [],
    ]


def test_a_manager_must_be_a_member(users, legal):
    group = legal["group"]
    with pytest.raises(ValidationFailed) as refused:
        groups.set_managers(users["admin"], group, [legal["lena"], legal["otto"]])
    assert refused.value.message == "A manager must be a member of the group."
    assert refused.value.fields == {
        "managers": ["Not a member of Legal: otto@example.test. Add them as members first."]
    }
    db.session.rollback()
    assert groups.managers_of(accounts.get_group(group.id)) == []
    assert _events("managers_changed") == []


@pytest.mark.parametrize("role", ["consumer", "catalog_manager", "product_manager"])
def test_only_an_admin_sets_managers(users, legal, role):
    with pytest.raises(NotAllowed):
        groups.set_managers(users[role], legal["group"], [legal["lena"]])
    with pytest.raises(NotAllowed):
        groups.set_managers(None, legal["group"], [legal["lena"]])
    assert groups.managers_of(legal["group"]) == []


def test_a_manager_who_leaves_the_group_stops_managing_it(users, legal):
    group = legal["group"]
    groups.set_managers(users["admin"], group, [legal["lena"]])
    accounts.set_group_members(users["admin"], group.id, [legal["lars"].id])
    db.session.commit()
    assert groups.managers_of(group) == []
    assert groups.managed_groups(legal["lena"]) == []
    event = _events("members_changed")[-1]
    assert event.changes["managers_removed"] == {"before": ["lena@example.test"], "after": []}


def test_by_email_names_the_unknown_address(users, legal):
    with pytest.raises(ValidationFailed) as refused:
        groups.set_managers_by_email(
            users["admin"], legal["group"].id, ["LENA@example.test", "nobody@example.test"]
        )
    assert refused.value.fields == {"managers": ["No user has the e-mail nobody@example.test."]}
    group = groups.set_managers_by_email(users["admin"], legal["group"].id, [" LENA@example.test"])
    assert [user.email for user in group.managers] == ["lena@example.test"]


def test_group_for_admins_and_members_only(users, legal):
    assert groups.group_for(legal["lena"], legal["group"].id).name == "Legal"
    assert groups.group_for(users["admin"], legal["group"].id).name == "Legal"
    with pytest.raises(NotFound):
        groups.group_for(legal["otto"], legal["group"].id)
    with pytest.raises(NotFound):
        groups.group_for(users["admin"], 99999)
    assert [g.name for g in groups.visible_groups(legal["otto"])] == ["Sales"]


# --- admin pages ------------------------------------------------------------------------------


def test_admin_chooses_managers_on_the_group_page(client_as, users, legal):
    client = client_as("admin")
    group = legal["group"]
    page = client.get(f"/admin/groups/{group.id}").get_data(as_text=True)
    assert '<h2 id="managers-heading">Managers</h2>' in page
    assert "Lena Law &lt;lena@example.test&gt;" in page
    response = client.post(
        f"/admin/groups/{group.id}/managers", data={"g-managers": [str(legal["lena"].id)]}
    )
    assert response.status_code == 302
    assert "Managers saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert [user.email for user in groups.managers_of(group)] == ["lena@example.test"]
    listing = client.get("/admin/groups").get_data(as_text=True)
    assert "<td>Lena Law</td>" in listing


def test_admin_page_refuses_a_non_member_with_the_reason(client_as, legal):
    client = client_as("admin")
    group = legal["group"]
    response = client.post(
        f"/admin/groups/{group.id}/managers",
        data={"g-managers": [str(legal["otto"].id)]},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A manager must be a member of the group." in text
    assert "Not a member of Legal: otto@example.test." in text
    db.session.expire_all()
    assert groups.managers_of(group) == []


def test_a_consumer_cannot_post_managers(app, legal):
    client = login(app.test_client(), legal["lena"])
    response = client.post(
        f"/admin/groups/{legal['group'].id}/managers", data={"g-managers": [str(legal["lena"].id)]}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert groups.managers_of(legal["group"]) == []


# --- API --------------------------------------------------------------------------------------


def test_api_put_managers_and_read_them_back(api, users, legal):
    admin = api(token_for(users["admin"]))
    group = legal["group"]
    response = admin.put(
        f"/api/v1/groups/{group.id}/managers", json={"managers": ["lena@example.test"]}
    )
    assert response.status_code == 200, response.json
    assert response.json == {
        "id": group.id,
        "name": "Legal",
        "description": "",
        "managers": [{"email": "lena@example.test", "name": "Lena Law"}],
    }
    member = api(token_for(legal["lars"])).get(f"/api/v1/groups/{group.id}")
    assert member.json["managers"] == [{"email": "lena@example.test", "name": "Lena Law"}]
    me = api(token_for(legal["lena"])).get("/api/v1/me").json
    assert me["managed_groups"] == [{"id": group.id, "name": "Legal"}]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"managers": ["otto@example.test"]},
            "managers",
            "Not a member of Legal: otto@example.test.",
        ),
        ({"managers": ["ghost@example.test"]}, "managers", "No user has the e-mail"),
        ({"managers": "lena@example.test"}, "managers", "Not a valid list."),
        ({}, "managers", "Missing data for required field."),
    ],
)
def test_api_bad_managers_are_422_and_change_nothing(api, users, legal, body, field, message):
    response = api(token_for(users["admin"])).put(
        f"/api/v1/groups/{legal['group'].id}/managers", json=body
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert message in " ".join(response.json["errors"][field])
    db.session.expire_all()
    assert groups.managers_of(legal["group"]) == []


def test_api_managers_permission_matrix(api, users, legal):
    url = f"/api/v1/groups/{legal['group'].id}/managers"
    body = {"managers": ["lena@example.test"]}
    assert api(token_for(legal["lena"])).put(url, json=body).status_code == 403
    assert api(token_for(users["catalog_manager"])).put(url, json=body).status_code == 403
    assert api(None).put(url, json=body).status_code == 401
    # who asks comes before what they send: a consumer's bad body is still a 403
    assert api(token_for(legal["lena"])).put(url, json={"x": 1}).status_code == 403
    assert (
        api(token_for(legal["otto"])).get(f"/api/v1/groups/{legal['group'].id}").status_code == 404
    )
    assert (
        api(token_for(users["admin"])).put("/api/v1/groups/99999/managers", json=body).status_code
        == 404
    )


# --- seeds ------------------------------------------------------------------------------------


def test_seeds_name_the_demo_managers(app):
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "group managers: 3 groups set" in result.output
    managers = {
        group.name: [user.email for user in groups.managers_of(group)]
        for group in accounts.list_groups()
    }
    assert managers == {
        "Engineering": ["grace@offerdesk.example"],
        "Finance": ["fiona@offerdesk.example"],
        "Finance Approvers": [],  # the approver group of the demo's approval policies
        "Sales": ["sam@offerdesk.example"],
        "Support Desk": [],
    }
    again = app.test_cli_runner().invoke(args=["seed"])
    assert "group managers: 0 groups set" in again.output


def test_admin_page_gives_and_takes_back_orders_for_others(client_as, users, legal):
    client = client_as("admin")
    group = legal["group"]
    page = client.get(f"/admin/groups/{group.id}").get_data(as_text=True)
    assert "<legend>May order for others</legend>" in page
    url = f"/admin/groups/{group.id}/ordering"
    response = client.post(url, data={"o-grantees": [str(legal["lars"].id)]}, follow_redirects=True)
    assert "Saved who may order for others." in response.get_data(as_text=True)
    db.session.expire_all()
    assert [user.email for user in groups.grantees_of(group)] == ["lars@example.test"]
    assert groups.may_order_for_others(legal["lars"], group) is True
    assert groups.may_order_for_others(legal["lena"], group) is False
    client.post(url, data={})
    db.session.expire_all()
    assert groups.grantees_of(group) == []
    assert [e.action for e in _events("ordering_granted") + _events("ordering_revoked")] == [
        "ordering_granted",
        "ordering_revoked",
    ]
    refused = client.post(url, data={"o-grantees": [str(legal["otto"].id)]}, follow_redirects=True)
    assert "Only a member of Legal may order for its members." in refused.get_data(as_text=True)
