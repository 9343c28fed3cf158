"""The notice API checks the role before the body: an empty body from someone who may not post
notices is a 403, never a 422 that lists the fields; from someone who may, it is a 422."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.catalog import services as catalog
from app.extensions import db
from app.status import services as status
from app.status.models import ServiceNotice
from tests.conftest import token_for


@pytest.fixture
def callers(users, make_user):
    return {**users, "tier2": make_user("support_agent", tier=2)}


@pytest.fixture
def notice(users):
    product = catalog.save_product(users["product_manager"], name="Remote Access")
    return status.post_notice(
        users["product_manager"],
        product_id=product.id,
        kind="outage",
        title="Gateway down",
        message="Looking into it",
        starts_at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC).isoformat(),
    )


EXPECTED = [
    ("product_manager", 422),
    ("tier2", 422),
    ("support_agent", 403),
    ("catalog_manager", 403),
    ("consumer", 403),
    ("admin", 403),
    ("", 401),
]


def _post_empty(api, callers, who, path):
    response = api(token_for(callers[who]) if who else None).post(path, json={})
    assert response.mimetype == "application/problem+json"
    return response


@pytest.mark.parametrize(("who", "status_code"), EXPECTED)
def test_posting_a_notice_with_an_empty_body(api, callers, who, status_code):
    response = _post_empty(api, callers, who, "/api/v1/notices")
    assert response.status_code == status_code
    assert ("title" in (response.json.get("errors") or {})) == (status_code == 422)
    assert db.session.scalar(sa.select(sa.func.count(ServiceNotice.id))) == 0


@pytest.mark.parametrize(("who", "status_code"), EXPECTED)
def test_updating_a_notice_with_an_empty_body(api, callers, notice, who, status_code):
    response = _post_empty(api, callers, who, f"/api/v1/notices/{notice.id}/updates")
    assert response.status_code == status_code
    assert ("message" in (response.json.get("errors") or {})) == (status_code == 422)
    assert db.session.get(ServiceNotice, notice.id).resolved_at is None
