"""The consumer's rating of the support received, once the request is resolved."""

from __future__ import annotations

from typing import Any

from ... import validation as check
from ...accounts.models import User
from ...audit import services as audit
from ...errors import NotAllowed, ValidationFailed
from ...i18n import _
from ...versioning import version_change
from ..models import RequestStatus, SupportRequest
from .requests import flush_versioned, is_requester, request_for
from .text import typed_text

R = RequestStatus


def rate(actor: User, request_id: int, satisfaction: Any, comment: Any = "") -> SupportRequest:
    request = request_for(actor, request_id)
    if not is_requester(actor, request):
        raise NotAllowed(_("Only the person who opened the request rates the support received."))
    errors: check.Errors = {}
    if request.status not in (R.RESOLVED, R.CLOSED):
        check.add(errors, "satisfaction", _("Rate the support once the request is resolved."))
    score = check.number(errors, "satisfaction", satisfaction, minimum=1, maximum=5, required=True)
    if score is not None and score != int(score):
        check.add(errors, "satisfaction", _("Choose a whole number from 1 to 5."))
    comment = typed_text(errors, "satisfaction_comment", comment, max_length=2000)
    if errors:
        raise ValidationFailed(_("The rating could not be saved."), fields=errors)
    changes = {
        "satisfaction": {"before": request.satisfaction, "after": int(score)},
        **version_change(request),
    }
    request.satisfaction, request.satisfaction_comment = int(score), comment
    flush_versioned(request)
    audit.record(actor, "support_request", request.id, "rated", changes=changes)
    return request
