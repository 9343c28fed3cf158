from flask import jsonify

from ..api.core import api_user, endpoint, load
from .schemas import GroupDetailSchema, GroupListSchema, GroupManagersSchema, MeSchema
from .services import groups


@endpoint("/me", summary="The user behind the token", tag="accounts", response=MeSchema)
def me():
    return jsonify(MeSchema().dump(api_user()))


@endpoint(
    "/groups",
    summary="Consumer groups: all of them for an admin, else the caller's own",
    tag="accounts",
    response=GroupListSchema,
)
def list_groups():
    return jsonify(GroupListSchema().dump({"items": groups.visible_groups(api_user())}))


@endpoint(
    "/groups/<int:group_id>",
    summary="A consumer group and its managers (admins and the group's members)",
    tag="accounts",
    response=GroupDetailSchema,
)
def get_group(group_id: int):
    return jsonify(GroupDetailSchema().dump(groups.group_for(api_user(), group_id)))


@endpoint(
    "/groups/<int:group_id>/managers",
    "PUT",
    summary="Replace a group's managers (admins only; each manager must be a member)",
    tag="accounts",
    body=GroupManagersSchema,
    response=GroupDetailSchema,
)
def put_group_managers(group_id: int):
    user = api_user()
    groups.require_role(user, groups.Role.ADMIN)  # who asks, before what they send
    data = load(GroupManagersSchema())
    group = groups.set_managers_by_email(user, group_id, data["managers"])
    return jsonify(GroupDetailSchema().dump(group))
