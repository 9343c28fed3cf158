"""The Release stream's and the knowledge base's state machines (the moves written out here by
hand), the CHECKs that hold their states, the version lock on articles, the system acting where
no person does (and nobody acting for no one), and the role checked before the body."""

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import SYSTEM
from app.audit.models import AuditEvent
from app.catalog import services as catalog
from app.catalog.exchange import export_catalog, import_catalog
from app.catalog.models import ProductRelease, ServiceOffer
from app.catalog.states import OFFER, RELEASE
from app.errors import Conflict, InvalidTransition, NotAllowed
from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle
from app.knowledge.states import ARTICLE
from tests.catalog.conftest import complete_offer_data
from tests.conftest import login, token_for

RELEASE_STATES = ("planned", "accepted", "deployed", "retired")
RELEASE_MOVES = {
    ("planned", "accepted"),
    ("planned", "retired"),
    ("accepted", "deployed"),
    ("accepted", "planned"),
    ("accepted", "retired"),
    ("deployed", "retired"),
}
OFFER_STATES = ("draft", "planned", "ready", "published", "retired", "superseded")
OFFER_MOVES = {
    ("draft", "planned"),
    ("planned", "draft"),
    ("planned", "ready"),
    ("ready", "planned"),
    ("ready", "published"),
    ("published", "retired"),
    ("published", "superseded"),
}
ARTICLE_STATES = ("draft", "published")
ARTICLE_MOVES = {("draft", "published"), ("published", "draft")}


@pytest.mark.parametrize(
    ("machine", "states", "moves", "initial"),
    [
        (RELEASE, RELEASE_STATES, RELEASE_MOVES, set(RELEASE_STATES)),  # a catalog file's
        (OFFER, OFFER_STATES, OFFER_MOVES, {"draft"}),
        (ARTICLE, ARTICLE_STATES, ARTICLE_MOVES, {"draft", "published"}),
    ],
    ids=["release", "offer", "article"],
)
def test_the_declared_states_and_moves(machine, states, moves, initial):
    assert machine.states == states
    assert set(machine.moves) == moves
    assert machine.initial == initial
    for source in states:
        for target in states:
            assert machine.allows(source, target) == ((source, target) in moves), (source, target)


@pytest.mark.parametrize(
    ("model", "states"),
    [
        (ProductRelease, RELEASE_STATES),
        (ServiceOffer, OFFER_STATES),
        (KnowledgeArticle, ARTICLE_STATES),
    ],
    ids=["release", "offer", "article"],
)
def test_each_model_declares_the_check_of_its_states(model, states):
    checks = [
        constraint.name
        for constraint in model.__table__.constraints
        if isinstance(constraint, sa.CheckConstraint)
        and str(constraint.sqltext).startswith("status IN")
    ]
    assert checks == [f"ck_{model.__tablename__}_status"]
    (check,) = [c for c in model.__table__.constraints if c.name == checks[0]]
    assert str(check.sqltext) == "status IN ({})".format(", ".join(f"'{s}'" for s in states))


@pytest.mark.parametrize("model", [ServiceOffer, KnowledgeArticle])
def test_the_version_is_the_mappers_lock(model):
    assert sa.inspect(model).version_id_col is model.__table__.c.version


def test_a_new_offer_cannot_start_published():
    with pytest.raises(InvalidTransition, match="not|cannot"):
        ServiceOffer(code="X", name="X", status="published")


def test_a_direct_write_of_an_undeclared_offer_move_is_refused(make_offer):
    offer = make_offer("VPN")
    with pytest.raises(InvalidTransition, match="A published offer cannot become draft"):
        offer.status = "draft"
    with pytest.raises(InvalidTransition, match="not a status of a offer|not a status"):
        offer.status = "archived"


def test_a_manager_cannot_ask_for_superseded(make_offer, users):
    offer, manager = make_offer("VPN"), users["catalog_manager"]
    with pytest.raises(InvalidTransition) as refused:
        catalog.transition_offer(manager, offer.id, "superseded")
    assert refused.value.message == (
        "A published offer cannot become superseded. Allowed next: retired."
    )
    assert db.session.get(ServiceOffer, offer.id).status == "published"


def _moves(offer_id: int) -> list[tuple[str, str]]:
    return [
        (changes["status"]["before"], changes["status"]["after"])
        for changes in db.session.scalars(
            sa.select(AuditEvent.changes)
            .where(AuditEvent.object_type == "offer", AuditEvent.object_id == str(offer_id))
            .order_by(AuditEvent.id)
        )
        if "status" in changes
    ]


def test_publishing_a_revision_supersedes_the_live_one_through_declared_moves(make_offer, users):
    first, manager = make_offer("VPN"), users["catalog_manager"]
    revision = catalog.create_revision(manager, first.id)
    for status in ("planned", "ready", "published"):
        catalog.transition_offer(manager, revision.id, status)
    db.session.expire_all()
    old, new = db.session.get(ServiceOffer, first.id), db.session.get(ServiceOffer, revision.id)
    assert (old.status, new.status) == ("superseded", "published")
    assert _moves(first.id) == [
        ("draft", "planned"),
        ("planned", "ready"),
        ("ready", "published"),
        ("published", "superseded"),
    ]
    assert _moves(revision.id) == [
        ("draft", "planned"),
        ("planned", "ready"),
        ("ready", "published"),
    ]


def test_a_release_move_the_machine_does_not_declare_is_refused(users):
    pm = users["product_manager"]
    product = catalog.save_product(pm, name="Gateway")
    release = catalog.create_release(pm, product.id, version="1.0", status="deployed")
    with pytest.raises(InvalidTransition) as refused:
        catalog.transition_release(pm, release.id, "planned")
    assert refused.value.message == (
        "A deployed release cannot become planned. Allowed next: retired."
    )
    assert refused.value.fields == {"to": ["Allowed next: retired."]}
    with pytest.raises(InvalidTransition, match="A deployed release cannot become accepted"):
        release.status = "accepted"


# --- articles: the machine and the lock ---------------------------------------------------------


def test_an_article_starts_at_version_one_and_each_change_moves_it(users):
    writer = users["catalog_manager"]
    article = knowledge.save_article(writer, title="Tokens", body="Ask.", status="draft")
    assert article.version == 1
    knowledge.save_article(
        writer,
        article_id=article.id,
        title="Tokens",
        body="Ask.",
        status="published",
        expected_version=1,
    )
    saved = db.session.get(KnowledgeArticle, article.id)
    assert (saved.status, saved.version) == ("published", 2)


def test_a_stale_article_save_is_refused_naming_who_changed_what(users, make_user):
    writer, other = users["catalog_manager"], make_user("support_agent", name="Sue Agent")
    article = knowledge.save_article(writer, title="Tokens", body="Ask.")
    knowledge.save_article(
        other, article_id=article.id, title="Tokens", body="Ask the desk.", expected_version=1
    )
    with pytest.raises(Conflict) as refused:
        knowledge.save_article(
            writer, article_id=article.id, title="VPN tokens", body="Ask.", expected_version=1
        )
    assert refused.value.message.startswith(
        "This article was changed since you opened it by Sue Agent at "
    )
    assert refused.value.message.endswith(" UTC: body. Nothing of yours was saved.")
    saved = db.session.get(KnowledgeArticle, article.id)
    assert (saved.title, saved.body, saved.version) == ("Tokens", "Ask the desk.", 2)


def test_the_article_form_shows_a_stale_save_at_the_form_and_keeps_the_text(app, users, make_user):
    writer = users["catalog_manager"]
    article = knowledge.save_article(writer, title="Tokens", body="Ask.")
    unit_of_work.commit()
    mine = login(app.test_client(), writer)
    theirs = login(app.test_client(), make_user("support_agent", name="Sue Agent"))
    url = f"/support/knowledge/{article.id}/edit"
    assert 'name="version" type="hidden" value="1"' in mine.get(url).get_data(as_text=True)
    form = {"title": "Tokens", "status": "published", "product_id": "", "offer_codes": ""}
    saved = theirs.post(url, data={**form, "body": "Ask the desk.", "version": "1"})
    assert saved.status_code == 302
    stale = mine.post(url, data={**form, "body": "My own words.", "version": "1"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    conflict = page.split('data-testid="conflict"')[1].split("</div>")[0]
    assert "This article was changed since you opened it by Sue Agent at " in conflict
    assert " UTC: body. Nothing of yours was saved." in conflict
    assert "My own words." in page  # the writer's text is kept
    assert db.session.get(KnowledgeArticle, article.id).body == "Ask the desk."


# --- nobody acts for no one; the system may ---------------------------------------------------


def _calls(offer, product, release, article, category):
    """A representative set of the catalog's and the knowledge base's writes, for an actor."""
    code = offer.code
    return {
        "create_offer": lambda a: catalog.create_offer(a, complete_offer_data("NEW-ONE")),
        "update_offer": lambda a: catalog.update_offer(
            a, offer.id, {"summary": "By the system"}, expected_version=None
        ),
        "transition_offer": lambda a: catalog.transition_offer(a, offer.id, "planned"),
        "set_featured": lambda a: catalog.set_featured(a, code, True),
        "set_audience": lambda a: catalog.set_audience(a, code, group_ids=[]),
        "add_price_change": lambda a: catalog.add_price_change(
            a, code, price="9.00", effective_from="2031-01-01"
        ),
        "save_category": lambda a: catalog.save_category(a, name="System made"),
        "save_product": lambda a: catalog.save_product(a, name="System product"),
        "create_release": lambda a: catalog.create_release(a, product.id, version="9.9"),
        "transition_release": lambda a: catalog.transition_release(a, release.id, "accepted"),
        "save_article": lambda a: knowledge.save_article(a, title="By the system", body="x"),
        "link_articles": lambda a: knowledge.link_articles(a, code, [article.id]),
        "export_catalog": export_catalog,
        "import_catalog": lambda a: import_catalog(a, {"offers": []}),
    }


@pytest.fixture
def targets(make_offer, users):
    offer = make_offer("VPN", publish=False)
    pm = users["product_manager"]
    product = catalog.save_product(pm, name="Gateway")
    release = catalog.create_release(pm, product.id, version="1.0")
    article = knowledge.save_article(users["catalog_manager"], title="Gateway", body="x")
    category = catalog.save_category(users["catalog_manager"], name="Network")
    return offer, product, release, article, category


CALLS = [
    "create_offer",
    "update_offer",
    "transition_offer",
    "set_featured",
    "set_audience",
    "add_price_change",
    "save_category",
    "save_product",
    "create_release",
    "transition_release",
    "save_article",
    "link_articles",
    "export_catalog",
    "import_catalog",
]


@pytest.mark.parametrize("name", CALLS)
def test_no_actor_is_refused(targets, name):
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with pytest.raises(NotAllowed):
        _calls(*targets)[name](None)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


@pytest.mark.parametrize("name", CALLS)
def test_the_system_is_allowed(targets, name):
    _calls(*targets)[name](SYSTEM)


# --- the role before the body -------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"x": "garbage"}, "not json"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/offers"),
        ("patch", "/api/v1/offers/{offer}"),
        ("post", "/api/v1/offers/{offer}/transitions"),
        ("post", "/api/v1/offers/{offer}/price-changes"),
        ("put", "/api/v1/offers/{offer}/audience"),
        ("put", "/api/v1/offers/{offer}/members"),
        ("post", "/api/v1/categories"),
        ("patch", "/api/v1/categories/{category}"),
        ("post", "/api/v1/products"),
        ("post", "/api/v1/products/{product}/releases"),
        ("post", "/api/v1/releases/{release}/transitions"),
        ("post", "/api/v1/catalog/import"),
    ],
)
def test_a_consumer_is_refused_before_the_body_is_read(api, users, targets, method, path, body):
    offer, product, release, _, category = targets
    url = path.format(offer=offer.id, product=product.id, release=release.id, category=category.id)
    client = api(token_for(users["consumer"]))
    sent = {"json": body} if isinstance(body, dict) else {"data": body}
    response = getattr(client, method)(url, headers={"If-Match": '"1"'}, **sent)
    assert response.status_code == 403, (url, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
