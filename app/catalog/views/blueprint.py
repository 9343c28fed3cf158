"""The catalog's one blueprint, and what its views share."""

from __future__ import annotations

from flask import Blueprint

from ...accounts.models import Role
from ...inputs import whole_number

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

MANAGER = Role.CATALOG_MANAGER


def form_int(value, default: int = 0) -> int:
    number = whole_number(value, minimum=0)
    return default if number is None else number
