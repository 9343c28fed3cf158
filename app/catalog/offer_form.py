"""Between an offer and its editor form: the form's data from an offer (`offer_form_data`),
the service's fields from a posted form (`offer_data`), the editor's add / remove / move
buttons on its lists (`apply_list_op`), and the service's problems put next to their fields
(`place_errors`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from wtforms import FieldList, Form, FormField
from wtforms.fields.core import Field

from ..errors import DomainError
from ..validation import PRIORITIES
from .forms import TRUE_WORDS, OfferForm


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def _option_row(option: dict) -> dict:
    return {
        "key": option.get("key", ""),
        "label": option.get("label", ""),
        "type": option.get("type", "text"),
        "required": bool(option.get("required")),
        "default": _text(option.get("default")),
        "min": _text(option.get("min")),
        "max": _text(option.get("max")),
        "max_length": _text(option.get("max_length")),
        "choices": ", ".join(str(choice) for choice in option.get("choices") or []),
        "help": option.get("help", ""),
        **{name: _json_text(option.get(name)) for name in JSON_RULES},
        "depends_on": option.get("depends_on", ""),
        "choice_list": option.get("choice_list", ""),
    }


JSON_RULES = ("visible_when", "required_when", "choice_map", "prices")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


def _lease_data(offer) -> dict:
    return {
        "lease_days": _text(offer.lease_days),
        "lease_max_days": _text(offer.lease_max_days),
        "lease_warn_days": _text(offer.lease_warn_days),
        "lease_end_chosen": offer.lease_end_chosen,
        "lease_extension_needs_approval": offer.lease_extension_needs_approval,
    }


def offer_form_data(offer, in_force: tuple | None = None) -> dict:
    """What the form shows for a saved revision; `in_force` (price, cost) replaces its own
    price and cost (a live revision shows the ones in force, not the ones it started with)."""
    price, cost = in_force if in_force is not None else (offer.price, offer.cost)
    levels = offer.service_levels or {}
    plan = offer.support_plan or {}
    return {
        "version": str(offer.version),
        "code": offer.code,
        "name": offer.name,
        "summary": offer.summary,
        "description": offer.description,
        "kind": offer.kind,
        "category_id": _text(offer.category_id),
        "release_id": _text(offer.release_id),
        "valid_from": _day(offer.valid_from),
        "valid_to": _day(offer.valid_to),
        "planned_release_date": _day(offer.planned_release_date),
        "cost": _text(cost),
        "price": _text(price),
        "currency": offer.currency,
        "billing_period": offer.billing_period,
        "terms": offer.terms,
        "max_per_person": _text(offer.max_per_person),
        "max_per_group": _text(offer.max_per_group),
        **_lease_data(offer),
        "upgrade_codes": ", ".join(offer.upgrade_codes or []),
        "downgrade_codes": ", ".join(offer.downgrade_codes or []),
        "service_levels": {
            "availability_pct": _text(levels.get("availability_pct")),
            "fulfillment_target_hours": _text(levels.get("fulfillment_target_hours")),
            "support_hours": levels.get("support_hours") or "",
            "response_hours": {
                p: _text((levels.get("response_hours") or {}).get(p)) for p in PRIORITIES
            },
            "resolution_hours": {
                p: _text((levels.get("resolution_hours") or {}).get(p)) for p in PRIORITIES
            },
        },
        "options": [_option_row(option) for option in offer.options or []],
        "fulfillment_plan": [
            {
                "name": step.get("name", ""),
                "mode": step.get("mode", "manual"),
                "group": step.get("group", ""),
                "integration": step.get("integration") or "",
                "job_template": _text(step.get("job_template")),
                "expected_hours": _text(step.get("expected_hours")),
            }
            for step in offer.fulfillment_plan or []
        ],
        "support_plan": {
            "tier1_group": plan.get("tier1_group", ""),
            "escalation_path": "\n".join(plan.get("escalation_path") or []),
            "channels": list(plan.get("channels") or []),
        },
    }


def _moment(submitted: str | None, stored: datetime | None):
    """A date input shows the day only: an unchanged day keeps the stored moment."""
    submitted = (submitted or "").strip()
    if stored is not None and submitted == _day(stored):
        return stored
    return submitted


def _option_data(row: Form) -> dict:
    kind = row.type.data or "text"
    default: Any = row.default.data
    if kind == "boolean":
        default = (default or "").strip().lower() in TRUE_WORDS
    data = {
        "key": (row.key.data or "").strip(),
        "label": row.label.data,
        "type": kind,
        "required": bool(row.required.data),
        "default": default,
        "help": row.help.data,
        **{name: row[name].data or "" for name in JSON_RULES},  # JSON text, read by the service
        "depends_on": (row.depends_on.data or "").strip(),
        "choice_list": (row.choice_list.data or "").strip(),
    }
    if kind == "number":
        data.update(min=row.min.data, max=row.max.data)
    elif kind == "choice":
        data["choices"] = row.choices.data or ""
    elif kind == "text":
        data["max_length"] = row.max_length.data
    return data


def offer_data(form: OfferForm, offer=None) -> dict:
    """The form's values as the plain data `create_offer`/`update_offer` take."""
    levels = form.service_levels.form
    plan = form.support_plan.form
    data = {
        "name": form.name.data,
        "summary": form.summary.data,
        "description": form.description.data,
        "kind": form.kind.data,
        "category_id": form.category_id.data or None,
        "release_id": form.release_id.data or None,
        "valid_from": _moment(form.valid_from.data, offer.valid_from if offer else None),
        "valid_to": _moment(form.valid_to.data, offer.valid_to if offer else None),
        "planned_release_date": _moment(
            form.planned_release_date.data, offer.planned_release_date if offer else None
        ),
        "cost": form.cost.data,
        "price": form.price.data,
        "currency": form.currency.data,
        "billing_period": form.billing_period.data,
        "terms": form.terms.data,
        "max_per_person": form.max_per_person.data,
        "max_per_group": form.max_per_group.data,
        "lease_days": form.lease_days.data,
        "lease_max_days": form.lease_max_days.data,
        "lease_warn_days": form.lease_warn_days.data,
        "lease_end_chosen": form.lease_end_chosen.data is True,
        "lease_extension_needs_approval": form.lease_extension_needs_approval.data is True,
        "upgrade_codes": form.upgrade_codes.data or "",
        "downgrade_codes": form.downgrade_codes.data or "",
        "service_levels": {
            "availability_pct": levels.availability_pct.data,
            "fulfillment_target_hours": levels.fulfillment_target_hours.data,
            "support_hours": levels.support_hours.data,
            "response_hours": {p: levels.response_hours.form[p].data for p in PRIORITIES},
            "resolution_hours": {p: levels.resolution_hours.form[p].data for p in PRIORITIES},
        },
        "options": [_option_data(row.form) for row in form.options],
        "fulfillment_plan": [
            {
                "name": row.form.name.data,
                "mode": row.form.mode.data,
                "group": row.form.group.data or "",
                "integration": row.form.integration.data or None,
                "job_template": row.form.job_template.data or None,
                "expected_hours": row.form.expected_hours.data,
            }
            for row in form.fulfillment_plan
        ],
        "support_plan": {
            "tier1_group": plan.tier1_group.data or "",
            "escalation_path": plan.escalation_path.data or "",
            "channels": list(plan.channels.data or []),
        },
    }
    if offer is None:
        data["code"] = form.code.data
    return data


# Buttons of the order-form and fulfillment-plan lists: name="op", value="<verb>:<list>[:<row>]".
LISTS = {"options": "options", "steps": "fulfillment_plan"}
LIST_VERBS = ("add", "remove", "up", "down")


def apply_list_op(form: OfferForm, op: str) -> str | None:
    """Add, remove or move a row of a list without saving; returns the section to show."""
    parts = op.split(":")
    if len(parts) < 2 or parts[0] not in LIST_VERBS or parts[1] not in LISTS:
        return None
    verb, name = parts[0], LISTS[parts[1]]
    field_list = form[name]
    rows = [row.data for row in field_list]
    index = None
    if verb != "add":
        try:
            index = int(parts[2])
        except (IndexError, ValueError):
            return parts[1]
        if not 0 <= index < len(rows):
            return parts[1]
    if verb == "add":
        if len(rows) < 50:
            rows.append({})
    elif verb == "remove":
        rows.pop(index)
    else:
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    while field_list.entries:
        field_list.pop_entry()
    for row in rows:
        field_list.append_entry(row)
    return parts[1]


def _resolve(form, path: list[str]):
    """Walk 'service_levels.response_hours.critical' or 'options.2.choices' to a field."""
    node: Any = form
    for part in path:
        if isinstance(node, FieldList):
            if not part.isdigit() or int(part) >= len(node.entries):
                return None
            node = node.entries[int(part)]
        elif isinstance(node, FormField):
            node = node.form._fields.get(part)
        elif isinstance(node, Form):
            node = node._fields.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def place_errors(form, error: DomainError) -> dict[str, list[str]]:
    """Put a service's dotted field errors next to their (sub)form fields. Errors about a
    whole list or group ('options', 'support_plan') are returned by section; the rest is
    returned under '' for the page to show at the top."""
    leftovers: dict[str, list[str]] = {}
    for key, messages in error.fields.items():
        target = _resolve(form, key.split("."))
        if isinstance(target, Field) and not isinstance(target, FieldList | FormField):
            target.errors = list(target.errors) + list(messages)
        elif target is not None:
            leftovers.setdefault(key.split(".")[0], []).extend(messages)
        else:
            leftovers.setdefault("", []).extend(messages)
    return leftovers
