"""Seeding the demo makes a catalog that was there before its users: nobody is told of it."""

import sqlalchemy as sa

from app.accounts.models import User
from app.demo.seeds import load_seeds
from app.extensions import db
from app.notifications.models import Notification, OutboxEmail


def test_a_new_demo_consumer_logs_in_to_no_new_offer_notifications(app, client):
    load_seeds()
    consumer = db.session.scalar(sa.select(User).where(User.email == "erik@offerdesk.example"))
    subjects = db.session.scalars(
        sa.select(Notification.subject).where(Notification.user_id == consumer.id)
    ).all()
    assert [s for s in subjects if s.startswith(("New offer", "Now available"))] == []
    announcements = db.session.scalar(
        sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.subject.like("New offer:%"))
    )
    assert announcements == 0
