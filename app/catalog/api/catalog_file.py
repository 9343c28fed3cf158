"""Catalog as code: the whole catalog exported, and imported from a file (with a dry run)."""

from __future__ import annotations

from flask import Response, jsonify, request

from ...api.core import api_user, endpoint, json_body
from ...errors import ValidationFailed
from ...i18n import _
from .. import exchange
from ..file_schemas import CatalogFileSchema, ImportReportSchema
from .common import (
    TAG,
    flag,
    require_manager,
)

# --- catalog as code -----------------------------------------------------------------------


@endpoint(
    "/catalog/export",
    summary="The whole catalog as YAML (default) or JSON (?format=json), in the format "
    "that /catalog/import reads.",
    tag=TAG,
    response=CatalogFileSchema,
    query={"format": "yaml (default) or json."},
)
def catalog_export():
    user = api_user()
    require_manager(user)
    fmt = request.args.get("format", "yaml").strip().lower()
    if fmt not in ("yaml", "json"):
        raise ValidationFailed(_("Unknown format."), fields={"format": [_("Use yaml or json.")]})
    data = exchange.export_catalog(user)
    if fmt == "json":
        return jsonify(data)
    return Response(
        exchange.dump_yaml(data),
        mimetype="application/yaml",
        headers={"Content-Disposition": 'inline; filename="catalog.yaml"'},
    )


@endpoint(
    "/catalog/import",
    "POST",
    summary="Create or update offers by code from a catalog document (YAML body, or JSON "
    "with Content-Type application/json). ?dry_run=true reports the differences and saves "
    "nothing. Problems are 422 with errors keyed by item path (offers[3].price).",
    tag=TAG,
    body=CatalogFileSchema,
    response=ImportReportSchema,
    query={
        "dry_run": "true: report what would change, save nothing.",
        "expected": "A dry run's fingerprint: the import is refused (422) if it would do "
        "anything other than that dry run reported.",
    },
)
def catalog_import():
    user = api_user()
    require_manager(user)
    dry_run = flag("dry_run")
    if request.is_json:
        data, lines = json_body(), None
        if data is None:
            raise ValidationFailed(
                _("The body is not valid JSON."), fields={"body": [_("Send a JSON object.")]}
            )
    else:
        text = request.get_data(as_text=True)
        if not text.strip():
            raise ValidationFailed(
                _("The body is empty."), fields={"body": [_("Send the catalog as YAML or JSON.")]}
            )
        data, lines = exchange.parse_yaml(text)
    expected = request.args.get("expected", "").strip() or None
    report = exchange.import_catalog(user, data, dry_run=dry_run, lines=lines, expected=expected)
    return jsonify(ImportReportSchema().dump(report))
