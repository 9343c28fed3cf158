"""Field checks for offers: plain values in, cleaned values or field-level messages out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import order_options
from .catalog.models import BillingPeriod, OfferKind
from .i18n import _, format_number
from .inputs import whole_number

CURRENCIES = (
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
    "JPY",
    "CNY",
    "INR",
    "CAD",
    "AUD",
    "NZD",
    "SGD",
    "HKD",
    "ZAR",
    "BRL",
    "MXN",
)
PRIORITIES = ("critical", "high", "medium", "low")
SUPPORT_HOURS = ("24x7", "business")
CHANNELS = ("portal", "email", "phone", "chat")
OPTION_TYPES = ("text", "number", "choice", "boolean")
STEP_MODES = ("manual", "automatic")
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_MONEY = Decimal("9999999999.99")
FALSE_WORDS = ("", "0", "false", "no", "off", "n")

Errors = dict[str, list[str]]


def add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def text(
    errors: Errors, field: str, value: Any, *, required: bool = False, max_length: int = 200
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        add(errors, field, _("Enter text."))
        return ""
    value = value.strip()
    if "\x00" in value:  # PostgreSQL cannot store NUL characters in text
        add(errors, field, _("Remove the invalid (NUL) characters."))
        return ""
    if required and not value:
        add(errors, field, _("This field is required."))
    elif len(value) > max_length:
        add(errors, field, _("Keep this to %(count)s characters.", count=format_number(max_length)))
    return value


def money(errors: Errors, field: str, value: Any, *, required: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            add(errors, field, _("Enter an amount."))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        add(errors, field, _("Enter an amount such as 12.50."))
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        add(errors, field, _("Enter an amount such as 12.50."))
        return None
    if not amount.is_finite():
        add(errors, field, _("Enter an amount such as 12.50."))
        return None
    if amount < 0:
        add(errors, field, _("The amount cannot be negative."))
        return None
    if amount > MAX_MONEY:
        add(errors, field, _("The amount is too large."))
        return None
    if amount != amount.quantize(Decimal("0.01")):
        add(errors, field, _("Use at most two decimal places."))
        return None
    return amount.quantize(Decimal("0.01"))


def number(
    errors: Errors,
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    required: bool = False,
    exclusive_minimum: bool = False,
) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            add(errors, field, _("Enter a number."))
        return None
    if isinstance(value, bool):
        add(errors, field, _("Enter a number."))
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        add(errors, field, _("Enter a number."))
        return None
    if result != result or result in (float("inf"), float("-inf")):
        add(errors, field, _("Enter a number."))
        return None
    if minimum is not None and (result <= minimum if exclusive_minimum else result < minimum):
        add(
            errors,
            field,
            _("Must be more than %(minimum)s.", minimum=format_number(minimum))
            if exclusive_minimum
            else _("Must be at least %(minimum)s.", minimum=format_number(minimum)),
        )
    if maximum is not None and result > maximum:
        add(errors, field, _("Must be at most %(maximum)s.", maximum=format_number(maximum)))
    return int(result) if result.is_integer() else result


def moment(errors: Errors, field: str, value: Any) -> datetime | None:
    """Accept a datetime, a date (midnight UTC) or an ISO string; always return aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            add(errors, field, _("Enter a date as YYYY-MM-DD."))
            return None
    else:
        add(errors, field, _("Enter a date as YYYY-MM-DD."))
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        add(errors, field, _("Enter a date as YYYY-MM-DD."))
        return None


def flag(value: Any) -> bool:
    """A yes/no value that may come as text from a form or a file ("false" is False)."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_WORDS
    return bool(value)


def reference_id(errors: Errors, field: str, value: Any) -> int | None:
    """The id of a row chosen from a list: a positive whole number (or its digits as text)."""
    if value in (None, "", 0):
        return None
    number = whole_number(value)
    if number is None:
        add(errors, field, _("Choose from the list."))
    return number


def choice(
    errors: Errors, field: str, value: Any, allowed: tuple[str, ...] | list[str], label: str
) -> str:
    if value not in allowed:
        add(
            errors,
            field,
            _("Choose a %(label)s: %(names)s.", label=label, names=", ".join(allowed)),
        )
        return allowed[0]
    return value


def offer_code(errors: Errors, value: Any) -> str:
    code = text(errors, "code", value, required=True, max_length=40).upper()
    if code and not CODE_RE.match(code):
        add(errors, "code", _("Use 2–40 capital letters, digits and hyphens, e.g. VPN-ACCESS."))
    return code


def holding_limit(errors: Errors, field: str, value: Any) -> int | None:
    """How many active subscriptions one holder may have: empty for any number, else 1–10,000."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    limit = whole_number(value, maximum=10_000)
    if limit is None or isinstance(value, bool | float):
        add(errors, field, _("Enter a whole number from 1 to 10,000, or leave it empty for any."))
        return None
    return limit


def offer_codes(errors: Errors, field: str, value: Any) -> list[str]:
    """A list of offer codes (a list, or text separated by commas, spaces or lines), each once,
    in the order given."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        add(errors, field, _("Give offer codes, e.g. VPN-PLUS, VPN-LITE."))
        return []
    codes: list[str] = []
    for item in value:
        code = item.strip().upper()
        if not code or code in codes:
            continue
        if not CODE_RE.match(code):
            add(errors, field, _("“%(code)s” is not an offer code.", code=code[:40]))
            continue
        codes.append(code)
    if len(codes) > 50:
        add(errors, field, _("Name at most 50 offers."))
    return codes


def kind(errors: Errors, value: Any) -> str:
    return choice(
        errors, "kind", value or OfferKind.NEW_INSTANCE.value, [k.value for k in OfferKind], "kind"
    )


def billing(errors: Errors, value: Any) -> str:
    return choice(
        errors,
        "billing_period",
        value or BillingPeriod.MONTHLY.value,
        [b.value for b in BillingPeriod],
        "billing period",
    )


def currency(errors: Errors, value: Any) -> str:
    code = (value or "EUR").strip().upper() if isinstance(value, str) or value is None else ""
    if code not in CURRENCIES:
        add(
            errors,
            "currency",
            _(
                "Unknown currency “%(value)s”. Use one of %(names)s.",
                value=value,
                names=", ".join(CURRENCIES),
            ),
        )
    return code


def _hours_per_priority(errors: Errors, target: str, targets: Any) -> dict:
    """A response or resolution target: hours per known priority."""
    if not isinstance(targets, dict):
        add(errors, f"service_levels.{target}", _("Give a number of hours per priority."))
        return {}
    unknown = set(targets) - set(PRIORITIES)
    if unknown:
        add(
            errors,
            f"service_levels.{target}",
            _("Unknown priority: %(names)s.", names=", ".join(sorted(unknown))),
        )
    return {
        priority: number(
            errors,
            f"service_levels.{target}.{priority}",
            targets[priority],
            minimum=0,
            maximum=8760,
            exclusive_minimum=True,
        )
        for priority in PRIORITIES
        if targets.get(priority) not in (None, "")
    }


def service_levels(errors: Errors, value: Any) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        add(errors, "service_levels", _("Service levels must be an object."))
        return {}
    cleaned: dict = {}
    if value.get("availability_pct") not in (None, ""):
        cleaned["availability_pct"] = number(
            errors,
            "service_levels.availability_pct",
            value["availability_pct"],
            minimum=0,
            maximum=100,
            exclusive_minimum=True,
        )
    if value.get("fulfillment_target_hours") not in (None, ""):
        cleaned["fulfillment_target_hours"] = number(
            errors,
            "service_levels.fulfillment_target_hours",
            value["fulfillment_target_hours"],
            minimum=0,
            maximum=8760,
            exclusive_minimum=True,
        )
    if value.get("support_hours") not in (None, ""):
        cleaned["support_hours"] = choice(
            errors,
            "service_levels.support_hours",
            value["support_hours"],
            SUPPORT_HOURS,
            "support hours value",
        )
    for target in ("response_hours", "resolution_hours"):
        hours = _hours_per_priority(errors, target, value.get(target) or {})
        if hours:
            cleaned[target] = hours
    for priority in PRIORITIES:
        response = cleaned.get("response_hours", {}).get(priority)
        resolution = cleaned.get("resolution_hours", {}).get(priority)
        if response is not None and resolution is not None and resolution < response:
            add(
                errors,
                f"service_levels.resolution_hours.{priority}",
                _("Resolution cannot come before the first response."),
            )
    return cleaned


def options(errors: Errors, value: Any) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        add(errors, "options", _("Options must be a list."))
        return []
    if len(value) > 50:
        add(errors, "options", _("Keep the order form to 50 fields."))
        return []
    cleaned, keys = [], set()
    for index, raw in enumerate(value):
        prefix = f"options.{index}"
        if not isinstance(raw, dict):
            add(errors, prefix, _("Each option must be an object."))
            continue
        key = text(errors, f"{prefix}.key", raw.get("key"), required=True, max_length=40)
        if key and not KEY_RE.match(key):
            add(
                errors,
                f"{prefix}.key",
                _("Use lower-case letters, digits and underscores, starting with a letter."),
            )
        if key and key in keys:
            add(errors, f"{prefix}.key", _("The key “%(key)s” is used twice.", key=key))
        keys.add(key)
        option = {
            "key": key,
            "label": text(
                errors, f"{prefix}.label", raw.get("label"), required=True, max_length=120
            ),
            "type": choice(errors, f"{prefix}.type", raw.get("type"), OPTION_TYPES, "field type"),
            "required": flag(raw.get("required", False)),
            "help": text(errors, f"{prefix}.help", raw.get("help"), max_length=300),
        }
        _option_type_rules(errors, prefix, raw, option)
        order_options.clean_rules(errors, prefix, raw, option)
        cleaned.append(option)
    order_options.check_definitions(errors, cleaned)
    return cleaned


def _option_type_rules(errors: Errors, prefix: str, raw: dict, option: dict) -> None:
    kind_ = option["type"]
    default = raw.get("default")
    if kind_ == "choice":
        choices = raw.get("choices") or []
        if isinstance(choices, str):
            choices = [item.strip() for item in choices.split(",")]
        choices = (
            [str(item).strip() for item in choices if str(item).strip()]
            if isinstance(choices, list)
            else []
        )
        sourced = raw.get("depends_on") or raw.get("choice_list")  # choices from elsewhere
        if not choices and not sourced:
            add(errors, f"{prefix}.choices", _("A choice field needs at least one choice."))
        elif len(set(choices)) != len(choices):
            add(errors, f"{prefix}.choices", _("Each choice must appear once."))
        option["choices"] = choices
        if default not in (None, ""):
            if default not in choices and not sourced:
                add(errors, f"{prefix}.default", _("The default must be one of the choices."))
            option["default"] = default
    elif kind_ == "number":
        low = number(errors, f"{prefix}.min", raw.get("min"))
        high = number(errors, f"{prefix}.max", raw.get("max"))
        if low is not None and high is not None and low > high:
            add(errors, f"{prefix}.min", _("The minimum is above the maximum."))
        option["min"], option["max"] = low, high
        if default not in (None, ""):
            value = number(errors, f"{prefix}.default", default, minimum=low, maximum=high)
            option["default"] = value
    elif kind_ == "boolean":
        option["default"] = flag(default) if default is not None else False
    else:
        if default not in (None, ""):
            option["default"] = text(errors, f"{prefix}.default", default, max_length=500)
        max_length = raw.get("max_length")
        if max_length not in (None, ""):
            option["max_length"] = number(
                errors, f"{prefix}.max_length", max_length, minimum=1, maximum=5000
            )


def fulfillment_plan(
    errors: Errors, value: Any, group_names: set[str], integrations: dict[str, str] | None = None
) -> list[dict]:
    """The plan's steps. An automatic step names the integration that does it (`integrations`:
    name → kind), or says `"integration": null` to be done the moment it is queued; leaving
    the key out is refused, so that a plan never skips real work by omission. A step calling an
    AWX integration names the job template it launches (`"job_template": 42`)."""
    integrations = integrations or {}
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        add(errors, "fulfillment_plan", _("The fulfillment plan must be a list of steps."))
        return []
    steps = []
    for index, raw in enumerate(value):
        prefix = f"fulfillment_plan.{index}"
        if not isinstance(raw, dict):
            add(errors, prefix, _("Each step must be an object."))
            continue
        step = {
            "name": text(errors, f"{prefix}.name", raw.get("name"), required=True, max_length=120),
            "mode": choice(errors, f"{prefix}.mode", raw.get("mode"), STEP_MODES, "mode"),
            "expected_hours": number(
                errors,
                f"{prefix}.expected_hours",
                raw.get("expected_hours"),
                minimum=0,
                maximum=8760,
                required=True,
                exclusive_minimum=True,
            ),
        }
        group = (raw.get("group") or "").strip() if isinstance(raw.get("group"), str) else ""
        if raw.get("mode") == "manual":
            if not group:
                add(errors, f"{prefix}.group", _("A manual step needs the group that does it."))
            elif group not in group_names:
                add(errors, f"{prefix}.group", _("Unknown group “%(group)s”.", group=group))
        step["group"] = group if step["mode"] == "manual" else ""
        if step["mode"] == "automatic":
            step["integration"] = _step_integration(errors, prefix, raw, integrations)
            template = _job_template(errors, prefix, raw, integrations.get(step["integration"]))
            if template is not None:
                step["job_template"] = template
        steps.append(step)
    return steps


def _step_integration(
    errors: Errors, prefix: str, raw: dict, integration_names: dict[str, str]
) -> str | None:
    field = f"{prefix}.integration"
    if "integration" not in raw:
        add(
            errors,
            field,
            _("Name the integration that does this step, or choose none (done at once)."),
        )
        return None
    name = raw["integration"]
    if name is None:
        return None
    if not isinstance(name, str):
        add(errors, field, _("Name an integration."))
        return None
    name = name.strip()
    if name and name not in integration_names:
        add(errors, field, _("Unknown integration “%(name)s”.", name=name[:120]))
    return name or None


def _job_template(errors: Errors, prefix: str, raw: dict, kind: str | None) -> int | None:
    """The AWX job template id of a step calling an AWX integration; refused on other steps."""
    field, given = f"{prefix}.job_template", raw.get("job_template")
    if kind != "awx":
        if given not in (None, "") and kind is not None:
            add(errors, field, _("Only a step calling an AWX integration launches a job template."))
        return None
    if given in (None, ""):
        add(errors, field, _("Give the id of the AWX job template this step launches."))
        return None
    template = whole_number(given)
    if template is None:
        add(errors, field, _("The job template id is a whole number, e.g. 42."))
    return template


def support_plan(errors: Errors, value: Any, group_names: set[str]) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        add(errors, "support_plan", _("The support plan must be an object."))
        return {}
    group = text(errors, "support_plan.tier1_group", value.get("tier1_group"), max_length=120)
    if group and group not in group_names:
        add(errors, "support_plan.tier1_group", _("Unknown group “%(group)s”.", group=group))
    path = value.get("escalation_path") or []
    if isinstance(path, str):
        path = [line.strip() for line in path.splitlines()]
    if not isinstance(path, list):
        add(errors, "support_plan.escalation_path", _("Give one escalation level per line."))
        path = []
    channels = value.get("channels") or []
    if isinstance(channels, str):
        channels = [item.strip() for item in channels.split(",")]
    if not isinstance(channels, list) or any(item not in CHANNELS for item in channels):
        add(
            errors,
            "support_plan.channels",
            _("Channels are among: %(names)s.", names=", ".join(CHANNELS)),
        )
        channels = []
    return {
        "tier1_group": group,
        "escalation_path": [str(level).strip()[:200] for level in path if str(level).strip()][:10],
        "channels": list(dict.fromkeys(channels)),
    }
