"""The preferences form: one choice of channel per kind. The service checks the values, so
each problem comes back once, next to its kind."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField

from .services.preferences import CHANNEL_LABELS, KIND_HINTS, KIND_LABELS, KINDS


class PreferencesForm(FlaskForm):
    """Fields named after the kinds (order_updates, ...), added below."""

    def choices(self) -> dict:
        return {kind: getattr(self, kind).data for kind in KINDS}

    def fill(self, channels: dict[str, str]) -> None:
        for kind, channel in channels.items():
            getattr(self, kind).data = channel


for _kind in KINDS:
    setattr(
        PreferencesForm,
        _kind,
        RadioField(
            KIND_LABELS[_kind],
            choices=list(CHANNEL_LABELS.items()),
            validate_choice=False,
            description=KIND_HINTS[_kind],
        ),
    )
