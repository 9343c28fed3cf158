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
same work, reports what would change, and rolls back. The report names, per offer, the
revision the import writes, every lifecycle transition and every notification it sends; its
fingerprint, passed back as `expected`, holds the import to exactly that.

A published offer is described by its live revision (that is what the export writes). When
the offer also has an unfinished revision (draft, planned or ready) with changes of its own that
the file does not have, the import refuses the offer (`offers[3].revision`) rather than
overwrite them: publish or discard that revision, or write its changes into the file. An
unfinished revision with no changes of its own, or one the file matches, is the revision the
import edits and publishes. Nothing is published unless the file declares it `published`.

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
from .importing import import_catalog, import_text
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
    "import_text",
    "load_document",
    "parse_yaml",
    "report_lines",
]
