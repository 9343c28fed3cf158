"""The catalog's domain events. The catalog services send them inside their transaction, after
the flush; listeners (the notifications in catalog/listeners.py, the search index, the webhooks)
run in that same transaction, so a listener that fails rolls the whole change back.

Each signal's sender is what changed; the keyword arguments are what a listener needs."""

from __future__ import annotations

from blinker import Namespace

catalog_events = Namespace()

# sender: the ServiceOffer just planned (it may carry a planned release date).
offer_planned = catalog_events.signal("offer.planned")
# sender: the first published revision of an offer code.
offer_published = catalog_events.signal("offer.published")
# sender: a new published revision; previous= the revision it superseded.
offer_changed = catalog_events.signal("offer.changed")
# sender: the retired ServiceOffer; replacement= the published ServiceOffer replacing it, or None.
offer_retired = catalog_events.signal("offer.retired")
# sender: the PriceChange just recorded; backdated= whether it took effect before today (a
# confirmed correction of the record, which nobody is told of as news).
price_change_scheduled = catalog_events.signal("price_change.scheduled")
# sender: the offer code; canary_ended= whether a canary was just widened, pilot_group_ids=
# the pilot groups before the change (who had been told already).
audience_changed = catalog_events.signal("offer.audience_changed")
