"""Status's domain events, sent by its services inside their transaction, after the flush;
listeners (the webhooks) run in that same transaction.

This module is the one part of status other domains may import (the contracts in pyproject.toml
allow it to integrations' listeners alone): it declares signals and imports nothing of ours, so
importing it reaches none of status's rules or data."""

from __future__ import annotations

from blinker import Namespace

status_events = Namespace()

# sender: the ServiceNotice just posted; product= its DigitalProduct.
notice_published = status_events.signal("notice.published")
