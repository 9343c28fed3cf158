from marshmallow import Schema, fields


class GroupSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str()


class MeSchema(Schema):
    id = fields.Int()
    email = fields.Email()
    name = fields.Str()
    roles = fields.Method("get_roles")
    support_tier = fields.Int(allow_none=True)
    groups = fields.List(fields.Nested(GroupSchema))

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_names)
