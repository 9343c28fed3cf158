"""The dashboard and the status page (HTML and JSON) run the same number of queries whatever the
number of subscriptions, usage rows, requests and notices behind them."""

from datetime import timedelta

from app.status import services as status
from app.support import services as support
from tests.conftest import count_queries, login, token_for
from tests.status import test_services as shared
from tests.status.test_services import NOW, fulfil, usage_rows

world = shared.world  # the shared scenario fixture


def measure(client, path: str, **kwargs) -> int:
    client.get(path, **kwargs)  # warm up: flashed messages, first-use caches
    with count_queries() as queries:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries)


def grow(
    world, users, *, subscriptions: int, usage: int, requests: int, notices: int, key: str
) -> None:
    """Add subscriptions (for both groups), usage rows on the Finance subscription, support
    requests and notices with updates."""
    agents = world["agents"]
    for number in range(subscriptions):
        consumer = users["consumer"] if number % 2 else users["other_consumer"]
        fulfil(consumer, agents[1], world["vpn" if number % 3 else "wiki"], f"{key}-{number}")
    sub = world["finance"]
    status.record_usage(
        world["feeder"],
        usage_rows(sub.id, "gb_transferred", usage, start=NOW - timedelta(days=usage), per_day=0.5),
    )
    for number in range(requests):
        request = support.open_request(
            users["consumer"],
            sub.id,
            request_type="question",
            priority="low",
            subject=f"Question {key} {number}",
            description="?",
        )
        if number % 2:
            support.transition_request(agents[1], request.id, "in_progress")
    for number in range(notices):
        notice = status.post_notice(
            users["product_manager"],
            product_id=world["product"].id,
            kind="maintenance",
            title=f"Patch {key} {number}",
            message="",
            starts_at=NOW + timedelta(days=1 + number),
        )
        status.update_notice(users["product_manager"], notice.id, message="Still planned")


def test_status_pages_and_dashboards_run_a_bounded_number_of_queries(world, users, app):
    manager = login(app.test_client(), users["product_manager"])
    catalog_manager = login(app.test_client(), users["catalog_manager"])
    consumer = login(app.test_client(), users["consumer"])
    sub_id = world["finance"].id
    consumer_token = {"Authorization": f"Bearer {token_for(users['consumer'])}"}
    manager_token = {"Authorization": f"Bearer {token_for(users['product_manager'])}"}
    wide = "?from=2026-06-01&to=2026-11-20"
    pages = [
        (manager, "/status/dashboard" + wide, {}),
        (catalog_manager, "/status/dashboard" + wide, {}),
        (consumer, "/status/dashboard" + wide, {}),
        (manager, "/status/dashboard/summary.csv" + wide, {}),
        (manager, "/status/dashboard/offers.csv" + wide, {}),
        (manager, "/status/dashboard?page=2" + wide.replace("?", "&"), {}),
        (consumer, f"/status/subscriptions/{sub_id}" + wide, {}),
        (manager, f"/status/subscriptions/{sub_id}" + wide, {}),
        (consumer, "/status/notices", {}),
        (manager, "/status/notices", {}),
        (
            app.test_client(),
            f"/api/v1/subscriptions/{sub_id}/status" + wide,
            {"headers": consumer_token},
        ),
        (app.test_client(), "/api/v1/kpis" + wide, {"headers": manager_token}),
        (app.test_client(), "/api/v1/notices", {"headers": consumer_token}),
    ]
    # 3 subscriptions (the 2 of the fixture and 1 more), 10 usage rows, 2 requests, 1 notice …
    grow(world, users, subscriptions=1, usage=10, requests=2, notices=1, key="small")
    small = [measure(client, path, **kwargs) for client, path, kwargs in pages]
    # … then 30 subscriptions, 300 usage rows, 12 requests, 6 notices.
    grow(world, users, subscriptions=27, usage=300, requests=10, notices=5, key="large")
    large = [measure(client, path, **kwargs) for client, path, kwargs in pages]
    assert large == small, list(zip([path for _, path, _ in pages], small, large, strict=True))
