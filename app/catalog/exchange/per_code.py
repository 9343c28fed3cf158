"""What belongs to an offer's code across its revisions, as an import sets it: linked
articles, audience and pilot groups, the canary and featured flags, and the price history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ValidationFailed
from ...extensions import db
from ...knowledge import services as knowledge
from .. import services as catalog
from ..models import OfferSettings
from ..schemas import Relative
from . import references as refs

if TYPE_CHECKING:
    from .apply import ImportRun


def apply_code_settings(run: ImportRun, item: dict, code: str) -> None:
    """What belongs to the code across revisions: articles, audience, featured, prices.

    Links to the articles this file defines follow the file; links to other articles (the
    support team's, say) are kept."""
    ids, groups = refs.settings_refs(item, run.article_ids)
    current = {article.id for article in knowledge.articles_of(code)}
    wanted = (current - set(run.article_ids.values())) | set(ids)
    if wanted != current:
        knowledge.link_articles(run.actor, code, sorted(wanted))
    settings = db.session.get(OfferSettings, code)
    _audience(run, item, code, groups, bool(settings and settings.canary))
    if bool(settings and settings.featured) != item["featured"]:
        catalog.set_featured(run.actor, code, item["featured"])
    _price_history(run, item, code)


# The file's names of set_audience's fields.
AUDIENCE_FIELDS = {"group_ids": "audience", "pilot_group_ids": "pilot_groups"}


def _audience(run: ImportRun, item: dict, code: str, groups: dict[str, int], canary: bool) -> None:
    """The file's audience, pilot groups and canary flag, under the editor's rule (pilots among
    the audience groups); what breaks it is refused under the file's own field names."""
    audience, pilots = catalog.audience_of(code)
    wanted_pilots = set(item["pilot_groups"]) if item["canary"] else set()  # pilots: canary only
    if (
        sorted(g.name for g in audience),
        sorted(g.name for g in pilots),
        canary,
    ) == (sorted(item["audience"]), sorted(wanted_pilots), item["canary"]):
        return
    try:
        catalog.set_audience(
            run.actor,
            code,
            group_ids=[groups[name] for name in item["audience"]],
            pilot_group_ids=[groups[name] for name in item["pilot_groups"]],
            canary=item["canary"],
        )
    except ValidationFailed as error:
        raise ValidationFailed(
            error.message,
            fields={AUDIENCE_FIELDS.get(k, k): v for k, v in error.fields.items()},
        ) from error


def _price_history(run: ImportRun, item: dict, code: str) -> None:
    existing = catalog.price_history(code)
    for number, change in enumerate(item["price_history"]):
        moment = change["effective_from"]
        if isinstance(moment, Relative):
            # Resolved once: an entry with the same price, cost and reason is this one.
            if any(
                _same_amount(old.price, change["price"])
                and _same_amount(old.cost, change["cost"])
                and old.reason == change["reason"].strip()
                for old in existing
            ):
                continue
            moment = moment.resolve(run.now)
        if any(old.effective_from == moment for old in existing):
            continue
        try:
            catalog.add_price_change(
                run.actor,
                code,
                price=change["price"],
                cost=change["cost"],
                effective_from=moment,
                reason=change["reason"],
                confirm_backdated=True,  # the file records the history, past entries included
            )
        except ValidationFailed as error:
            raise ValidationFailed(
                error.message,
                fields={f"price_history.{number}.{k}": v for k, v in error.fields.items()},
            ) from error


def _same_amount(stored, declared) -> bool:
    if stored is None or declared is None:
        return stored is None and declared is None
    try:
        return f"{stored:.2f}" == f"{float(declared):.2f}"
    except (TypeError, ValueError):
        return False
