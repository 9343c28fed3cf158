"""HTML pages of the Release stream (managers) and the catalog (consumers), one module per
area on one blueprint: browse (consumers), workspace, editor and its tabs, categories, products.

Each route parses its form, calls one service (or a page builder in catalog/pages.py), and
renders or redirects. Service errors come back next to the fields that caused them
(`offer_form.place_errors`); a form shown again with its errors answers 422 (409 for a version
conflict), so the request's unit of work keeps nothing of it."""

from . import (  # noqa: F401
    browse,
    categories,
    choice_lists,
    editor,
    editor_tabs,
    exchange,
    history,
    products,
    templating,
    workspace,
)
from .blueprint import bp

__all__ = ["bp"]
