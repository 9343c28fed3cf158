"""Which language and time zone a user gets, and how dates, numbers and money are written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import clock
from app.accounts.models import User
from app.extensions import db
from app.i18n import _l, format_day, format_money, format_number, format_when
from app.inputs import library_message
from app.notifications.models import NotificationKind, OutboxEmail
from app.notifications.services import notify
from tests.conftest import login, token_for

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}


def _prefer(user: User, locale: str | None, timezone: str | None = None) -> None:
    user.locale, user.timezone = locale, timezone
    db.session.commit()


def test_the_browser_language_is_used_when_the_user_chose_none(client_as):
    page = client_as("consumer").get("/account", headers=GERMAN).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "<h1>Ihr Konto</h1>" in page


def test_the_users_choice_beats_the_browser_language(app, users):
    _prefer(users["consumer"], "en")
    client = login(app.test_client(), users["consumer"])
    page = client.get("/account", headers=GERMAN).get_data(as_text=True)
    assert '<html lang="en">' in page and "<h1>Your account</h1>" in page

    _prefer(users["consumer"], "de")
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in page and "<h1>Ihr Konto</h1>" in page


@pytest.mark.parametrize("header", ["fr-FR,fr;q=0.9", "xx", ""])
def test_an_unknown_language_is_english(client_as, header):
    page = client_as("consumer").get("/account", headers={"Accept-Language": header})
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "<h1>Your account</h1>" in page.get_data(as_text=True)


def test_the_log_in_page_and_wtforms_messages_are_german(client):
    page = client.post("/login", data={}, headers=GERMAN).get_data(as_text=True)
    assert "Bei Offerdesk anmelden" in page
    assert "Dieses Feld wird benötigt." in page  # WTForms' own German catalog
    assert "This field is required." not in page


def test_the_account_page_saves_language_and_time_zone(client_as, users):
    client = client_as("consumer")
    response = client.post(
        "/account",
        data={"action": "preferences", "pref-locale": "de", "pref-timezone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    user = db.session.get(User, users["consumer"].id)
    assert (user.locale, user.timezone) == ("de", "Europe/Berlin")
    page = client.get("/account").get_data(as_text=True)
    assert "Ihre Sprache und Zeitzone sind gespeichert." in page
    assert '<option selected value="Europe/Berlin">' in page


def test_unknown_language_or_time_zone_is_refused_next_to_its_field(client_as, users):
    response = client_as("consumer").post(
        "/account",
        data={"action": "preferences", "pref-locale": "fr", "pref-timezone": "Mars/Olympus"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose one of the languages offered." in page
    assert "Choose a time zone from the list, e.g. Europe/Berlin." in page
    user = db.session.get(User, users["consumer"].id)
    assert (user.locale, user.timezone) == (None, None)


def test_the_database_refuses_an_unknown_locale(users):
    db.session.execute(
        sa.update(User).where(User.id == users["consumer"].id).values(locale="de")
    )  # a known one is stored
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.update(User).where(User.id == users["consumer"].id).values(locale="fr")
        )
    db.session.rollback()


def test_times_are_shown_in_the_users_time_zone(app, users, client_as):
    clock.freeze(datetime(2026, 1, 15, 8, 30, tzinfo=UTC))
    try:
        client = client_as("consumer")
        client.post("/account", data={"action": "token", "tok-label": "feed"})
        assert "2026-01-15 08:30 UTC" in client.get("/account").get_data(as_text=True)
        _prefer(users["consumer"], "de", "Europe/Berlin")
        assert "15.01.2026 09:30 MEZ" in client.get("/account").get_data(as_text=True)
    finally:
        clock.freeze(None)


@pytest.mark.parametrize(
    ("locale", "money", "number", "day", "moment"),
    [
        ("en", "1,234.50 EUR", "1,234.5", "2026-03-02", "2026-03-02 09:00 UTC"),
        ("de", "1.234,50\xa0€", "1.234,5", "02.03.2026", "02.03.2026 09:00 UTC"),
    ],
)
def test_money_numbers_and_dates_follow_the_locale(app, locale, money, number, day, moment):
    with app.test_request_context(headers={"Accept-Language": locale}):
        assert format_money(Decimal("1234.5"), "EUR") == money
        assert format_number(1234.5) == number
        assert format_day(date(2026, 3, 2)) == day
        assert format_when(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) == moment


def test_a_time_in_berlin_in_german(app, users):
    _prefer(users["consumer"], "de", "Europe/Berlin")
    with app.test_request_context():
        from flask_login import login_user

        login_user(users["consumer"])
        assert format_when(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)) == "01.07.2026 11:00 MESZ"
        assert format_money(Decimal("19.9"), "USD") == "19,90\xa0$"


def test_a_templates_texts_follow_a_locale_forced_inside_the_request(app):
    """Templates keep the translations for the request's locale (app/i18n.py _translations):
    a forced locale (a mail in its recipient's language) and a refreshed one still count."""
    from flask import render_template_string

    from app.i18n import force_locale, refresh

    page = "{{ _('Catalog') }} {{ ngettext('%(num)d item', '%(num)d items', 2) }}"
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert render_template_string(page) == "Katalog 2 Positionen"
        with force_locale("en"):
            assert render_template_string(page) == "Catalog 2 items"
        assert render_template_string(page) == "Katalog 2 Positionen"
        with force_locale("de"), force_locale("en"):
            assert render_template_string(page) == "Catalog 2 items"
        refresh()
        assert render_template_string(page) == "Katalog 2 Positionen"


def test_problem_json_speaks_the_callers_language(app):
    response = app.test_client().get("/api/v1/offers", headers=GERMAN)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Nicht angemeldet"
    assert response.json["detail"] == "Dieser Endpunkt braucht 'Authorization: Bearer <token>'."


def test_an_email_is_written_in_its_recipients_language(app, users):
    _prefer(users["consumer"], "de")
    _prefer(users["other_consumer"], None)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        notify(
            [users["consumer"], users["other_consumer"]],
            _l("Now orderable: %(name)s", name="VPN"),
            _l("Your subscription is active."),
            kind=NotificationKind.ORDER_UPDATES,
        )
        db.session.commit()
    mails = {
        mail.recipient: (mail.subject, mail.body.split("\n")[0], mail.body.split("\n")[-1])
        for mail in db.session.scalars(sa.select(OutboxEmail))
    }
    german, english = mails[users["consumer"].email], mails[users["other_consumer"].email]
    assert german[:2] == ("Jetzt bestellbar: VPN", "Ihr Abonnement ist aktiv.")
    assert german[2].startswith("Wählen Sie, welche Benachrichtigungen Sie erhalten und wie: ")
    assert english[:2] == ("Now orderable: VPN", "Your subscription is active.")
    assert english[2].startswith("Choose which notifications you get, and how: ")


def test_marshmallow_messages_are_translated_where_the_api_answers(app):
    with app.test_request_context(headers=GERMAN):
        assert library_message("Missing data for required field.") == "Pflichtangabe fehlt."
        assert library_message("Longer than maximum length 3.") == "Höchstens 3 Zeichen."
        assert (
            library_message("Must be greater than or equal to 1 and less than or equal to 100.")
            == "Muss zwischen 1 und 100 liegen."
        )
        assert library_message("an application's own text") == "an application's own text"


def test_an_api_field_error_in_german(api, users):
    manager = api(token_for(users["catalog_manager"]))
    response = manager.client.post(
        "/api/v1/offers",
        json={"code": "NEW-OFFER", "name": 5},
        headers={**manager.headers, **GERMAN},
    )
    assert response.status_code == 422
    assert response.json["title"] == "Prüfung fehlgeschlagen"
    assert response.json["detail"] == "Die Anfrage hat ungültige Felder."
    assert response.json["errors"]["name"] == ["Keine gültige Zeichenkette."]
