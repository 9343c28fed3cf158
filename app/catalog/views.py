"""HTML pages of the Release stream (managers) and the catalog (consumers)."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
