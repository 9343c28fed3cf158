"""JSON routes of the catalog under /api/v1: load a schema, call the same service as the HTML
pages, dump a schema. Consumers get the consumer view of an offer (no cost, margin, plans or
audit data); catalog managers get everything. Errors are problem+json through the shared
handlers.

Offers are edited with optimistic locking: GET returns `ETag: "<version>"`; PATCH needs
`If-Match` with it (428 without, 409 when someone saved in between, naming what changed).
Transitions and bundle members take `If-Match` too, when it is sent."""

from . import catalog_file, categories, choice_lists, offers, products  # noqa: F401 - register the endpoints
