from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from ..audit import readable
from ..errors import NotAllowed, RateLimited, Unauthorized, ValidationFailed
from ..i18n import _, _l, refresh
from ..web import accept_any_id, apply_field_errors, arg_id, is_safe_next, paginate, roles_required
from . import services
from .forms import (
    ConfirmForm,
    GroupForm,
    GroupManagersForm,
    GroupMembersForm,
    LoginForm,
    PasswordChangeForm,
    PreferencesForm,
    TokenForm,
    UserForm,
)
from .models import Role
from .services import groups as group_services
from .services import openid, sso

bp = Blueprint("accounts", __name__)

readable.register_labels(  # how users' fields read in the audit trail
    {
        "email": _l("E-mail"),
        "active": _l("Active"),
        "groups": _l("Groups"),
        "support_tier": _l("Support tier"),
    }
)


def client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_address())
        except RateLimited as error:
            form.form_errors.append(error.message)
            status = 429
        except Unauthorized as error:
            form.form_errors.append(error.message)
            status = 401
        else:
            session.clear()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("main.home"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "accounts/login.html",
        form=form,
        oidc=openid.enabled(),
        provider_name=current_app.config["OIDC_PROVIDER_NAME"],
        password_form=not (openid.enabled() and current_app.config["OIDC_ONLY"])
        or bool(request.args.get("local")),
    ), status


def _callback_url() -> str:
    return url_for("accounts.oidc_callback", _external=True)


@bp.route("/login/oidc")
def oidc_login():
    """Send the browser to the identity provider; the session remembers the sign-in under way."""
    if not openid.enabled():
        return redirect(url_for("accounts.login"))
    try:
        target, pending = openid.begin(_callback_url())
    except openid.SignInRefused as refusal:
        current_app.logger.warning("OpenID Connect sign-in not started: %s", refusal.reason)
        return _refused(refusal)
    next_url = request.args.get("next", "")
    session["oidc"] = {**pending, "next": next_url if is_safe_next(next_url) else ""}
    return redirect(target)


@bp.route("/login/oidc/callback")
def oidc_callback():
    pending = session.pop("oidc", None)
    try:
        user, id_token = sso.complete(pending, request.args.to_dict(), _callback_url())
    except sso.SignInRefused as refusal:
        return _refused(refusal)
    session.clear()
    login_user(user)
    session["oidc_id_token"] = id_token
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    target = (pending or {}).get("next")
    return redirect(target if is_safe_next(target) else url_for("main.home"))


def _refused(refusal: openid.SignInRefused):
    return render_template("accounts/sign_in_refused.html", message=refusal.message), (
        refusal.status
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    target = sso.signed_out(
        current_user, session.get("oidc_id_token"), url_for("accounts.login", _external=True)
    )
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(target or url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    password_form = PasswordChangeForm(prefix="pw")
    token_form = TokenForm(prefix="tok")
    preferences_form = PreferencesForm(
        prefix="pref", data={"locale": current_user.locale, "timezone": current_user.timezone}
    )
    new_token = None
    action = request.form.get("action")
    if action == "preferences" and preferences_form.validate_on_submit():
        try:
            services.set_language_and_timezone(
                current_user, preferences_form.locale.data, preferences_form.timezone.data
            )
        except ValidationFailed as error:
            apply_field_errors(preferences_form, error)
        else:
            refresh()  # the message below already in the language just chosen
            flash(_("Your language and time zone are saved."), "success")
            return redirect(url_for("accounts.account"))
    elif action == "password" and password_form.validate_on_submit():
        try:
            services.change_own_password(
                current_user, password_form.current_password.data, password_form.new_password.data
            )
        except ValidationFailed as error:
            apply_field_errors(password_form, error)
        else:
            flash(_("Your password is changed."), "success")
            return redirect(url_for("accounts.account"))
    elif action == "token" and token_form.validate_on_submit():
        try:
            token, new_token = services.create_token(
                current_user, current_user.id, token_form.label.data
            )
        except ValidationFailed as error:
            apply_field_errors(token_form, error)
        else:
            flash(_("Token created. Copy it now: it will not be shown again."), "success")
    tokens = services.list_tokens(current_user, current_user.id)
    return render_template(
        "accounts/account.html",
        password_form=password_form,
        token_form=token_form,
        preferences_form=preferences_form,
        tokens=tokens,
        new_token=new_token,
        confirm_form=ConfirmForm(),
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if ConfirmForm().validate_on_submit():
        token = services.revoke_token(current_user, token_id)
        flash(_("Token “%(label)s” revoked.", label=token.label), "success")
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("accounts.account"))


# --- administration ----------------------------------------------------------

admin = Blueprint("admin", __name__, url_prefix="/admin")


def _fill_group_choices(form) -> None:
    form.groups.choices = [(group.id, group.name) for group in services.list_groups()]


@admin.route("/users")
@roles_required(Role.ADMIN)
def users():
    query = services.list_users(
        current_user,
        search=request.args.get("q", ""),
        role=request.args.get("role", ""),
        group_id=arg_id("group"),
    )
    return render_template(
        "admin/users.html",
        pagination=paginate(query),
        roles=list(Role),
        groups=services.list_groups(),
        confirm_form=ConfirmForm(),
    )


@admin.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user():
    form = UserForm()
    _fill_group_choices(form)
    if request.method == "GET":
        form.roles.data = [Role.CONSUMER.value]
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data or "",
                roles=form.roles.data,
                group_ids=form.groups.data,
                support_tier=form.support_tier.data,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@admin.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = services.get_user(user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    _fill_group_choices(form)
    if request.method == "GET":
        form.roles.data = sorted(user.role_names)
        form.groups.data = sorted(user.group_ids)
        form.password.data = ""
    if form.validate_on_submit():
        try:
            services.update_user(
                current_user,
                user.id,
                email=form.email.data,
                name=form.name.data,
                roles=form.roles.data,
                group_ids=form.groups.data,
                support_tier=form.support_tier.data,
                password=form.password.data,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    tokens = services.list_tokens(current_user, user.id)
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        provider=sso.provider_grants(current_user, user),
        tokens=tokens,
        confirm_form=ConfirmForm(),
        token_form=TokenForm(prefix="tok"),
    )


@admin.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def toggle_active(user_id: int):
    if ConfirmForm().validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            user = services.set_user_active(current_user, user_id, active)
        except ValidationFailed as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "%(email)s is %(value)s.",
                    email=user.email,
                    value="active" if user.active else "deactivated",
                ),
                "success",
            )
    return redirect(url_for("admin.users"))


@admin.route("/users/<int:user_id>/tokens", methods=["POST"])
@roles_required(Role.ADMIN)
def create_user_token(user_id: int):
    form = TokenForm(prefix="tok")
    if not form.validate_on_submit():
        flash(_("Give the token a label (up to 120 characters)."), "error")
        return redirect(url_for("admin.edit_user", user_id=user_id))
    token, plaintext = services.create_token(current_user, user_id, form.label.data)
    return render_template("admin/token_created.html", token=token, plaintext=plaintext)


@admin.route("/tokens")
@roles_required(Role.ADMIN)
def tokens():
    return render_template(
        "admin/tokens.html", tokens=services.list_tokens(current_user), confirm_form=ConfirmForm()
    )


@admin.route("/groups")
@roles_required(Role.ADMIN)
def groups():
    return render_template(
        "admin/groups.html", groups=services.list_groups(), confirm_form=ConfirmForm()
    )


@admin.route("/groups/new", methods=["GET", "POST"])
@admin.route("/groups/<int:group_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_group(group_id: int | None = None):
    group = services.get_group(group_id) if group_id else None
    form = GroupForm(obj=group if request.method == "GET" else None)
    members_form = GroupMembersForm(prefix="m")
    managers_form = _managers_form(group)
    if group is not None:
        members_form.members.choices = [
            (user.id, f"{user.name} <{user.email}>")
            for user in services.member_choices(
                current_user, group, matching=request.args.get("people", "")
            )
        ]
        if request.method == "GET":
            members_form.members.data = [user.id for user in group.members]
    if form.validate_on_submit():
        try:
            saved = services.save_group(
                current_user,
                name=form.name.data,
                description=form.description.data,
                group_id=group_id,
            )
        except ValidationFailed as error:
            apply_field_errors(form, error)
        else:
            flash(_("Group %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("admin.edit_group", group_id=saved.id))
    return render_template(
        "admin/group_form.html",
        form=form,
        members_form=members_form,
        managers_form=managers_form,
        group=group,
    )


def _managers_form(group) -> GroupManagersForm:
    """The managers form of a group's page: its members to choose from, its managers ticked."""
    form = GroupManagersForm(prefix="g")
    if group is not None:
        form.managers.choices = [(user.id, f"{user.name} <{user.email}>") for user in group.members]
        if request.method == "GET":
            form.managers.data = [user.id for user in group_services.managers_of(group)]
    return form


@admin.route("/groups/<int:group_id>/managers", methods=["POST"])
@roles_required(Role.ADMIN)
def group_managers(group_id: int):
    form = GroupManagersForm(prefix="g")
    accept_any_id(form.managers)
    if not form.validate_on_submit():
        flash(_("Choose managers from the list."), "error")
    else:
        try:
            group_services.set_managers_by_ids(current_user, group_id, form.managers.data)
        except ValidationFailed as error:
            flash(" ".join([error.message, *error.fields.get("managers", [])]), "error")
        else:
            flash(_("Managers saved."), "success")
    return redirect(url_for("admin.edit_group", group_id=group_id))


@admin.route("/groups/<int:group_id>/members", methods=["POST"])
@roles_required(Role.ADMIN)
def group_members(group_id: int):
    form = GroupMembersForm(prefix="m")
    accept_any_id(form.members)
    if form.validate_on_submit():
        services.set_group_members(current_user, group_id, form.members.data)
        flash(_("Members saved."), "success")
    else:
        flash(_("Choose members from the list."), "error")
    return redirect(url_for("admin.edit_group", group_id=group_id))


@admin.route("/groups/<int:group_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete_group(group_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            services.delete_group(current_user, group_id)
        except (ValidationFailed, NotAllowed) as error:
            flash(error.message, "error")
        else:
            flash(_("Group deleted."), "success")
    return redirect(url_for("admin.groups"))
