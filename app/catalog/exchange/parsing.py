"""Reading a catalog file: YAML text → the document and each item's line, the document's
shape checked (types, known keys) into plain values, and problems keyed by item path
(`offers[3].price`), with the YAML line when the document came from YAML."""

from __future__ import annotations

import re
from typing import Any

import yaml
from marshmallow import ValidationError

from ...errors import DomainError, InvalidTransition, ValidationFailed
from ...i18n import _, format_number
from ...inputs import unstorable_text
from ..file_schemas import CatalogFileSchema

# Service field names → the catalog file's names, for error paths.
FILE_NAMES = {
    "category_id": "category",
    "product_id": "product",
    "release_id": "release",
    "group_ids": "audience",
    "pilot_group_ids": "pilot_groups",
    "end_date": "valid_to",
    "replacement_code": "replacement",
    "upgrade_codes": "upgrades",
    "downgrade_codes": "downgrades",
    "article_ids": "articles",
    "to": "status",
}


def parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """The document and, for each item path (`offers[3].price`), its line in the file.

    Syntax errors are a ValidationFailed naming the line and column."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        if _expanded_size(node, {}) > MAX_NODES:
            raise ValidationFailed(
                _("The file is too large once its YAML aliases are expanded."),
                fields={"file": [_("More than %(count)s values.", count=format_number(MAX_NODES))]},
            )
        lines: dict[str, int] = {}
        _node_lines(node, "", lines)
        document = loader.construct_document(node)
    except RecursionError:
        raise ValidationFailed(
            _("The file is nested too deeply."), fields={"file": [_("Use fewer nested levels.")]}
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        problem = error.problem or error.context or "cannot be read"
        raise ValidationFailed(
            _(
                "The file is not valid YAML: %(problem)s at %(where)s.",
                problem=problem,
                where=where,
            ),
            fields={
                f"line {mark.line + 1}" if mark else "file": [
                    _("%(where)s: %(problem)s", where=where, problem=problem)
                ]
            },
        ) from error
    except yaml.YAMLError as error:
        raise ValidationFailed(
            _("The file is not valid YAML."), fields={"file": [str(error)[:300]]}
        ) from error
    except ValueError as error:  # a value YAML types but cannot build, as the date 2024-02-30
        raise ValidationFailed(
            _("The file has a value that cannot be read: %(error)s.", error=error),
            fields={"file": [str(error)[:300]]},
        ) from error
    finally:
        loader.dispose()
    bad = unstorable_text(document)
    if bad is not None:
        raise ValidationFailed(
            _("The file holds text that cannot be stored."),
            fields={bad: [_("Remove the invalid character (a NUL or a lone UTF-16 surrogate).")]},
        )
    return document, lines


MAX_NODES = 200_000


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes the document has once aliases are expanded (memoised: linear time)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that refers to itself counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(
            _expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value
        )
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_NODES + 1)
    return sizes[id(node)]


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int], depth: int = 0) -> None:
    if depth > 50:
        raise ValidationFailed(
            _("The file is nested too deeply."),
            fields={f"line {node.start_mark.line + 1}": [_("Nested more than 50 levels.")]},
        )
    lines.setdefault(path or "file", node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            lines.setdefault(child, key.start_mark.line + 1)
            _node_lines(value, child, lines, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _node_lines(value, f"{path}[{index}]", lines, depth + 1)


def _path_of(key: str) -> str:
    """options.0.choices → options[0].choices"""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)


def _schema_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, list):
        return {prefix or "file": [str(message) for message in messages]}
    for key, value in messages.items():
        name = (
            f"{prefix}[{key}]"
            if isinstance(key, int)
            else (f"{prefix}.{key}" if prefix else str(key))
        )
        if isinstance(value, dict):
            flat.update(_schema_errors(value, name))
        else:
            flat.setdefault(name, []).extend(
                str(message) for message in (value if isinstance(value, list) else [value])
            )
    return flat


def _parent_path(path: str) -> str:
    """offers[3].options[0] → offers[3].options → offers[3] → offers → ''"""
    parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)
    return "" if parent == path else parent


def with_lines(errors: dict[str, list[str]], lines: dict[str, int] | None) -> dict:
    """Prefix each message with the line of its item (or of the nearest enclosing one)."""
    if not lines:
        return errors
    located = {}
    for path, messages in errors.items():
        probe, line = path, None
        while probe and line is None:
            line = lines.get(probe)
            probe = _parent_path(probe)
        located[path] = [
            message if line is None or message.startswith("line ") else f"line {line}: {message}"
            for message in messages
        ]
    return located


def load_document(data: Any, lines: dict[str, int] | None = None) -> dict:
    """Check the document's shape (types, known keys); problems keyed by item path."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            _("A catalog file is a mapping with categories, products, articles and offers."),
            fields={"file": [_("Expected a mapping at the top level.")]},
        )
    # Top-level keys starting with "x-" are the author's own (e.g. YAML anchors to reuse).
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    try:
        return CatalogFileSchema().load(data)
    except ValidationError as error:
        errors = with_lines(_schema_errors(error.messages), lines)
        raise ValidationFailed(
            _(
                "The catalog file has %(count)s problem(s); nothing was imported.",
                count=len(errors),
            ),
            fields=errors,
        ) from error


def add_problem(errors: dict[str, list[str]], path: str, error: DomainError | str) -> None:
    """Record a problem under the item's path, with the file's field names."""
    if isinstance(error, str):
        errors.setdefault(path, []).append(error)
    elif isinstance(error, InvalidTransition):
        # A refused step names what is missing in its message (the readiness checklist).
        errors.setdefault(f"{path}.status", []).append(error.message)
    elif not error.fields:
        errors.setdefault(path, []).append(error.message)
    else:
        for name, messages in error.fields.items():
            key = _path_of(FILE_NAMES.get(name, name))
            errors.setdefault(f"{path}.{key}", []).extend(messages)
