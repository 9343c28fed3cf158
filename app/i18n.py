"""Languages: Flask-Babel with English (the source) and German.

`_` translates now (in a request or a job), `_l` when the text is used (module-level constants
such as form labels), `ngettext` picks a plural form.

The language is the user's preference (`users.locale`), else the browser's best match
(Accept-Language), else English; times are shown in the user's time zone (`users.timezone`,
else UTC). Stored times stay UTC. Dates, numbers and money go through Babel: the filters
`datetime`, `date`, `money` and `number` below are what templates use."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import available_timezones

from babel import numbers
from flask import Flask, g, has_request_context, request
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_translations,
    gettext,
    lazy_gettext,
    ngettext,
    refresh,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .config import ROOT

LANGUAGES = ("en", "de")
# each language named in itself, for the language choice on the account page
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = "UTC"
TRANSLATIONS = ROOT / "app" / "translations"
TIMEZONES = tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))

# English keeps the portal's ISO dates and "1,234.50 EUR"; other languages use Babel's
# patterns for the locale ("02.03.2026", "1.234,50 €").
_PATTERNS = {
    "en": {
        "date": "yyyy-MM-dd",
        "datetime": "yyyy-MM-dd HH:mm zzz",
        "seconds": "yyyy-MM-dd HH:mm:ss zzz",
        "money": "#,##0.00 ¤¤",
    },
    "de": {
        "date": "dd.MM.yyyy",
        "datetime": "dd.MM.yyyy HH:mm zzz",
        "seconds": "dd.MM.yyyy HH:mm:ss zzz",
        "money": None,
    },
}

babel = Babel()

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "TIMEZONES",
    "_",
    "_l",
    "babel",
    "format_day",
    "format_money",
    "format_number",
    "format_when",
    "force_locale",
    "gettext",
    "lazy_gettext",
    "init_app",
    "lazy_day",
    "lazy_money",
    "ngettext",
    "refresh",
    "select_locale",
    "select_timezone",
]


def N_(text: str) -> str:
    """Marks a text for extraction that is translated later, where it is shown."""
    return text


def _chosen(attribute: str) -> str | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return getattr(current_user, attribute, None) if current_user else None


def select_locale() -> str:
    """The user's chosen language, else the browser's best match, else English."""
    chosen = _chosen("locale")
    if chosen in LANGUAGES:
        return chosen
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_timezone() -> str:
    """The user's time zone, else UTC."""
    chosen = _chosen("timezone")
    return chosen if chosen in TIMEZONES else DEFAULT_TIMEZONE


def _pattern(kind: str) -> str | None:
    locale = str(get_locale() or DEFAULT_LANGUAGE).split("_")[0]
    return _PATTERNS.get(locale, {}).get(kind)


def format_when(value: datetime | date | None, fmt: str | None = None) -> str:
    """A moment in the user's time zone and language; a plain date as a date.

    `fmt` keeps the templates' old strftime arguments meaningful: a format without an hour
    (``'%Y-%m-%d'``) shows the date only, one with seconds shows them."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime) or (fmt and "%H" not in fmt):
        return format_day(value)
    kind = "seconds" if fmt and "%S" in fmt else "datetime"
    return format_datetime(value, _pattern(kind) or ("medium" if kind == "seconds" else "short"))


def format_day(value: datetime | date | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return format_date(
            value.date() if value.tzinfo is None else value, _pattern("date") or "medium"
        )
    return format_date(value, _pattern("date") or "medium")


def format_money(amount, currency: str | None) -> str:
    """An amount of money as the locale writes it ("1,234.50 EUR", "1.234,50 €")."""
    if amount is None or amount == "":
        return ""
    locale = get_locale() or DEFAULT_LANGUAGE
    return _money(str(amount), currency or "EUR", str(locale))


@lru_cache(maxsize=4096)
def _money(amount: str, currency: str, locale: str) -> str:
    """Babel's formatting is costly and a catalog page shows the same few prices many times:
    the text is a function of the amount, the currency and the locale (and its pattern)."""
    pattern = _PATTERNS.get(locale.split("_")[0], {}).get("money")
    if pattern:
        return numbers.format_currency(
            Decimal(amount), currency, pattern, locale=locale, currency_digits=False
        )
    return numbers.format_currency(Decimal(amount), currency, locale=locale)


def format_number(value, digits: int | None = None) -> str:
    """A number as the locale writes it ("1,234.5", "1.234,5")."""
    if value is None or value == "":
        return ""
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


class Localized:
    """A date or an amount that is formatted when the text holding it is: a notification built
    with `_l` is written in each recipient's language, its dates and money too."""

    def __init__(self, formatter, *args):
        self.formatter, self.args = formatter, args

    def __str__(self) -> str:
        return self.formatter(*self.args)


def lazy_day(value) -> Localized:
    return Localized(format_day, value)


def lazy_money(amount, currency: str | None) -> Localized:
    return Localized(format_money, amount, currency)


def html_lang() -> str:
    """The `lang` of the page: the language the page is shown in."""
    return str(get_locale() or DEFAULT_LANGUAGE).replace("_", "-")


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel's template callables find the translations through five context look-ups a
    # text, and a page has a hundred texts: these keep them for the request's locale.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["datetime"] = format_when
    app.jinja_env.filters["date"] = format_day
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.globals["html_lang"] = html_lang


def _translations():
    """The translations of the current locale, looked up once while that locale holds:
    `force_locale` (a mail in its recipient's language) sets another locale object and
    `refresh` drops it, and either makes the next text look them up again."""
    if not g:  # no application context: Flask-Babel answers with no translations
        return get_translations()
    app_g = g._get_current_object()
    locale = getattr(getattr(app_g, "_flask_babel", None), "babel_locale", None)
    kept = getattr(app_g, "_template_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()  # finds the locale (and keeps it) when it was not yet
    app_g._template_translations = (app_g._flask_babel.babel_locale, translations)
    return translations
