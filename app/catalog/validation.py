"""Moved to app.validation. Kept only while app/catalog/exchange.py still imports it from here
(the exchange is being split on another branch); delete it once that import is fixed."""

from ..validation import *  # noqa: F403
