"""Languages: Flask-Babel with English (the source) and German.

`_` translates now (in a request or a job), `_l` when the text is used (module-level constants
such as form labels), `ngettext` picks a plural form."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import Babel, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .config import ROOT

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
TRANSLATIONS = ROOT / "app" / "translations"

babel = Babel()

__all__ = ["LANGUAGES", "_", "_l", "babel", "init_app", "ngettext", "select_locale"]


def select_locale() -> str:
    """The user's chosen language, else the browser's best match, else English (also outside a
    request: a job, a command, a service called from a test)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    from flask_login import current_user

    chosen = getattr(current_user, "locale", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
