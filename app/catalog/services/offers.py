"""The offer editor: cleaning fields, creating and updating offers, revisions and their
diff, featuring."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import ConsumerGroup, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...inputs import whole_number
from ...integrations.models import Integration
from ...labels import label
from ..models import (
    EDITABLE_STATUSES,
    BundleMember,
    Category,
    DigitalProduct,
    OfferKind,
    OfferStatus,
    ProductRelease,
    ServiceOffer,
)
from . import choice_lists
from .access import CATALOG_ROLES
from .bundles import check_bundle_validity
from .pricing import current_price
from .revisions import (
    bump,
    check_version,
    draft_revision,
    flush_offer,
    get_offer,
    revisions_of,
    settings_for,
)

LEASE_FIELDS = (
    "lease_days",
    "lease_max_days",
    "lease_warn_days",
    "lease_end_chosen",
    "lease_extension_needs_approval",
)
OFFER_FIELDS = (
    "name",
    "summary",
    "description",
    "kind",
    "category_id",
    "release_id",
    "product_id",
    "valid_from",
    "valid_to",
    "cost",
    "price",
    "currency",
    "billing_period",
    "terms",
    "service_levels",
    "options",
    "fulfillment_plan",
    "support_plan",
    "planned_release_date",
    "max_per_person",
    "max_per_group",
    "upgrade_codes",
    "downgrade_codes",
    *LEASE_FIELDS,
)


def lease_terms(errors: check.Errors, source: dict) -> dict:
    """The lease: its days (1–3,650), the maximum an extension may reach (at least the days),
    the warning's days before the end (fewer than the days), and whether the orderer chooses
    the end date (within the maximum). All empty: no lease."""
    days, most, warn = (
        _lease_number(errors, field, source.get(field))
        for field in ("lease_days", "lease_max_days", "lease_warn_days")
    )
    chosen = check.flag(source.get("lease_end_chosen"))
    approved = check.flag(source.get("lease_extension_needs_approval"))
    if days is None:
        for field, value in (("lease_max_days", most), ("lease_warn_days", warn)):
            if value is not None:
                check.add(errors, field, _("Set the lease's days first."))
        for field, value in (
            ("lease_end_chosen", chosen),
            ("lease_extension_needs_approval", approved),
        ):
            if value:
                check.add(errors, field, _("Set the lease's days first."))
    else:
        if most is not None and most < days:
            check.add(errors, "lease_max_days", _("The maximum cannot be below the lease's days."))
        if warn is not None and warn >= days:
            check.add(
                errors, "lease_warn_days", _("Warn fewer days before the end than the lease lasts.")
            )
    return {
        "lease_days": days,
        "lease_max_days": most,
        "lease_warn_days": warn,
        "lease_end_chosen": chosen,
        "lease_extension_needs_approval": approved,
    }


def _lease_number(errors: check.Errors, field: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = whole_number(value, maximum=3650)
    if number is None or isinstance(value, bool | float):
        check.add(
            errors, field, _("Enter a whole number of days from 1 to 3,650, or leave it empty.")
        )
        return None
    return number


def _group_names() -> set[str]:
    return set(db.session.scalars(sa.select(ConsumerGroup.name)))


def step_integrations() -> dict[str, str]:
    """The integrations an automatic step may call (webhook and AWX), name → kind."""
    return dict(db.session.execute(sa.select(Integration.name, Integration.kind)).all())


def clean_offer_fields(data: dict, *, partial_of: ServiceOffer | None = None) -> dict:
    """Validate offer fields. With `partial_of`, missing fields keep that offer's values."""
    source = (
        {field: getattr(partial_of, field) for field in OFFER_FIELDS}
        if partial_of is not None
        else {}
    )
    source.update({key: value for key, value in data.items() if key in OFFER_FIELDS})
    errors: check.Errors = {}
    groups = _group_names()
    cleaned = {
        "name": check.text(errors, "name", source.get("name"), required=True, max_length=160),
        "summary": check.text(errors, "summary", source.get("summary"), max_length=300),
        "description": check.text(
            errors, "description", source.get("description"), max_length=50_000
        ),
        "kind": check.kind(errors, source.get("kind")),
        "valid_from": check.moment(errors, "valid_from", source.get("valid_from")),
        "valid_to": check.moment(errors, "valid_to", source.get("valid_to")),
        "cost": check.money(errors, "cost", source.get("cost")) or Decimal("0.00"),
        "price": check.money(errors, "price", source.get("price")),
        "currency": check.currency(errors, source.get("currency")),
        "billing_period": check.billing(errors, source.get("billing_period")),
        "terms": check.text(errors, "terms", source.get("terms"), max_length=50_000),
        "service_levels": check.service_levels(errors, source.get("service_levels")),
        "options": check.options(errors, source.get("options")),
        "fulfillment_plan": check.fulfillment_plan(
            errors, source.get("fulfillment_plan"), groups, step_integrations()
        ),
        "support_plan": check.support_plan(errors, source.get("support_plan"), groups),
        "planned_release_date": check.moment(
            errors, "planned_release_date", source.get("planned_release_date")
        ),
        "max_per_person": check.holding_limit(
            errors, "max_per_person", source.get("max_per_person")
        ),
        "max_per_group": check.holding_limit(errors, "max_per_group", source.get("max_per_group")),
        "upgrade_codes": check.offer_codes(errors, "upgrade_codes", source.get("upgrade_codes")),
        "downgrade_codes": check.offer_codes(
            errors, "downgrade_codes", source.get("downgrade_codes")
        ),
        **lease_terms(errors, source),
    }
    own_code = partial_of.code if partial_of is not None else str(data.get("code") or "").upper()
    _check_change_paths(errors, cleaned, own_code.strip())
    if (
        cleaned["valid_from"]
        and cleaned["valid_to"]
        and cleaned["valid_to"] <= cleaned["valid_from"]
    ):
        check.add(errors, "valid_to", _("The end of validity must come after its start."))
    _check_references(errors, cleaned, source)
    for field, messages in choice_lists.unknown_lists(cleaned["options"]).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(_("The offer has invalid fields."), fields=errors)
    return cleaned


def _check_references(errors: check.Errors, cleaned: dict, source: dict) -> None:
    """The category, release and product ids name existing rows; a release sets its product."""
    for field, model in (
        ("category_id", Category),
        ("release_id", ProductRelease),
        ("product_id", DigitalProduct),
    ):
        cleaned[field] = check.reference_id(errors, field, source.get(field))
        if field in errors or cleaned[field] is None:
            continue
        if db.session.get(model, cleaned[field]) is None:
            check.add(errors, field, _("Choose from the list."))
    release = (
        db.session.get(ProductRelease, cleaned["release_id"]) if cleaned.get("release_id") else None
    )
    if release is not None:
        cleaned["product_id"] = release.product_id


def _check_change_paths(errors: check.Errors, cleaned: dict, own_code: str) -> None:
    """Upgrades and downgrades name other offers, each in one list only. A code may name an
    offer not created yet (a catalog file may list it later): it is eligible once it exists."""
    for field in ("upgrade_codes", "downgrade_codes"):
        if own_code and own_code in cleaned[field]:
            check.add(errors, field, _("An offer is not a change of itself."))
    for code in sorted(set(cleaned["upgrade_codes"]) & set(cleaned["downgrade_codes"])):
        check.add(errors, "downgrade_codes", _("%(code)s is already an upgrade.", code=code))


def create_offer(actor: User | None, data: dict) -> ServiceOffer:
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers create offers."))
    errors: check.Errors = {}
    code = check.offer_code(errors, data.get("code"))
    if code and db.session.scalar(
        sa.select(sa.func.count(ServiceOffer.id)).where(ServiceOffer.code == code)
    ):
        check.add(errors, "code", _("The code %(code)s is already used.", code=code))
    try:
        cleaned = clean_offer_fields(data)
    except ValidationFailed as failure:
        errors = {**failure.fields, **errors}
    if errors:
        raise ValidationFailed(_("The offer could not be saved."), fields=errors)
    offer = ServiceOffer(
        code=code,
        revision=1,
        status=OfferStatus.DRAFT.value,
        created_by_id=actor.id if actor else None,
        created_at=clock.now(),
        updated_at=clock.now(),
        **cleaned,
    )
    db.session.add(offer)
    settings_for(code)
    db.session.flush()
    audit.record(
        actor,
        "offer",
        offer.id,
        "created",
        changes={**audit.diff({}, _snapshot(offer)), "version": {"before": None, "after": 1}},
        summary=f"{code}: {offer.name}",
    )
    db.session.flush()
    return offer


def _snapshot(offer: ServiceOffer) -> dict:
    return {field: getattr(offer, field) for field in OFFER_FIELDS}


def update_offer(
    actor: User | None,
    offer_id: int,
    data: dict,
    *,
    expected_version: int | None,
) -> ServiceOffer:
    """Edit a draft, planned or ready revision. A stale `expected_version` is refused with what changed."""
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers edit offers."))
    offer = get_offer(offer_id)
    check_version(offer, expected_version)
    if offer.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            _(
                "A %(status)s offer is not edited in place: create a new revision to change it.",
                status=label(offer.status),
            ),
            fields={"status": [_("Create a revision to change a published offer.")]},
        )
    cleaned = clean_offer_fields(data, partial_of=offer)
    if offer.is_bundle and cleaned["kind"] != OfferKind.BUNDLE.value and offer.members:
        raise ValidationFailed(
            _("Remove the bundle's members before changing its kind."),
            fields={"kind": [_("The bundle still has members.")]},
        )
    before = _snapshot(offer)
    if cleaned["kind"] == OfferKind.BUNDLE.value and offer.members:
        check_bundle_validity(offer, (cleaned["valid_from"], cleaned["valid_to"]))
    for field, value in cleaned.items():
        setattr(offer, field, value)
    changes = audit.diff(before, _snapshot(offer))
    if not changes:
        return offer
    changes.update(bump(offer))
    audit.record(
        actor,
        "offer",
        offer.id,
        "updated",
        changes=changes,
        summary=f"{offer.code} r{offer.revision}",
    )
    flush_offer(offer)
    return offer


def create_revision(actor: User | None, offer_id: int) -> ServiceOffer:
    """Start changing a live offer: a copy of it as a new draft revision."""
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers change offers."))
    live = get_offer(offer_id)
    if live.status != OfferStatus.PUBLISHED:
        raise InvalidTransition(
            _(
                "Only a published offer gets a new revision; this one is %(status)s.",
                status=live.status,
            ),
            fields={"status": [_("Not published.")]},
        )
    existing = draft_revision(live.code)
    if existing is not None:
        raise Conflict(
            _(
                "Revision %(revision)s of %(code)s is already being edited.",
                revision=existing.revision,
                code=live.code,
            ),
            fields={"revision": [_("Open revision %(revision)s.", revision=existing.revision)]},
        )
    latest = db.session.scalar(
        sa.select(sa.func.max(ServiceOffer.revision)).where(ServiceOffer.code == live.code)
    )
    revision = ServiceOffer(
        code=live.code,
        revision=latest + 1,
        status=OfferStatus.DRAFT.value,
        created_by_id=actor.id if actor else None,
        created_at=clock.now(),
        updated_at=clock.now(),
        **{field: copy.deepcopy(getattr(live, field)) for field in OFFER_FIELDS},
    )
    revision.replacement_code = None
    # it starts from the price and cost in force, not the ones the live revision started with
    revision.price, revision.cost = current_price(live)
    revision.members = [
        BundleMember(member_code=m.member_code, position=m.position) for m in live.members
    ]
    db.session.add(revision)
    db.session.flush()
    audit.record(
        actor,
        "offer",
        revision.id,
        "revision_created",
        changes={"version": {"before": None, "after": 1}},
        summary=f"{live.code} r{revision.revision} from r{live.revision}",
    )
    db.session.flush()
    return revision


def diff_revisions(first: ServiceOffer, second: ServiceOffer) -> list[dict]:
    """Field-by-field differences between two revisions of one offer."""
    if first.code != second.code:
        raise ValidationFailed(
            _("Compare revisions of the same offer."), fields={"revision": [_("Different offers.")]}
        )
    rows = []
    for field in OFFER_FIELDS + ("members",):
        if field == "members":
            a, b = [m.member_code for m in first.members], [m.member_code for m in second.members]
        else:
            a, b = getattr(first, field), getattr(second, field)
        if a != b:
            rows.append({"field": field, "before": a, "after": b})
    return rows


def set_featured(actor: User | None, code: str, featured: bool) -> None:
    require_role(actor, *CATALOG_ROLES, message=_("Only catalog managers feature offers."))
    if not revisions_of(code):
        raise NotFound(_("No such offer."))
    settings = settings_for(code)
    audit.record(
        actor,
        "offer_settings",
        code,
        "featured",
        changes=audit.diff({"featured": settings.featured}, {"featured": featured}),
    )
    settings.featured = featured
    db.session.flush()


def compared_revisions(
    offer_id: int, first_id: int | None, second_id: int | None
) -> tuple[ServiceOffer, list[ServiceOffer], ServiceOffer, ServiceOffer]:
    """(offer, its revisions, first, second) for the compare page: by default the revision
    before this one against this one; both must be revisions of this offer."""
    offer = get_offer(offer_id)
    revisions = revisions_of(offer.code)
    by_id = {revision.id: revision for revision in revisions}
    default_first = revisions[-2].id if len(revisions) > 1 else offer.id
    first = by_id.get(first_id or default_first)
    second = by_id.get(second_id or offer.id)
    if first is None or second is None:
        raise NotFound(_("Compare two revisions of this offer."))
    return offer, revisions, first, second
