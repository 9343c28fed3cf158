"""Support's domain events, sent by its services inside their transaction, after the flush;
listeners (the webhooks) run in that same transaction."""

from __future__ import annotations

from blinker import Namespace

support_events = Namespace()

# sender: the SupportRequest just opened.
request_opened = support_events.signal("support_request.opened")
# sender: the SupportRequest just handed to the next tier; from_tier= the tier it left.
request_escalated = support_events.signal("support_request.escalated")
# sender: the SupportRequest just resolved.
request_resolved = support_events.signal("support_request.resolved")
# sender: the target that passed, "first response" or "resolution"; requests= the SupportRequests
# just found in breach of it (one signal per sla check and target, whatever their number).
sla_breached = support_events.signal("sla.breached")
