"""The cart: offers with their options that a consumer collects to order in one checkout, kept
on the server per user, and the checkouts done (so the same key never orders twice).
Re-exported by models.py."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..accounts.models import ConsumerGroup
from ..catalog.models import ServiceOffer
from ..extensions import db
from ..models_base import UTCDateTime


class Cart(db.Model):
    """One per user. `version` goes up by one on every change of its items (an SQL increment,
    so two changes at once make two versions): a checkout names the version it saw. `changes`
    keeps the latest changes ({"version", "change": added|changed|removed|ordered, "item_id",
    "offer"}), so a stale checkout can say what changed since the version it saw."""

    __tablename__ = "carts"
    __table_args__ = (sa.CheckConstraint("version >= 1", name="version_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    changes: Mapped[list] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", order_by="CartItem.id", cascade="all, delete-orphan"
    )


class CartItem(db.Model):
    """An offer with its options (as cleaned when added or changed), the group it is for, and
    whether its terms are accepted. `offer_version` and `offer_status` are the offer as it was
    when added, to tell what changed since. `lease_ends_on`: the lease's end chosen in the order
    form, for an offer with `lease_end_chosen` (None: `lease_days` after the checkout)."""

    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(sa.ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("service_offers.id", ondelete="CASCADE"))
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    accept_terms: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consumer_groups.id", ondelete="SET NULL")
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    offer_version: Mapped[int] = mapped_column()
    offer_status: Mapped[str] = mapped_column(sa.String(16))
    lease_ends_on: Mapped[date | None] = mapped_column(sa.Date)

    cart: Mapped[Cart] = relationship(back_populates="items")
    offer: Mapped[ServiceOffer] = relationship()
    group: Mapped[ConsumerGroup | None] = relationship()


class CartCheckout(db.Model):
    """A checkout done: its idempotency key (unique per user), the fingerprint of the request
    (the cart version it checked out), and the orders it created, in item order."""

    __tablename__ = "cart_checkouts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_cart_checkout_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    request_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    order_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
