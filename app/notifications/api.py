"""`/api/v1/me/notification-preferences`: the caller's channel per kind of notification."""

from flask import jsonify

from ..api.core import api_user, endpoint, load
from .schemas import NotificationPreferencesSchema
from .services import preferences


def _channels(user) -> dict:
    return {kind: value["channel"] for kind, value in preferences.preferences_of(user).items()}


@endpoint(
    "/me/notification-preferences",
    summary="Your channel for each kind of notification (yours, or the default)",
    tag="accounts",
    response=NotificationPreferencesSchema,
)
def my_notification_preferences():
    return jsonify(NotificationPreferencesSchema().dump(_channels(api_user())))


@endpoint(
    "/me/notification-preferences",
    "PUT",
    summary="Choose your channel for the kinds given; the others keep theirs",
    tag="accounts",
    body=NotificationPreferencesSchema,
    response=NotificationPreferencesSchema,
)
def put_my_notification_preferences():
    user = api_user()  # before the body: a caller without a token learns no fields
    choices = load(NotificationPreferencesSchema(), partial=True)
    preferences.save_preferences(user, choices)
    return jsonify(NotificationPreferencesSchema().dump(_channels(user)))
