"""Approval policies: which approval steps an order of an offer goes through. A catalog manager
sets one on an offer (by code, for all its revisions), on a category (its offers and its
sub-categories' offers inherit it) or as the catalog default; the nearest one applies.

A policy is checked whole when saved: every step has a name and approvers, an approver group
exists and has members, a named user exists, every condition is valid (with the column of the
first error; on an offer, its options are the only `options.<key>` allowed)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import yaml

from ... import clock
from ...accounts import services as accounts
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...audit import services as audit
from ...catalog.models import Category, ServiceOffer
from ...errors import NotFound, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ...versioning import check_version, flush_versioned, version_change
from ..models import ApprovalPolicy
from . import conditions

APPROVER_KINDS = ("group_managers", "approver_group", "user")
MAX_STEPS = 10
FIELDS = ("steps", "auto_approve", "reminder_hours", "escalation_hours", "on_exceed")


def require_catalog_manager(actor: User) -> None:
    require_role(
        actor, Role.CATALOG_MANAGER, message=_("Only catalog managers set approval policies.")
    )


# --- finding the policy in force -----------------------------------------------------------------


def policy_for(offer: ServiceOffer) -> ApprovalPolicy | None:
    """The policy an order of `offer` goes through: the offer's own, else its category's or the
    nearest parent category's, else the catalog default, else none."""
    own = db.session.scalar(
        sa.select(ApprovalPolicy).where(ApprovalPolicy.offer_code == offer.code)
    )
    if own is not None:
        return own
    category, seen = offer.category, set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        found = db.session.scalar(
            sa.select(ApprovalPolicy).where(ApprovalPolicy.category_id == category.id)
        )
        if found is not None:
            return found
        category = category.parent
    return db.session.scalar(sa.select(ApprovalPolicy).where(ApprovalPolicy.scope == "default"))


def offer_by_id(offer_id: Any) -> ServiceOffer:
    offer = get_by_id(ServiceOffer, offer_id)
    if offer is None:
        raise NotFound(_("No such offer."))
    return offer


def all_policies() -> list[ApprovalPolicy]:
    return list(
        db.session.scalars(
            sa.select(ApprovalPolicy).order_by(
                ApprovalPolicy.scope.desc(), ApprovalPolicy.offer_code, ApprovalPolicy.category_id
            )
        )
    )


def find(scope: str, target: Any = None) -> ApprovalPolicy | None:
    """The policy of (offer, code), (category, id) or (default, None), if one is set."""
    if scope == "offer":
        where = ApprovalPolicy.offer_code == str(target)
    elif scope == "category":
        category = get_by_id(Category, target)
        if category is None:
            return None
        where = ApprovalPolicy.category_id == category.id
    else:
        where = ApprovalPolicy.scope == "default"
    return db.session.scalar(sa.select(ApprovalPolicy).where(where))


def data_of(policy: ApprovalPolicy | None) -> dict:
    """A policy as the API, the page and the catalog file write it."""
    if policy is None:
        return {"steps": [], "auto_approve": "", "reminder_hours": None, "escalation_hours": None}
    data = {
        "steps": policy.steps or [],
        "auto_approve": policy.auto_approve or "",
        "reminder_hours": policy.reminder_hours,
        "escalation_hours": policy.escalation_hours,
        "on_exceed": policy.on_exceed,
    }
    return data


def steps_yaml(steps: list) -> str:
    return yaml.safe_dump(steps or [], sort_keys=False, allow_unicode=True) if steps else ""


def parse_steps_yaml(text: str) -> Any:
    """The steps written as YAML on the policy page; ValidationFailed for text that is no YAML."""
    try:
        return yaml.safe_load(text or "") or []
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = (
            _(" (line %(line)d, column %(column)d)", line=mark.line + 1, column=mark.column + 1)
            if mark
            else ""
        )
        message = _("The steps are not valid YAML%(where)s.", where=where)
        raise ValidationFailed(message, fields={"steps": [message]}) from None


# --- checking --------------------------------------------------------------------------------------


def clean(data: Any, *, offer: ServiceOffer | None = None) -> dict:
    """The policy's fields, checked; ValidationFailed with an error per field otherwise (a step's
    field as `steps[1].condition`)."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            _("Send the policy as an object."), fields={"policy": [_("Send an object.")]}
        )
    errors: dict[str, list[str]] = {}
    keys = {option.get("key") for option in (offer.options or [])} if offer is not None else None
    steps = _clean_steps(data.get("steps"), errors, keys)
    auto = str(data.get("auto_approve") or "").strip()
    if auto:
        _condition(errors, "auto_approve", auto, keys)
    cleaned = {
        "steps": steps,
        "auto_approve": auto,
        "reminder_hours": _hours(errors, "reminder_hours", data.get("reminder_hours")),
        "escalation_hours": _hours(errors, "escalation_hours", data.get("escalation_hours")),
        "on_exceed": str(data.get("on_exceed") or "refuse"),
    }
    if cleaned["on_exceed"] not in ("refuse", "approve"):
        errors.setdefault("on_exceed", []).append(_("Choose refuse or approve."))
    if errors:
        raise ValidationFailed(_("The approval policy was not saved."), fields=errors)
    return cleaned


def _condition(errors: dict, field: str, text: str, keys: set | None) -> None:
    problem = conditions.validate(text, keys)
    if problem:
        errors.setdefault(field, []).append(problem)


def _hours(errors: dict, field: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        hours = int(str(value))
    except ValueError:
        hours = 0
    if not 1 <= hours <= 24 * 90:
        errors.setdefault(field, []).append(_("Give a whole number of hours from 1 to 2160."))
        return None
    return hours


def _clean_steps(steps: Any, errors: dict, keys: set | None) -> list[dict]:
    if steps in (None, ""):
        return []
    if not isinstance(steps, list):
        errors.setdefault("steps", []).append(_("The steps are a list."))
        return []
    if len(steps) > MAX_STEPS:
        errors.setdefault("steps", []).append(_("At most %(max)d steps.", max=MAX_STEPS))
    cleaned = []
    for index, step in enumerate(steps[:MAX_STEPS]):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            errors.setdefault(where, []).append(_("A step has a name and approvers."))
            continue
        cleaned.append(_clean_step(step, where, errors, keys))
    return cleaned


def _clean_step(step: dict, where: str, errors: dict, keys: set | None) -> dict:
    name = str(step.get("name") or "").strip()
    if not name or len(name) > 120:
        errors.setdefault(f"{where}.name", []).append(_("Name the step (at most 120 characters)."))
    approvers = step.get("approvers")
    if not isinstance(approvers, list) or not approvers:
        errors.setdefault(f"{where}.approvers", []).append(_("List at least one approver."))
        approvers = []
    cleaned_approvers = [
        _clean_approver(entry, f"{where}.approvers[{i}]", errors)
        for i, entry in enumerate(approvers)
    ]
    require = str(step.get("require") or "one")
    if require not in ("one", "all"):
        errors.setdefault(f"{where}.require", []).append(_("Choose one or all."))
    condition = str(step.get("condition") or "").strip()
    if condition:
        _condition(errors, f"{where}.condition", condition, keys)
    cleaned = {"name": name, "approvers": cleaned_approvers, "require": require}
    if condition:
        cleaned["condition"] = condition
    if step.get("fallback"):
        cleaned["fallback"] = _clean_approver(step["fallback"], f"{where}.fallback", errors)
    return cleaned


def _clean_approver(entry: Any, where: str, errors: dict) -> dict:
    """{"kind": "group_managers"}, {"kind": "approver_group", "group": name} or {"kind": "user",
    "email": address}; a group must exist and have members, a user must exist."""
    if isinstance(entry, str):  # shorthand: "group_managers", "approver_group Finance", "user x@y"
        kind, _sep, rest = entry.strip().partition(" ")
        entry = (
            {"kind": kind, "group": rest.strip()}
            if kind == "approver_group"
            else {"kind": kind, "email": rest.strip()}
        )
    if not isinstance(entry, dict) or entry.get("kind") not in APPROVER_KINDS:
        errors.setdefault(where, []).append(
            _("An approver is group_managers, approver_group <group> or user <e-mail>.")
        )
        return {}
    kind = entry["kind"]
    if kind == "group_managers":
        return {"kind": kind}
    if kind == "approver_group":
        name = str(entry.get("group") or "").strip()
        group = accounts.find_group_by_name(name) if name else None
        if group is None:
            errors.setdefault(where, []).append(_("No group is called “%(name)s”.", name=name))
        elif not [member for member in group.members if member.active]:
            errors.setdefault(where, []).append(
                _("The group “%(name)s” has no members, so nobody could approve.", name=name)
            )
        return {"kind": kind, "group": name}
    email = str(entry.get("email") or "").strip().lower()
    user = accounts.find_user_by_email(email) if email else None
    if user is None or not user.active:
        errors.setdefault(where, []).append(
            _("No active user has the e-mail “%(email)s”.", email=email)
        )
    return {"kind": kind, "email": email}


# --- saving ----------------------------------------------------------------------------------------


def set_policy(
    actor: User, scope: str, target: Any, data: Any, *, version: Any = None
) -> ApprovalPolicy | None:
    """Set (or, with no steps and no auto-approve condition, remove) the policy of an offer (its
    code), a category (its id) or the catalog default."""
    require_catalog_manager(actor)
    offer, category = _target(scope, target)
    cleaned = clean(data, offer=offer)
    policy = find(scope, offer.code if offer else (category.id if category else None))
    if policy is not None:
        check_version(policy, version, noun="approval policy", object_type="approval_policy")
    if not cleaned["steps"] and not cleaned["auto_approve"]:
        if policy is not None:
            audit.record(actor, "approval_policy", policy.id, "removed", summary=_label(policy))
            db.session.delete(policy)
            db.session.flush()
        return None
    if policy is not None and all(data_of(policy).get(f) == cleaned[f] for f in FIELDS):
        return policy  # saved already: nothing changes, nothing is recorded
    if policy is None:
        policy = ApprovalPolicy(
            scope=scope,
            offer_code=offer.code if offer else None,
            category_id=category.id if category else None,
        )
        db.session.add(policy)
        before: dict = {}
        changes = {}
    else:
        before = data_of(policy)
        changes = version_change(policy)
    for field in FIELDS:
        setattr(policy, field, cleaned[field])
    policy.updated_at, policy.updated_by_id = clock.now(), actor.id
    flush_versioned(policy, noun="approval policy", object_type="approval_policy")
    changes.update(
        {
            field: {"before": before.get(field), "after": cleaned[field]}
            for field in FIELDS
            if before.get(field) != cleaned[field]
        }
    )
    audit.record(
        actor, "approval_policy", policy.id, "saved", changes=changes, summary=_label(policy)
    )
    return policy


def target_named(scope: str, text: str | None) -> ServiceOffer | Category | None:
    """What a person typed as a policy's target: an offer's code (its newest revision), a
    category's id or name; None for the default or when nothing has that name."""
    text = (text or "").strip()
    if scope == "offer":
        return db.session.scalar(
            sa.select(ServiceOffer)
            .where(ServiceOffer.code == text.upper())
            .order_by(ServiceOffer.revision.desc())
            .limit(1)
        )
    if scope == "category":
        if text.isdigit():
            return db.session.get(Category, int(text))
        return db.session.scalar(sa.select(Category).where(Category.name == text))
    return None


def _target(scope: str, target: Any) -> tuple[ServiceOffer | None, Category | None]:
    if scope == "offer":
        offer = target if isinstance(target, ServiceOffer) else get_by_id(ServiceOffer, target)
        if offer is None:
            raise NotFound(_("No such offer."))
        return offer, None
    if scope == "category":
        category = get_by_id(Category, target)
        if category is None:
            raise NotFound(_("No such category."))
        return None, category
    if scope == "default":
        return None, None
    raise ValidationFailed(
        _("Choose an offer, a category or the catalog default."),
        fields={"scope": [_("Choose offer, category or default.")]},
    )


def _label(policy: ApprovalPolicy) -> str:
    if policy.scope == "offer":
        return f"offer {policy.offer_code}"
    if policy.scope == "category":
        return f"category {policy.category.name if policy.category else policy.category_id}"
    return "catalog default"


def label(policy: ApprovalPolicy) -> str:
    """Where a policy applies, in the reader's words."""
    if policy.scope == "offer":
        return _("Offer %(code)s", code=policy.offer_code)
    if policy.scope == "category":
        return _("Category %(name)s", name=policy.category.name if policy.category else "?")
    return _("Catalog default")
