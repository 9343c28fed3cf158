"""Text typed into the support pages and API: control characters out before it is checked."""

from __future__ import annotations

from typing import Any

from ... import validation as check
from ...inputs import CONTROL_CHARACTERS


def clean_text(value: Any) -> Any:
    """Control characters (NUL above all, which PostgreSQL refuses) removed from typed text."""
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def typed_text(errors: check.Errors, field: str, value: Any, **options: Any) -> str:
    return check.text(errors, field, clean_text(value), **options)
