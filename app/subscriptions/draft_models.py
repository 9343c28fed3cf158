"""Saved drafts of order forms: what a consumer entered on an offer's order form, kept per user
until they resume and order it or delete it. Re-exported by models.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import ServiceOffer
from ..extensions import db
from ..models_base import UTCDateTime


class OrderDraft(db.Model):
    """values: {"options": {key: value as entered}, "labels": {key: label when saved},
    "group_id": "<id>" (optional), "requested_for": ["self", "<user id>", ...] (optional)}.
    Required fields are not checked when a draft is saved; ordering checks everything."""

    __tablename__ = "order_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    values: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    offer: Mapped[ServiceOffer] = relationship()
