"""Load seeds/status.yaml: usage metrics, demo subscriptions (when there are none), demo usage
over the last days, and service notices. Idempotent: what exists is left as it is."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import yaml

from .. import clock
from ..catalog.models import DigitalProduct
from ..extensions import db
from ..status import services as status
from ..status.models import ServiceNotice, UsageMetric, UsageRecord
from ..subscriptions.models import Subscription, SubscriptionStatus
from .common import find_user, order_and_fulfil


def load_status_seeds(folder: Path | str) -> list[str]:
    path = Path(folder) / "status.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        _load_metrics(data.get("metrics") or []),
        _load_subscriptions(data.get("demo_subscriptions") or {}),
        _load_usage(data.get("usage") or {}),
        _load_notices(data.get("notices") or {}),
    ]


def _load_metrics(items: list[dict]) -> str:
    known = set(db.session.scalars(sa.select(UsageMetric.key)))
    created = 0
    for item in items:
        if item["key"] not in known:
            db.session.add(
                UsageMetric(
                    key=item["key"],
                    label=item.get("label") or item["key"],
                    unit=item.get("unit", ""),
                    kind=item.get("kind", "counter"),
                )
            )
            created += 1
    db.session.commit()
    return f"usage metrics: {created} created"


def _load_subscriptions(config: dict) -> str:
    """Order and fulfil the listed offers for consumers who have no subscription yet."""
    agent = find_user(config.get("agent"))
    ordered_at = clock.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
        days=int(config.get("ordered_days_ago") or 0)
    )
    created, skipped = 0, []
    consumers_done: dict[str, bool] = {}
    for item in config.get("orders") or []:
        consumer = find_user(item.get("consumer"))
        if consumer is None or not consumer.group_ids:
            skipped.append(f"{item.get('offer')} (no consumer {item.get('consumer')})")
            continue
        if item["consumer"] not in consumers_done:
            consumers_done[item["consumer"]] = bool(
                db.session.scalar(
                    sa.select(sa.func.count(Subscription.id)).where(
                        Subscription.group_id.in_(sorted(consumer.group_ids))
                    )
                )
            )
        if consumers_done[item["consumer"]]:
            continue
        refusal = order_and_fulfil(
            consumer, agent, item, ordered_at, key=f"seed-status-{item['offer']}", hours=3
        )
        if refusal is None:
            created += 1
        else:
            skipped.append(f"{item['offer']} ({refusal})")
    line = f"demo subscriptions: {created} created"
    return line + (f"; skipped {', '.join(skipped)}" if skipped else "")


def _load_usage(config: dict) -> str:
    """Daily usage for the demo consumers' active subscriptions that have none yet."""
    days = int(config.get("days") or 60)
    emails = config.get("consumers") or []
    group_ids = sorted(
        {group_id for email in emails if (user := find_user(email)) for group_id in user.group_ids}
    )
    if not group_ids:
        return "demo usage: no demo consumers"
    known = set(db.session.scalars(sa.select(UsageMetric.key)))
    targets = _without_usage(group_ids, int(config.get("max_subscriptions") or 12))
    profiles = config.get("profiles") or {}
    weekend = float(config.get("weekend_factor", 0.4))
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows, days_fed = 0, set()
    for subscription in targets:
        profile = profiles.get(subscription.offer_code) or profiles.get("default") or {}
        first = today - timedelta(days=days)
        since = subscription.active_since
        if since is not None and since < today - timedelta(
            days=7
        ):  # a history of its own: start there
            first = max(
                first, since.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            )
        for metric, (base, growth) in profile.items():
            if metric in known:
                rows += _add_daily_usage(
                    subscription, metric, first, today, base, growth, weekend, days_fed
                )
    if days_fed:  # the dashboards' rollups count the seeded days as the usage feed would
        status.rollups.refresh_usage_days(db.session, days_fed)
    db.session.commit()
    return f"demo usage: {rows} rows for {len(targets)} subscriptions"


def _without_usage(group_ids: list[int], limit: int) -> list[Subscription]:
    """The groups' running top-level subscriptions that have no usage yet, oldest first."""
    has_usage = sa.select(UsageRecord.subscription_id).distinct()
    return db.session.scalars(
        sa.select(Subscription)
        .where(
            Subscription.group_id.in_(group_ids),
            Subscription.parent_id.is_(None),
            Subscription.status.in_(
                [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.MODIFYING.value]
            ),
            Subscription.id.notin_(has_usage),
        )
        .order_by(Subscription.id)
        .limit(limit)
    ).all()


def _add_daily_usage(
    subscription: Subscription,
    metric: str,
    first: datetime,
    today: datetime,
    base,
    growth,
    weekend: float,
    days_fed: set,
) -> int:
    """One usage row a day from `first` to yesterday, growing by `growth` a day from `base`,
    scaled by `weekend` on Saturdays and Sundays; the number of rows added (and their
    subscription, metric and day in `days_fed`)."""
    rows, day = 0, first
    while day < today:
        index = (day - first).days
        quantity = (float(base) + float(growth) * index) * (weekend if day.weekday() >= 5 else 1.0)
        db.session.add(
            UsageRecord(
                subscription_id=subscription.id,
                metric=metric,
                quantity=Decimal(str(round(quantity, 2))),
                period_start=day,
                period_end=day + timedelta(days=1),
                recorded_at=clock.now(),
            )
        )
        days_fed.add((subscription.id, metric, day.astimezone(UTC).date()))
        rows += 1
        day += timedelta(days=1)
    return rows


def _moment(when: dict, now: datetime) -> datetime:
    hour, minute = (int(part) for part in str(when.get("at", "00:00")).split(":"))
    if "hours_ago" in when:
        return (now - timedelta(hours=float(when["hours_ago"]))).replace(second=0, microsecond=0)
    if "days_ahead" in when:
        day = now + timedelta(days=int(when["days_ahead"]))
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    offset = int(when.get("month_offset", 0))
    month_index = now.year * 12 + now.month - 1 + offset
    year, month = divmod(month_index, 12)
    day = min(int(when.get("day", 1)), calendar.monthrange(year, month + 1)[1])
    return datetime(year, month + 1, day, hour, minute, tzinfo=UTC)


def _load_notices(config: dict) -> str:
    author = find_user(config.get("author"))
    if author is None:
        return "service notices: no author"
    now = clock.now()
    created, skipped = 0, []
    for item in config.get("items") or []:
        product = db.session.scalar(
            sa.select(DigitalProduct).where(DigitalProduct.name == item["product"])
        )
        if product is None:
            skipped.append(f"{item['title']} (no product {item['product']})")
            continue
        exists = db.session.scalar(
            sa.select(ServiceNotice.id).where(
                ServiceNotice.product_id == product.id, ServiceNotice.title == item["title"]
            )
        )
        if exists is not None:
            continue
        start = _moment(item.get("when") or {}, now)
        if "minutes" in item:
            end = start + timedelta(minutes=float(item["minutes"]))
        elif "hours" in item:
            end = start + timedelta(hours=float(item["hours"]))
        elif "expected_hours" in item:
            end = start + timedelta(hours=float(item["expected_hours"]))
        else:
            end = None
        notice = status.post_notice(
            author,
            product_id=product.id,
            kind=item["kind"],
            title=item["title"],
            message=item.get("message", ""),
            starts_at=start,
            ends_at=end,
        )
        for text in item.get("updates") or []:
            status.update_notice(author, notice.id, message=text)
        if item.get("resolution"):
            status.update_notice(
                author, notice.id, message=item["resolution"], ends_at=end, resolve=True
            )
        created += 1
    line = f"service notices: {created} created"
    return line + (f"; skipped {', '.join(skipped)}" if skipped else "")
