"""Page builders for the Consume stream's HTML pages: where a page needs several services, one
function here calls them and returns what the template needs. They take plain values (never the
request) and hold no rule of their own beyond choosing what a page shows."""

from __future__ import annotations

from ..accounts.models import User
from ..errors import InvalidTransition, ValidationFailed
from ..inputs import search_text
from .services import selection, subscriptions

CHANGE_ACTIONS = {"modify", "move_to_replacement"}


def modify_page(
    user: User, subscription_id: int, *, wanted: str | None, posted: bool, matching: str = ""
) -> dict:
    """The change form: whether the subscription can be changed now; the offer after the change
    (the one asked for, else on a first visit the replacement of a retired offer, else the
    current offer) with its quote, or why that offer cannot be had; and the offers to choose
    from, those holding `matching` in their name or code when it is given."""
    subscription = subscriptions.subscription_for(user, subscription_id)
    page: dict = {
        "subscription": subscription,
        "changeable": bool(CHANGE_ACTIONS & set(subscriptions.next_actions(user, subscription))),
    }
    if not page["changeable"]:
        return page
    replacement = subscriptions.offers_retired_for(subscription, user)
    if wanted in (None, "") and replacement is not None and not posted:
        wanted = str(replacement.id)
    target, refusal = subscription.offer, None
    if wanted not in (None, "", str(subscription.offer_id)):
        try:
            target = selection.orderable_offer(user, wanted)
        except (InvalidTransition, ValidationFailed) as error:
            refusal = error.message
    matching = search_text(matching)
    targets, more = selection.change_targets(user, subscription, matching=matching)
    if (
        target.id != subscription.offer_id
        and not target.is_bundle
        and all(offer.id != target.id for offer in targets)
    ):
        targets.insert(0, target)  # the chosen offer stays chosen whatever the list shows
    return {
        **page,
        "replacement": replacement,
        "target": target,
        "refusal": refusal,
        "quote": selection.quote(target),
        "targets": targets,
        "more_targets": more,
        "matching": matching,
    }
