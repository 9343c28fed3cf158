"""Catalog as code: the whole catalog as one plain document (YAML or JSON), and back.

`export_catalog()` writes categories (a tree, by slug), digital products and their releases,
knowledge articles, and every offer by code: the fields of its live revision (else its latest
one), its status, audience, pilot groups, canary and featured flags, replacement, bundle
members in order, linked articles and price history. Nothing in it is an id, so the document
moves between databases.

`import_catalog()` reads such a document and brings the database to it through the catalog
services, so every rule still applies: offers are created or updated by code (a published
offer gets a new revision, a draft is edited in place), then walked through the lifecycle to
their declared status. It runs as one SAVEPOINT inside the caller's unit of work (the request,
the command or the seed commits): any problem rolls all of it back and is reported per item
(`offers[3].price`, with the YAML line when the document came from YAML). A dry run does the
same work, reports what would change, and rolls back.

Dates may be written relative to the moment of import (`valid_from: +30d`, `valid_to: -2w`,
midnight UTC). A relative date is resolved when the offer is created; later imports keep the
stored date, so loading the same file again changes nothing.

The rooms: `export` (database → document → YAML), `parsing` (YAML → document → plain values,
with problems keyed by item path and line), `references` (names in the file → rows), `apply`
(the writes, in order), `report` (what the import or the dry run says), and `importing` (the
one transaction around them).
"""

from .export import (
    FORMAT,
    code_settings,
    current_revisions,
    dump_yaml,
    export_catalog,
    export_offers,
)
from .importing import import_catalog
from .parsing import MAX_NODES, load_document, parse_yaml
from .report import report_lines

__all__ = [
    "FORMAT",
    "MAX_NODES",
    "code_settings",
    "current_revisions",
    "dump_yaml",
    "export_catalog",
    "export_offers",
    "import_catalog",
    "load_document",
    "parse_yaml",
    "report_lines",
]
