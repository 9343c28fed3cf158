from marshmallow import Schema, fields, validate


class GroupSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str()


class PersonSchema(Schema):
    email = fields.Email()
    name = fields.Str()


class GroupDetailSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str()
    description = fields.Str()
    managers = fields.List(
        fields.Nested(PersonSchema),
        metadata={"description": "The members who manage the group, by name."},
    )


class GroupListSchema(Schema):
    items = fields.List(fields.Nested(GroupDetailSchema))


class GroupManagersSchema(Schema):
    managers = fields.List(
        fields.Str(validate=validate.Length(min=1, max=254)),
        required=True,
        validate=validate.Length(max=200),
        metadata={
            "description": "The e-mail addresses of the group's managers (all of them: the "
            "list replaces the current one). Each must be a member of the group."
        },
    )


class MeSchema(Schema):
    id = fields.Int()
    email = fields.Email()
    name = fields.Str()
    roles = fields.Method("get_roles")
    support_tier = fields.Int(allow_none=True)
    groups = fields.List(fields.Nested(GroupSchema))
    managed_groups = fields.List(
        fields.Nested(GroupSchema), metadata={"description": "The groups this user manages."}
    )

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_names)
