"""Choice lists: read by anyone signed in (an order form's choices), kept by catalog managers.
A list is addressed by its name."""

from __future__ import annotations

from flask import jsonify

from ...api.core import api_user, endpoint, load
from ..schemas import ChoiceListListSchema, ChoiceListSchema, ChoiceListWriteSchema
from ..services import choice_lists
from .common import TAG, require_manager


def _dump(choice_list) -> dict:
    body = ChoiceListSchema().dump(
        {
            "name": choice_list.name,
            "label": choice_list.label,
            "description": choice_list.description,
            "entry_count": len(choice_list.entries),
            "entries": [{"value": e.value, "label": e.label} for e in choice_list.entries],
            "updated_at": choice_list.updated_at,
        }
    )
    return body


@endpoint(
    "/choice-lists", summary="The choice lists, by name.", tag=TAG, response=ChoiceListListSchema
)
def choice_lists_index():
    api_user()
    items = [
        {
            "name": choice_list.name,
            "label": choice_list.label,
            "description": choice_list.description,
            "entry_count": count,
            "updated_at": choice_list.updated_at,
        }
        for choice_list, count in choice_lists.all_choice_lists()
    ]
    return jsonify(ChoiceListListSchema().dump({"items": items}))


@endpoint(
    "/choice-lists/<name>",
    summary="A choice list with its entries.",
    tag=TAG,
    response=ChoiceListSchema,
)
def choice_list_show(name: str):
    api_user()
    return jsonify(_dump(choice_lists.get_choice_list(name)))


@endpoint(
    "/choice-lists",
    "POST",
    summary="Create a choice list (catalog managers).",
    tag=TAG,
    body=ChoiceListWriteSchema,
    response=ChoiceListSchema,
    status=201,
)
def choice_list_create():
    user = api_user()
    require_manager(user)
    data = load(ChoiceListWriteSchema())
    return jsonify(_dump(choice_lists.save_choice_list(user, data))), 201


@endpoint(
    "/choice-lists/<name>",
    "PATCH",
    summary="Change a choice list's title, description or entries (entries replace them all; "
    "missing fields keep their value).",
    tag=TAG,
    body=ChoiceListWriteSchema,
    response=ChoiceListSchema,
)
def choice_list_update(name: str):
    user = api_user()
    require_manager(user)
    data = load(ChoiceListWriteSchema(), partial=True)
    data.pop("name", None)
    return jsonify(_dump(choice_lists.save_choice_list(user, data, name=name, partial=True)))


@endpoint(
    "/choice-lists/<name>",
    "DELETE",
    summary="Delete a choice list no order form takes (409 while one does).",
    tag=TAG,
    status=204,
)
def choice_list_delete(name: str):
    user = api_user()
    require_manager(user)
    choice_lists.delete_choice_list(user, name)
    return "", 204
