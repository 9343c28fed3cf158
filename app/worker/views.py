"""Admin → Jobs: the job storage, its queue, the periodic jobs and their runs (read-only)."""

from flask import Blueprint, render_template

from ..accounts.models import Role
from ..web import roles_required

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    from .. import jobs as engine

    return render_template("jobs/index.html", overview=engine.overview())
