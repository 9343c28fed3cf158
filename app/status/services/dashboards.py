"""Dashboards: every KPI of a viewer's scope over a period, the figures per offer for managers,
the choices of the dashboard's filters, and the viewer's groups' subscriptions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...accounts.models import Role, User
from ...catalog.models import DigitalProduct, ServiceOffer
from ...errors import NotAllowed
from ...extensions import db
from ...i18n import gettext
from ...inputs import whole_number
from ...paging import RowPage
from ...subscriptions import services as subscriptions
from ...subscriptions.models import Order, OrderType, Subscription
from ..models import OfferRollup
from ..sqltime import at
from . import rollup_reads as rolled
from .flow import flow_metrics
from .kpis import (
    RUNNING,
    availability,
    deflection_rate,
    fulfillment_kpis,
    running_span,
    subscription_counts,
    support_kpis,
)
from .periods import Period
from .revenue import revenue
from .rollup_orders import order_figures
from .scopes import chosen_product, scope_for
from .usage import usage_totals

OFFERS_PER_PAGE = 25
OFFER_CHOICE_LIMIT = 200
LIVE_OFFER_STATUSES = ("published", "retired")


def dashboard(
    viewer: User,
    period: Period,
    *,
    product_id: Any = None,
    offer_code: str = "",
    from_facts: bool = False,
) -> dict:
    """Every KPI of the viewer's scope over the period. Subscriptions, revenue, usage, support,
    fulfillment and flow come from the daily rollups (whole days) and the facts (the rest);
    `from_facts` computes them from the facts alone, the reference the rollups are tested
    against."""
    scope = scope_for(viewer, product_id=product_id, offer_code=offer_code)
    if from_facts:
        support = support_kpis(scope.requests, period)
        counts = subscription_counts(scope.subscriptions, period)
        usage = usage_totals(scope.subscriptions, period)
        fulfillment = fulfillment_kpis(scope.orders, period)
        flow = flow_metrics(scope.orders, scope.requests, period)
    else:
        support = rolled.support_kpis(scope, period)
        counts = rolled.subscription_counts(scope, period)
        usage = rolled.usage_totals(scope, period)
        fulfillment, flow = order_figures(scope, period)
    sees_revenue = viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER)
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "subscriptions": counts,
        "revenue": (revenue(scope.subscriptions) if from_facts else rolled.revenue(scope))
        if sees_revenue
        else None,
        "usage": usage,
        "fulfillment": fulfillment,
        "support": support,
        "deflection_pct": deflection_rate(scope.subscriptions, period, support["requests"]),
        "availability_pct": availability(
            scope.product_ids,
            period if scope.product_wide else running_span(scope.subscriptions, period),
        ),
        "flow": flow,
    }


def kpi_report(
    viewer: User,
    period: Period,
    *,
    product_id: Any = None,
    offer_code: str = "",
    page: int = 1,
    per_page: int | None = None,
) -> dict:
    """The dashboard's figures and, for those who see them, one page of every live offer's,
    busiest first, with the API's paging fields (page, per_page, pages, total offers)."""
    data = dashboard(viewer, period, product_id=product_id, offer_code=offer_code)
    if sees_offer_figures(viewer):
        offers = offer_table_page(
            viewer, period, product_id=product_id, page=page, per_page=per_page
        )
        data["offers"] = offers.items
        data.update(
            page=offers.page, per_page=offers.per_page, pages=offers.pages, total=offers.total
        )
    return data


def sees_offer_figures(viewer: User) -> bool:
    """Catalog and product managers see the dashboard's figures per offer."""
    return viewer.has_role(Role.CATALOG_MANAGER, Role.PRODUCT_MANAGER)


def _figures_row(code, orders, active, shown) -> sa.Select:
    def number(value):
        return sa.literal(value, sa.Integer) if isinstance(value, int) else value

    return sa.select(
        code.label("code"),
        number(orders).label("orders"),
        number(active).label("active"),
        number(shown).label("shown"),
    )


def _figures_per_code(period: Period, from_facts: bool) -> list[sa.Select]:
    """Rows of (code, orders, active, not shown) to be summed per code: one per new
    order in the period, and the running subscriptions, top-level ones from the offer rollups
    (one row per offer) and the few child subscriptions from the facts; or all running ones
    from the facts."""
    S = Subscription  # noqa: N806
    one, zero = 1, 0

    def row(code, orders, active) -> sa.Select:
        return _figures_row(code, orders, active, 0)

    orders = (
        row(S.offer_code, one, zero)
        .join(Order, Order.subscription_id == S.id)
        .where(
            Order.created_at >= at(period.start),
            Order.created_at < at(period.end),
            Order.order_type == OrderType.NEW.value,
        )
    )
    if from_facts:
        return [orders, row(S.offer_code, zero, one).where(S.status.in_(RUNNING))]
    rolled = (
        row(ServiceOffer.code, zero, OfferRollup.running)
        .join(ServiceOffer, ServiceOffer.id == OfferRollup.offer_id)
        .where(OfferRollup.currency == "", OfferRollup.running > 0)
    )
    children = row(S.offer_code, zero, one).where(
        # ids are positive: `> 0` is IS NOT NULL as a range SQLite walks by the parent index
        # (its statistics, nearly all NULL, make it scan every subscription for IS NOT NULL)
        S.parent_id > 0,
        S.status.in_(RUNNING),
    )
    return [orders, rolled, children]


def _offer_table_query(
    viewer: User, period: Period, product_id: Any, from_facts: bool = False
) -> tuple[sa.Select, sa.Select]:
    """Per live offer code: new orders in the period and active subscriptions now, busiest
    first (no names yet: `_named`); and the count of those codes. One pass groups every row
    by code, the live offers' own rows (one live offer per code: uq_offer_one_live, which
    also covers them) marking the codes shown: cheaper than joining three grouped sets."""
    if not sees_offer_figures(viewer):
        raise NotAllowed(gettext("Only managers see figures per offer."))
    live = [ServiceOffer.status.in_(LIVE_OFFER_STATUSES)]
    product_id = chosen_product(product_id)
    if product_id is not None:
        live.append(ServiceOffer.product_id == product_id)
    own = _figures_row(ServiceOffer.code, 0, 0, 1).where(*live)
    rows = sa.union_all(own, *_figures_per_code(period, from_facts)).subquery("figures")
    orders, active = sa.func.sum(rows.c.orders), sa.func.sum(rows.c.active)
    query = (
        sa.select(rows.c.code, orders.label("orders"), active.label("active"))
        .group_by(rows.c.code)
        .having(sa.func.max(rows.c.shown) == 1)
        .order_by(active.desc(), orders.desc(), rows.c.code)
    )
    # count(*): the partial index uq_offer_one_live answers it alone
    return query, sa.select(sa.func.count()).select_from(ServiceOffer).where(*live)


def _named(ranked: sa.Select) -> list[dict]:
    """The ranked rows (a page of them, or all) with their live offer's name, in their order:
    names are read for the rows shown only, not carried through the grouping."""
    rows = ranked.subquery("ranked")
    query = (
        sa.select(rows.c.code, ServiceOffer.name, rows.c.orders, rows.c.active)
        .join(
            ServiceOffer,
            sa.and_(ServiceOffer.code == rows.c.code, ServiceOffer.status.in_(LIVE_OFFER_STATUSES)),
        )
        .order_by(rows.c.active.desc(), rows.c.orders.desc(), rows.c.code)
    )
    return [
        {"code": code, "name": name, "orders": int(n_orders), "active": int(n_active)}
        for code, name, n_orders, n_active in db.session.execute(query).all()
    ]


def offer_table(
    viewer: User, period: Period, *, product_id: Any = None, from_facts: bool = False
) -> list[dict]:
    """Every live offer's figures, busiest first (catalog and product managers; CSV and API)."""
    query, _ = _offer_table_query(viewer, period, product_id, from_facts)
    return _named(query)


def offer_table_page(
    viewer: User,
    period: Period,
    *,
    product_id: Any = None,
    page: int = 1,
    per_page: int | None = None,
) -> RowPage:
    """One page of `offer_table` (OFFERS_PER_PAGE rows unless told); a page past the end shows
    the last one."""
    per_page = per_page or OFFERS_PER_PAGE
    query, count = _offer_table_query(viewer, period, product_id)
    total = db.session.scalar(count)
    page = max(1, min(page, -(-total // per_page) or 1))
    items = _named(query.limit(per_page).offset((page - 1) * per_page))
    return RowPage(items=items, total=total, page=page, per_page=per_page)


def filter_choices(viewer: User, product_id: Any = None, offer_code: Any = "") -> dict:
    """Products, and the offers (live codes, optionally of one product) for the dashboard's selects.
    Consumers choose among the offers their groups subscribe to. Thousands of offers are no
    choice to scroll through: past OFFER_CHOICE_LIMIT, and with no product chosen, the list
    holds only the chosen offer and `offers_narrowed` asks for a product first."""
    products = db.session.execute(
        sa.select(DigitalProduct.id, DigitalProduct.name).order_by(DigitalProduct.name)
    ).all()
    offers = sa.select(ServiceOffer.code, sa.func.max(ServiceOffer.name)).where(
        ServiceOffer.status.in_(LIVE_OFFER_STATUSES)
    )
    if whole_number(product_id):
        offers = offers.where(ServiceOffer.product_id == whole_number(product_id))
    if not viewer.has_role(Role.PRODUCT_MANAGER, Role.CATALOG_MANAGER, Role.SUPPORT_AGENT):
        offers = offers.where(
            ServiceOffer.code.in_(
                sa.select(Subscription.offer_code).where(
                    Subscription.group_id.in_(sorted(viewer.group_ids) or [-1])
                )
            )
        )
    offers = offers.group_by(ServiceOffer.code).order_by(ServiceOffer.code)
    listed = db.session.execute(offers.limit(OFFER_CHOICE_LIMIT + 1)).all()
    narrowed = not whole_number(product_id) and len(listed) > OFFER_CHOICE_LIMIT
    if narrowed:
        chosen = offer_code.strip().upper() if isinstance(offer_code, str) else ""
        listed = (
            db.session.execute(offers.where(ServiceOffer.code == chosen)).all() if chosen else []
        )
    return {
        "products": [(pid, name) for pid, name in products],
        "offers": [(code, name) for code, name in listed],
        "offers_narrowed": narrowed,
    }


def group_subscriptions(viewer: User, limit: int = 50) -> list[Subscription]:
    """A consumer's groups' top-level subscriptions, newest first (links to their status pages);
    nothing for staff, who reach status pages from the dashboards."""
    if not viewer.has_role(Role.CONSUMER) or not viewer.group_ids:
        return []
    return list(
        db.session.scalars(
            subscriptions.visible_subscriptions_query(viewer)
            .where(Subscription.group_id.in_(sorted(viewer.group_ids) or [-1]))
            .limit(limit)
        )
    )
