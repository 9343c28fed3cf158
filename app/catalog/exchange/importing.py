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
from .parsing import load_document, parse_yaml, with_lines
from .references import offer_code


def import_catalog(
    actor: User | None,
    data: Any,
    *,
    dry_run: bool = False,
    lines: dict[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
    expected: str | None = None,
) -> dict:
    """Bring the catalog to the document's state in one transaction; see the package docstring.

    Returns a report: per offer {code, action: create|update|unchanged, changes, revision,
    transitions, notifications}, counts, printable lines and its fingerprint. Any problem
    raises ValidationFailed keyed by item path, nothing saved. With `expected` (a dry run's
    fingerprint) the import is kept only if it does exactly what that dry run reported."""
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
    if expected is not None and report["fingerprint"] != expected:
        savepoint.rollback()
        raise _not_as_checked()
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    report["dry_run"] = dry_run
    report["lines"] = reporting.report_lines(report)
    return report


def _not_as_checked() -> ValidationFailed:
    return ValidationFailed(
        _("The import would do something other than the dry run showed."),
        fields={
            "file": [
                _(
                    "The import would now do something other than the dry run showed (the "
                    "catalog or the file changed since). Nothing was imported: run the dry "
                    "run again."
                )
            ]
        },
    )


def _run(run: ImportRun) -> dict:
    codes = [offer_code(item["code"]) for item in run.doc["offers"]]
    before = export_offers(sorted(set(codes)))
    apply_document(run, codes)
    after = export_offers(sorted(set(codes)))
    return reporting.build(codes, before, after, run.notes, run.tally, run.outcomes)


def import_text(
    actor: User | None, text: str, *, dry_run: bool, expected: str | None = None
) -> dict:
    """`import_catalog` of a YAML or JSON text (the import page): an empty text is refused
    under `document`; an import without a dry run's fingerprint is refused."""
    require_manager(actor)
    if not text.strip():
        raise ValidationFailed(
            _("The catalog file is empty."),
            fields={"document": [_("Paste a catalog file or choose one.")]},
        )
    if not dry_run and not expected:
        raise ValidationFailed(
            _("Check the file first."),
            fields={"document": [_("Check the file first: the import does what the check shows.")]},
        )
    data, lines = parse_yaml(text)
    return import_catalog(actor, data, dry_run=dry_run, lines=lines, expected=expected)
