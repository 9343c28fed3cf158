"""Two catalog managers save one offer at the same moment, each on a connection and a session of
its own: both read version n and pass every check before either writes (a barrier at their first
flush). The database lets one UPDATE match `WHERE version = n`: that save commits, the other is
refused (409) with the winner's name and the fields they changed, and the winner's change stays."""

import threading

import pytest
import sqlalchemy as sa

from app import unit_of_work
from app.accounts.models import User
from app.catalog import services as catalog
from app.catalog.models import ServiceOffer
from app.errors import Conflict
from app.extensions import db
from app.knowledge import services as knowledge
from app.knowledge.models import KnowledgeArticle


def _race(app, saves: dict[int, object]) -> dict[int, object]:
    """Run each user's save in its own app context (its own session and connection), both held
    at their first flush until the other got there too; what each one ended with."""
    barrier = threading.Barrier(len(saves))
    outcomes: dict[int, object] = {}

    def run(user_id: int) -> None:
        with app.app_context():
            flushed = []

            @sa.event.listens_for(db.session(), "before_flush")
            def both_have_checked(session, context, instances):
                if not flushed:
                    flushed.append(True)
                    barrier.wait(timeout=30)

            try:
                saves[user_id](db.session.get(User, user_id))
                unit_of_work.commit()
                outcomes[user_id] = "saved"
            except Conflict as error:
                outcomes[user_id] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(user_id,)) for user_id in saves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.committed
def test_two_managers_saving_one_offer_at_once_one_wins_the_other_is_told(
    app, make_offer, make_user
):
    ada = make_user("catalog_manager", name="Ada Manager")
    bo = make_user("catalog_manager", name="Bo Manager")
    offer = make_offer("VPN", publish=False)
    offer_id, read = offer.id, offer.version
    db.session.commit()  # from here on the threads read only their own sessions' rows
    wanted = {ada.id: {"name": "Ada's VPN"}, bo.id: {"price": "42.00"}}

    def save(user_id):
        return lambda user: catalog.update_offer(
            user, offer_id, wanted[user_id], expected_version=read
        )

    outcomes = _race(app, {user_id: save(user_id) for user_id in wanted})

    assert sorted(outcomes) == sorted(wanted)
    winners = [user_id for user_id, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1
    winner_id = winners[0]
    loser = next(outcome for outcome in outcomes.values() if outcome != "saved")
    assert isinstance(loser, Conflict) and loser.status == 409
    winner = db.session.get(User, winner_id)
    changed = "name" if winner_id == ada.id else "price"
    assert loser.message.startswith(
        f"This offer was changed since you opened it by {winner.name} at "
    )
    assert loser.message.endswith(f" UTC: {changed}. Nothing of yours was saved.")
    assert list(loser.fields) == ["version"]

    db.session.expire_all()
    saved = db.session.get(ServiceOffer, offer_id)
    assert saved.version == read + 1
    if winner_id == ada.id:
        assert (saved.name, str(saved.price)) == ("Ada's VPN", "7.50")
    else:
        assert (saved.name, str(saved.price)) == ("VPN access", "42.00")


@pytest.mark.committed
def test_two_writers_saving_one_article_at_once_one_wins(app, users, make_user):
    ada = make_user("support_agent", name="Ada Agent")
    bo = make_user("support_agent", name="Bo Agent")
    article = knowledge.save_article(users["catalog_manager"], title="Tokens", body="Ask.")
    article_id = article.id
    db.session.commit()
    bodies = {ada.id: "Ada's words.", bo.id: "Bo's words."}

    def save(user_id):
        return lambda user: knowledge.save_article(
            user, article_id=article_id, title="Tokens", body=bodies[user_id], expected_version=1
        )

    outcomes = _race(app, {user_id: save(user_id) for user_id in bodies})

    winners = [user_id for user_id, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1 and len(outcomes) == 2
    loser = next(outcome for outcome in outcomes.values() if outcome != "saved")
    winner = db.session.get(User, winners[0])
    assert loser.message.startswith(
        f"This article was changed since you opened it by {winner.name} at "
    )
    assert loser.message.endswith(" UTC: body. Nothing of yours was saved.")
    db.session.expire_all()
    saved = db.session.get(KnowledgeArticle, article_id)
    assert (saved.body, saved.version) == (bodies[winners[0]], 2)
