"""The import as one SAVEPOINT: check the document, apply it, compare the offers before and
after, then keep it, or roll it back on any problem (and always on a dry run). The caller's edge
(the request, the command, the seed) commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ...accounts.models import User
from ...errors import DomainError, ValidationFailed
from ...extensions import db
from ...i18n import _
from . import report as reporting
from .apply import ImportRun, apply_document
from .export import export_offers, require_manager
from .parsing import load_document, with_lines
from .references import offer_code


def import_catalog(
    actor: User | None,
    data: Any,
    *,
    dry_run: bool = False,
    lines: dict[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Bring the catalog to the document's state in one transaction; see the package docstring.

    Returns a report: per offer {code, action: create|update|unchanged, changes}, counts, and
    printable lines. Any problem raises ValidationFailed keyed by item path, nothing saved."""
    require_manager(actor)
    doc = load_document(data, lines)
    run = ImportRun(actor, doc, lines, progress)
    # A SAVEPOINT: a refused file or a dry run undoes the import and nothing else of the caller's
    # unit of work, which commits at its edge.
    savepoint = db.session.begin_nested()
    try:
        report = _run(run)
    except DomainError as error:
        savepoint.rollback()
        raise ValidationFailed(
            error.message, fields=with_lines(error.fields or {"file": [error.message]}, lines)
        ) from error
    except SQLAlchemyError as error:
        savepoint.rollback()
        raise ValidationFailed(
            _("The catalog could not be saved; nothing was imported."),
            fields={"file": [str(getattr(error, "orig", error)).splitlines()[0][:300]]},
        ) from error
    if run.errors:
        savepoint.rollback()
        errors = with_lines(run.errors, lines)
        raise ValidationFailed(
            _(
                "The catalog file has %(count)s problem(s); nothing was imported.",
                count=len(errors),
            ),
            fields=errors,
        )
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    report["dry_run"] = dry_run
    report["lines"] = reporting.report_lines(report)
    return report


def _run(run: ImportRun) -> dict:
    codes = [offer_code(item["code"]) for item in run.doc["offers"]]
    before = export_offers(sorted(set(codes)))
    apply_document(run, codes)
    after = export_offers(sorted(set(codes)))
    return reporting.build(codes, before, after, run.notes, run.tally)
