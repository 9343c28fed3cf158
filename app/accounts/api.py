from flask import jsonify

from ..api.core import api_user, endpoint
from .schemas import MeSchema


@endpoint("/me", summary="The user behind the token", tag="accounts", response=MeSchema)
def me():
    return jsonify(MeSchema().dump(api_user()))
