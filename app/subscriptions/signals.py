"""Subscriptions' domain events, sent by its services inside their transaction, after the flush;
listeners (the webhooks) run in that same transaction."""

from __future__ import annotations

from blinker import Namespace

subscription_events = Namespace()

# sender: the Subscription just ordered (requested, its order and contract written).
subscription_ordered = subscription_events.signal("subscription.ordered")
# sender: the Subscription that became active for the first time.
subscription_activated = subscription_events.signal("subscription.activated")
# sender: the Subscription just terminated.
subscription_terminated = subscription_events.signal("subscription.terminated")
