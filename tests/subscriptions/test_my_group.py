"""A group's managers see its subscriptions and support requests on My groups; other members
and outsiders are told there is no such group."""

import pytest

from app.accounts import services as accounts
from app.accounts.models import SYSTEM
from app.accounts.services import groups
from app.errors import NotFound
from app.extensions import db
from app.subscriptions import services as subs
from app.subscriptions.services import group_view
from tests.conftest import login


@pytest.fixture
def finance(users, make_user, make_offer):
    """Finance: the consumer (member) holds a VPN subscription; Mia manages the group."""
    mia = make_user("consumer", groups=("Finance",), name="Mia Manager", email="mia@example.test")
    group = accounts.find_group_by_name("Finance")
    groups.set_managers(SYSTEM, group, [mia])
    offer = make_offer("VPN-ACCESS")
    order, _ = subs.subscribe(
        users["consumer"],
        offer.id,
        options={"profile": "developer", "devices": 2},
        accept_terms=True,
        idempotency_key="mine-1",
    )
    db.session.commit()
    return {"group": group, "mia": mia, "subscription": order.subscription}


def test_the_manager_sees_the_groups_subscriptions(users, finance):
    rows = db.session.scalars(
        group_view.group_subscriptions_query(finance["mia"], finance["group"].id)
    ).all()
    assert [s.id for s in rows] == [finance["subscription"].id]
    counts = group_view.group_subscription_counts(finance["mia"], finance["group"].id)
    assert counts == {users["consumer"].id: 1}
    only_mia = group_view.group_subscriptions_query(
        finance["mia"], finance["group"].id, owner_id=finance["mia"].id
    )
    assert db.session.scalars(only_mia).all() == []


@pytest.mark.parametrize("who", ["consumer", "other_consumer"])
def test_members_and_outsiders_do_not_oversee_the_group(users, finance, who):
    with pytest.raises(NotFound):
        group_view.group_subscriptions_query(users[who], finance["group"].id)


def test_my_group_page_for_the_manager(app, users, finance):
    client = login(app.test_client(), finance["mia"])
    home = client.get("/").get_data(as_text=True)
    assert 'href="/support/my-groups"' in home
    response = client.get("/support/my-groups")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/support/my-groups/{finance['group'].id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>Finance</h1>" in page
    assert "Managed by Mia Manager." in page
    assert page.count('data-testid="group-subscription-row"') == 1
    assert f">{users['consumer'].name}</td>" in page
    assert "VPN access" in page


def test_my_group_page_refuses_a_member_who_does_not_manage(app, users, finance):
    client = login(app.test_client(), users["consumer"])
    assert 'href="/support/my-groups"' not in client.get("/").get_data(as_text=True)
    assert client.get(f"/support/my-groups/{finance['group'].id}").status_code == 404
    listing = client.get("/support/my-groups").get_data(as_text=True)
    assert "You manage no group." in listing
    assert client.get("/support/my-groups/x").status_code == 404
    assert client.get(f"/support/my-groups/{finance['group'].id}?member=abc").status_code == 404
