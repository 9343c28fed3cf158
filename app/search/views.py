"""The search page."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")
