"""HTML pages of the Release stream (managers) and the catalog (consumers).

Each route parses its form, calls one service, and renders or redirects. Service errors
come back next to the fields that caused them (`forms.place_errors`)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import clock
from ..accounts import services as accounts
from ..accounts.forms import ConfirmForm
from ..accounts.models import Role
from ..errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from ..extensions import db
from ..inputs import whole_number
from ..knowledge import services as knowledge
from ..web import accept_any_id, apply_field_errors, arg_id, csv_response, paginate, roles_required
from . import forms, services
from .models import EDITABLE_STATUSES, BillingPeriod, OfferKind, OfferStatus, ServiceOffer

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

MANAGER = Role.CATALOG_MANAGER
BILLING_LABELS = {period.value: period.label for period in BillingPeriod}
KIND_LABELS = {kind.value: kind.label for kind in OfferKind}
STATUS_CLASSES = {
    "published": "ok",
    "ready": "ok",
    "scheduled": "warn",
    "retiring": "warn",
    "planned": "",
    "draft": "muted",
    "retired": "muted",
    "expired": "muted",
    "superseded": "muted",
}
# (from, to) → (button label, whether it moves the offer forward)
TRANSITION_LABELS = {
    ("draft", "planned"): ("Approve plan (→ planned)", True),
    ("planned", "draft"): ("Back to draft", False),
    ("planned", "ready"): ("Mark ready", True),
    ("ready", "planned"): ("Back to planned", False),
    ("ready", "published"): ("Publish", True),
}
# The workspace lists current revisions, so "superseded" is not one of its filters.
WORKSPACE_STATUSES = [
    status.value for status in OfferStatus if status != OfferStatus.SUPERSEDED
] + ["scheduled"]
SECTIONS = (
    ("general", "General"),
    ("pricing", "Pricing"),
    ("terms", "Terms"),
    ("levels", "Service levels"),
    ("options", "Order form"),
    ("steps", "Fulfillment"),
    ("support", "Support plan"),
    ("knowledge", "Knowledge"),
    ("audience", "Audience"),
    ("bundle", "Bundle"),
)
FIX_HINT = "Nothing was saved: correct the fields shown in red (sections marked ! have some)."
# Which editor section a service field error belongs to (for the tab's error mark).
FIELD_SECTIONS = {
    "code": "general",
    "name": "general",
    "summary": "general",
    "description": "general",
    "kind": "general",
    "category_id": "general",
    "release_id": "general",
    "product_id": "general",
    "valid_from": "general",
    "valid_to": "general",
    "planned_release_date": "general",
    "cost": "pricing",
    "price": "pricing",
    "currency": "pricing",
    "billing_period": "pricing",
    "terms": "terms",
    "service_levels": "levels",
    "options": "options",
    "fulfillment_plan": "steps",
    "support_plan": "support",
    "members": "bundle",
}


# --- template helpers ------------------------------------------------------------------------


@bp.app_template_global()
def offer_status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "")


@bp.app_template_filter("plain")
def plain_value(value) -> str:
    """A stored value as readable text (diffs, audit history)."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return str(value)


bp.add_app_template_global(BILLING_LABELS, "billing_labels")
bp.add_app_template_global(KIND_LABELS, "kind_labels")


@bp.app_template_global("catalog_home")
def _catalog_home(user) -> dict:
    """What the home page shows of the catalog: new and featured offers for consumers, the
    workspace counts for catalog managers. Called from templates/main/home.html."""
    result: dict = {}
    if not user.is_authenticated:
        return result
    if user.has_role(Role.CONSUMER):
        featured, newest = services.featured_and_new(user)
        result.update(featured=featured, newest=newest, prices=_prices_of([*featured, *newest]))
    if services.can_manage_catalog(user):
        result["counts"] = services.status_counts(user)
    return result


def _prices_of(offers) -> dict[str, Decimal | None]:
    """The price in force now for each offer's code, in one query."""
    changes = services.effective_prices(offer.code for offer in offers)
    return {
        offer.code: changes[offer.code].price if offer.code in changes else offer.price
        for offer in offers
    }


def _int(value, default: int = 0) -> int:
    number = whole_number(value, minimum=0)
    return default if number is None else number


# --- consumer catalog ------------------------------------------------------------------------


def _visible_page(query: sa.Select):
    pagination = paginate(query.order_by(ServiceOffer.name, ServiceOffer.id))
    return pagination, _prices_of(pagination.items)


@bp.route("/")
@login_required
def browse():
    featured, newest = services.featured_and_new(current_user)
    pagination, prices = _visible_page(services.visible_offers_query(current_user))
    prices.update(_prices_of([*featured, *newest]))
    return render_template(
        "catalog/browse.html",
        tree=services.category_tree(),
        featured=featured,
        newest=newest,
        pagination=pagination,
        prices=prices,
    )


@bp.route("/categories/<slug>")
@login_required
def category(slug: str):
    tree = services.category_tree()
    found = next((c for c, _ in tree if c.slug == slug), None)
    if found is None:
        raise NotFound("No such category.")
    # The category and everything below it.
    ids, inside, depth_of = [], False, 0
    for candidate, depth in tree:
        if candidate.id == found.id:
            inside, depth_of = True, depth
        elif inside and depth <= depth_of:
            break
        if inside:
            ids.append(candidate.id)
    children = [(c, d) for c, d in tree if c.parent_id == found.id]
    trail, parent_ids = [], {c.id: c for c, _ in tree}
    step = found.parent_id
    while step is not None and step in parent_ids:
        trail.insert(0, parent_ids[step])
        step = parent_ids[step].parent_id
    pagination, prices = _visible_page(
        services.visible_offers_query(current_user).where(ServiceOffer.category_id.in_(ids))
    )
    return render_template(
        "catalog/category.html",
        category=found,
        children=children,
        trail=trail,
        pagination=pagination,
        prices=prices,
    )


@bp.route("/offers/<int:offer_id>")
@login_required
def offer(offer_id: int):
    try:
        shown = services.offer_for_viewer(current_user, offer_id)
    except NotFound:
        newer = _newer_revision(offer_id)
        if newer is None:
            raise
        return redirect(url_for(".offer", offer_id=newer.id))
    price, _cost = services.current_price(shown)
    upcoming = [
        change
        for change in services.price_history(shown.code)
        if change.effective_from > clock.now()
    ]
    members = []
    if shown.is_bundle:
        for member, member_offer in services.member_offers(shown):
            visible = member_offer is not None and services.is_visible(current_user, member_offer)
            members.append((member, member_offer, visible))
    display = shown.display_status()
    return render_template(
        "catalog/offer.html",
        offer=shown,
        display=display,
        price=price,
        upcoming=upcoming[-1] if upcoming else None,
        articles=knowledge.articles_of(shown.code, published_only=True),
        members=members,
        member_prices=_prices_of([o for _, o, _ in members if o is not None]),
        replacement=services.replacement_for(current_user, shown)
        if display in ("retired", "retiring", "expired")
        else None,
        manager=services.can_manage_catalog(current_user),
    )


def _newer_revision(offer_id: int) -> ServiceOffer | None:
    """An old link to a superseded revision leads to the live one, when the viewer may see it."""
    try:
        old = services.get_offer(offer_id)
        if old.status != OfferStatus.SUPERSEDED.value:
            return None
        live = services.live_revision(old.code)
        return services.offer_for_viewer(current_user, live.id) if live else None
    except NotFound:
        return None


# --- workspace -------------------------------------------------------------------------------


def _workspace_query():
    status = request.args.get("status", "")
    return services.workspace_query(
        current_user,
        status=status if status in WORKSPACE_STATUSES else "",
        category_id=arg_id("category"),
        group_id=-1 if request.args.get("group") == "-1" else arg_id("group"),  # -1: everyone
        search=request.args.get("q", "")[:200],
    )


@bp.route("/manage/")
@roles_required(MANAGER)
def workspace():
    pagination = paginate(_workspace_query())
    offers = pagination.items
    return render_template(
        "catalog/workspace.html",
        pagination=pagination,
        counts=services.status_counts(current_user),
        statuses=WORKSPACE_STATUSES,
        audiences=services.audiences_for(offer.code for offer in offers),
        prices=_prices_of(offers),
        tree=services.category_tree(),
        groups=accounts.list_groups(),
    )


@bp.route("/manage/export.csv")
@roles_required(MANAGER)
def workspace_export():
    offers = list(db.session.scalars(_workspace_query().limit(50_000)))
    audiences = services.audiences_for(offer.code for offer in offers)
    prices = _prices_of(offers)
    rows = (
        (
            offer.code,
            offer.revision,
            offer.name,
            offer.kind,
            offer.status,
            offer.display_status(),
            offer.category.name if offer.category else "",
            "; ".join(audiences.get(offer.code) or []) or "everyone",
            prices.get(offer.code),
            offer.cost,
            offer.currency,
            offer.billing_period,
            offer.valid_from.isoformat() if offer.valid_from else "",
            offer.valid_to.isoformat() if offer.valid_to else "",
            offer.updated_at.isoformat() if offer.updated_at else "",
        )
        for offer in offers
    )
    header = [
        "code",
        "revision",
        "name",
        "kind",
        "status",
        "display_status",
        "category",
        "audience",
        "price",
        "cost",
        "currency",
        "billing_period",
        "valid_from",
        "valid_to",
        "updated_at",
    ]
    return csv_response("offers.csv", header, rows)


# --- the offer editor ------------------------------------------------------------------------


def _section_marks(error_keys) -> set[str]:
    """Sections with an error, so their tabs can say so."""
    return {FIELD_SECTIONS.get(key.split(".")[0], "general") for key in error_keys if key}


def _refused(offer: ServiceOffer, error: ValidationFailed, **subform):
    """A refused editor section: nothing saved; the editor again, the section's form (the one
    keyword argument, e.g. price_form=form) showing its field errors."""
    db.session.rollback()
    (form,) = subform.values()
    apply_field_errors(form, error)
    return _render_editor(offer, status=422, **subform)


def _render_editor(
    offer: ServiceOffer | None,
    form: forms.OfferForm | None = None,
    *,
    status: int = 200,
    preview: str | None = None,
    leftovers: dict | None = None,
    error_keys=(),
    conflict: str | None = None,
    **subforms,
):
    groups = accounts.list_groups()
    if form is None:
        form = (
            forms.OfferForm(formdata=None, data=forms.offer_form_data(offer))
            if offer is not None
            else forms.OfferForm(formdata=None)
        )
    forms.fill_offer_choices(
        form,
        categories=services.category_tree(),
        releases=services.list_releases(),
        group_names=[group.name for group in groups],
    )
    leftovers = leftovers or {}
    context: dict = {
        "offer": offer,
        "form": form,
        "preview": preview,
        "leftovers": leftovers,
        "conflict": conflict,
        "marks": _section_marks(error_keys),
        "readonly": offer is not None and offer.status not in EDITABLE_STATUSES,
        "sections": [
            (key, label)
            for key, label in SECTIONS
            if key != "bundle" or (offer is not None and offer.is_bundle)
        ],
    }
    if offer is None:
        return render_template("catalog/editor.html", **context), status

    code = offer.code
    linked = knowledge.articles_of(code)
    audience, pilots = services.audience_of(code)
    settings = services.settings_for(code)
    group_choices = [(group.id, group.name) for group in groups]

    links_form = subforms.get("links_form") or forms.ArticleLinksForm(
        formdata=None, prefix="kb", data={"article_ids": [article.id for article in linked]}
    )
    links_form.article_ids.choices = [
        (article.id, article.title + ("" if article.status == "published" else " (draft)"))
        for article in knowledge.article_choices(offer, matching=request.args.get("articles", ""))
    ]
    audience_form = subforms.get("audience_form") or forms.AudienceForm(
        formdata=None,
        prefix="aud",
        data={
            "group_ids": [group.id for group in audience],
            "pilot_group_ids": [group.id for group in pilots],
            "canary": settings.canary,
        },
    )
    audience_form.group_ids.choices = group_choices
    audience_form.pilot_group_ids.choices = group_choices
    retire_form = subforms.get("retire_form") or forms.RetireForm(
        formdata=None, prefix="ret", data={"version": str(offer.version)}
    )
    context.update(
        checklist=services.readiness(offer),
        transitions=[
            (to, *TRANSITION_LABELS.get((offer.status, to), (to.capitalize(), False)))
            for to in services.allowed_transitions(offer)
            if to != OfferStatus.RETIRED
        ],
        display=offer.display_status(),
        revisions=services.revisions_of(code),
        editing=services.draft_revision(code) if offer.status != "draft" else None,
        history=services.offer_history(offer),
        current_price=services.current_price(offer),
        price_history=services.price_history(code),
        price_form=subforms.get("price_form") or forms.PriceChangeForm(formdata=None, prefix="pc"),
        links_form=links_form,
        linked=linked,
        article_form=subforms.get("article_form")
        or forms.NewArticleForm(formdata=None, prefix="art"),
        audience=audience,
        pilots=pilots,
        settings=settings,
        audience_form=audience_form,
        retire_form=retire_form,
        replacement_suggestions=services.offer_suggestions(current_user, offer),
        confirm_form=ConfirmForm(formdata=None),
    )
    if offer.is_bundle:
        members = services.member_offers(offer)
        bundle_form = subforms.get("bundle_form") or forms.BundleAddForm(
            formdata=None, prefix="bm", data={"version": str(offer.version)}
        )
        context.update(
            members=members,
            member_prices=_prices_of([o for _, o in members if o is not None]),
            bundle_problems=services.bundle_problems(offer),
            member_total=services.bundle_member_total(offer),
            bundle_form=bundle_form,
            member_suggestions=services.offer_suggestions(current_user, offer, for_bundle=True),
        )
    if offer.release is not None and offer.release.status != "deployed":
        context["release_warning"] = (
            f"Tied to release {offer.release.label}, which is {offer.release.status}: "
            "the offer cannot become ready or orderable before that release is deployed."
        )
    return render_template("catalog/editor.html", **context), status


def _editor_url(offer_id: int, section: str = "") -> str:
    known = section in {key for key, _ in SECTIONS}
    return url_for(".edit_offer", offer_id=offer_id) + (f"#section-{section}" if known else "")


@bp.route("/manage/offers/new", methods=["GET", "POST"])
@roles_required(MANAGER)
def new_offer():
    form = forms.OfferForm()
    status, preview, leftovers, error_keys = 200, None, {}, ()
    if form.validate_on_submit():
        op = request.form.get("op", "save")
        if op == "save":
            try:
                created = services.create_offer(current_user, forms.offer_data(form))
            except ValidationFailed as error:
                db.session.rollback()
                leftovers = forms.place_errors(form, error)
                error_keys = tuple(error.fields)
                flash(f"{error.message} {FIX_HINT}", "error")
                status = 422
            else:
                flash(f"Offer {created.code} created as a draft.", "success")
                return redirect(_editor_url(created.id))
        elif op == "preview":
            preview = form.description.data or ""
        else:
            forms.apply_list_op(form, op)
    elif request.method == "POST":
        status = 400
    return _render_editor(
        None, form, status=status, preview=preview, leftovers=leftovers, error_keys=error_keys
    )


@bp.route("/manage/offers/<int:offer_id>", methods=["GET", "POST"])
@roles_required(MANAGER)
def edit_offer(offer_id: int):
    offer = services.get_offer(offer_id)
    if request.method == "GET":
        return _render_editor(offer)
    form = forms.OfferForm()
    status, preview, leftovers, conflict, error_keys = 200, None, {}, None, ()
    if form.validate_on_submit():
        op = request.form.get("op", "save")
        if op == "save":
            try:
                services.update_offer(
                    current_user,
                    offer.id,
                    forms.offer_data(form, offer),
                    expected_version=_int(form.version.data),
                )
            except Conflict as error:
                db.session.rollback()
                conflict, status = error.message, 409
                flash(error.message, "error")
            except (ValidationFailed, InvalidTransition) as error:
                db.session.rollback()
                leftovers = forms.place_errors(form, error)
                error_keys = tuple(error.fields)
                flash(f"{error.message} {FIX_HINT}", "error")
                status = 422
            else:
                flash(f"{offer.code} saved.", "success")
                return redirect(_editor_url(offer.id, request.form.get("section", "")))
        elif op == "preview":
            preview = form.description.data or ""
        else:
            forms.apply_list_op(form, op)
    else:
        status = 400
    return _render_editor(
        offer,
        form,
        status=status,
        preview=preview,
        leftovers=leftovers,
        error_keys=error_keys,
        conflict=conflict,
    )


@bp.route("/manage/offers/<int:offer_id>/transition", methods=["POST"])
@roles_required(MANAGER)
def offer_transition(offer_id: int):
    form = forms.TransitionForm()
    if form.validate_on_submit():
        try:
            moved = services.transition_offer(
                current_user, offer_id, form.to.data or "", expected_version=_int(form.version.data)
            )
        except (InvalidTransition, Conflict, ValidationFailed) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"{moved.code} is now {moved.status}.", "success")
    return redirect(_editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/retire", methods=["POST"])
@roles_required(MANAGER)
def retire_offer(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.RetireForm(prefix="ret")
    if form.validate_on_submit():
        try:
            services.transition_offer(
                current_user,
                offer.id,
                OfferStatus.RETIRED,
                expected_version=_int(form.version.data),
                end_date=form.end_date.data or None,
                replacement_code=form.replacement_code.data or None,
            )
        except ValidationFailed as error:
            return _refused(offer, error, retire_form=form)
        except (Conflict, InvalidTransition) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"{offer.code} is retired.", "success")
    return redirect(_editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/revisions", methods=["POST"])
@roles_required(MANAGER)
def new_revision(offer_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            revision = services.create_revision(current_user, offer_id)
        except (Conflict, InvalidTransition) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"Revision {revision.revision} of {revision.code} is a new draft.", "success")
            return redirect(_editor_url(revision.id))
    return redirect(_editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/diff")
@roles_required(MANAGER)
def diff(offer_id: int):
    offer = services.get_offer(offer_id)
    revisions = services.revisions_of(offer.code)
    by_id = {revision.id: revision for revision in revisions}
    default_first = revisions[-2].id if len(revisions) > 1 else offer.id
    first = by_id.get(arg_id("a") or default_first)
    second = by_id.get(arg_id("b") or offer.id)
    if first is None or second is None:
        raise NotFound("Compare two revisions of this offer.")
    return render_template(
        "catalog/diff.html",
        offer=offer,
        revisions=revisions,
        first=first,
        second=second,
        rows=services.diff_revisions(first, second),
    )


@bp.route("/manage/offers/<int:offer_id>/prices", methods=["POST"])
@roles_required(MANAGER)
def add_price(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.PriceChangeForm(prefix="pc")
    if form.validate_on_submit():
        try:
            services.add_price_change(
                current_user,
                offer.code,
                price=form.price.data,
                cost=form.cost.data,
                effective_from=form.effective_from.data,
                reason=form.reason.data or "",
            )
        except ValidationFailed as error:
            return _refused(offer, error, price_form=form)
        flash(f"Price change saved: {form.price.data} from {form.effective_from.data}.", "success")
    return redirect(_editor_url(offer_id, "pricing"))


@bp.route("/manage/offers/<int:offer_id>/articles", methods=["POST"])
@roles_required(MANAGER)
def link_articles(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.ArticleLinksForm(prefix="kb")
    accept_any_id(form.article_ids)
    if form.validate_on_submit():
        try:
            knowledge.link_articles(current_user, offer.code, form.article_ids.data or [])
        except ValidationFailed as error:
            return _refused(offer, error, links_form=form)
        flash("Knowledge articles saved.", "success")
    else:
        flash("Choose articles from the list.", "error")
    return redirect(_editor_url(offer_id, "knowledge"))


@bp.route("/manage/offers/<int:offer_id>/articles/new", methods=["POST"])
@roles_required(MANAGER)
def new_article(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.NewArticleForm(prefix="art")
    if form.validate_on_submit():
        try:
            article = knowledge.write_article_for_offer(
                current_user, offer.code, title=form.title.data or "", body=form.body.data or ""
            )
        except ValidationFailed as error:
            return _refused(offer, error, article_form=form)
        flash(f"Article “{article.title}” written and linked.", "success")
    return redirect(_editor_url(offer_id, "knowledge"))


@bp.route("/manage/offers/<int:offer_id>/audience", methods=["POST"])
@roles_required(MANAGER)
def audience(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.AudienceForm(prefix="aud")
    choices = [(group.id, group.name) for group in accounts.list_groups()]
    form.group_ids.choices = form.pilot_group_ids.choices = choices
    if request.form.get("op") == "widen":
        if ConfirmForm(prefix="aud").validate_on_submit():
            services.widen_audience(current_user, offer.code)
            flash("The offer is now visible to its whole audience.", "success")
        return redirect(_editor_url(offer_id, "audience"))
    if not form.validate_on_submit():
        return _render_editor(offer, audience_form=form, status=400)
    try:
        services.set_audience(
            current_user,
            offer.code,
            group_ids=form.group_ids.data or [],
            pilot_group_ids=form.pilot_group_ids.data or [],
            canary=bool(form.canary.data),
        )
    except ValidationFailed as error:
        return _refused(offer, error, audience_form=form)
    flash("Audience saved.", "success")
    return redirect(_editor_url(offer_id, "audience"))


@bp.route("/manage/offers/<int:offer_id>/featured", methods=["POST"])
@roles_required(MANAGER)
def featured(offer_id: int):
    offer = services.get_offer(offer_id)
    if ConfirmForm().validate_on_submit():
        wanted = request.form.get("featured") == "1"
        services.set_featured(current_user, offer.code, wanted)
        flash(
            f"{offer.code} is {'featured' if wanted else 'no longer featured'} on the home page.",
            "success",
        )
    return redirect(_editor_url(offer_id, "audience"))


@bp.route("/manage/offers/<int:offer_id>/members", methods=["POST"])
@roles_required(MANAGER)
def add_member(offer_id: int):
    offer = services.get_offer(offer_id)
    form = forms.BundleAddForm(prefix="bm")
    if not form.validate_on_submit():
        return _render_editor(offer, bundle_form=form, status=422)
    codes = [member.member_code for member in offer.members]
    added = form.member_code.data.strip().upper()
    try:
        services.set_bundle_members(
            current_user, offer.id, [*codes, added], expected_version=_int(form.version.data)
        )
    except (ValidationFailed, InvalidTransition) as error:
        db.session.rollback()
        for messages in error.fields.values():
            form.member_code.errors = list(form.member_code.errors) + list(messages)
        flash(error.message, "error")
        return _render_editor(offer, bundle_form=form, status=422)
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(f"{added} added to the bundle.", "success")
    return redirect(_editor_url(offer_id, "bundle"))


@bp.route("/manage/offers/<int:offer_id>/members/move", methods=["POST"])
@roles_required(MANAGER)
def move_member(offer_id: int):
    form = forms.BundleMoveForm()
    if form.validate_on_submit():
        try:
            services.move_bundle_member(
                current_user,
                offer_id,
                form.code.data,
                form.direction.data,
                expected_version=_int(form.version.data),
            )
        except (ValidationFailed, InvalidTransition, Conflict) as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash("Bundle members saved.", "success")
    return redirect(_editor_url(offer_id, "bundle"))


# --- categories ------------------------------------------------------------------------------


def _parent_choices(tree, exclude_id: int | None = None) -> list[tuple[str, str]]:
    choices, skip_depth = [("", "— top level —")], None
    for category, depth in tree:
        if skip_depth is not None and depth > skip_depth:
            continue
        skip_depth = None
        if category.id == exclude_id:
            skip_depth = depth  # neither itself nor its subcategories
            continue
        choices.append((str(category.id), "— " * depth + category.name))
    return choices


def _parent_id(value: str | None) -> int | None:
    if not value:
        return None
    return _int(value, -1)  # an unknown id is refused by the service


@bp.route("/manage/categories", methods=["GET", "POST"])
@roles_required(MANAGER)
def categories():
    tree = services.category_tree()
    form = forms.CategoryForm()
    form.parent_id.choices = _parent_choices(tree)
    status = 200
    if form.validate_on_submit():
        try:
            created = services.save_category(
                current_user,
                name=form.name.data or "",
                parent_id=_parent_id(form.parent_id.data),
                description=form.description.data or "",
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_field_errors(form, error)
            status = 422
        else:
            flash(f"Category “{created.name}” created.", "success")
            return redirect(url_for(".categories"))
    archived = [c for c, _ in services.category_tree(include_archived=True) if c.archived_at]
    return render_template(
        "catalog/categories.html",
        tree=tree,
        archived=archived,
        form=form,
        confirm_form=ConfirmForm(formdata=None),
    ), status


@bp.route("/manage/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required(MANAGER)
def edit_category(category_id: int):
    category = services.get_category(category_id)
    tree = services.category_tree()
    if request.method == "GET":
        form = forms.CategoryForm(
            formdata=None,
            data={
                "name": category.name,
                "parent_id": str(category.parent_id or ""),
                "description": category.description,
            },
        )
    else:
        form = forms.CategoryForm()
    form.parent_id.choices = _parent_choices(tree, exclude_id=category.id)
    status = 200
    if form.validate_on_submit():
        try:
            services.save_category(
                current_user,
                name=form.name.data or "",
                parent_id=_parent_id(form.parent_id.data),
                description=form.description.data or "",
                category_id=category.id,
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_field_errors(form, error)
            status = 422
        else:
            flash(f"Category “{form.name.data.strip()}” saved.", "success")
            return redirect(url_for(".categories"))
    return render_template("catalog/category_form.html", category=category, form=form), status


@bp.route("/manage/categories/<int:category_id>/move", methods=["POST"])
@roles_required(MANAGER)
def move_category(category_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            services.move_category(current_user, category_id, request.form.get("direction", ""))
        except ValidationFailed as error:
            db.session.rollback()
            flash(error.message, "error")
    return redirect(url_for(".categories"))


@bp.route("/manage/categories/<int:category_id>/archive", methods=["POST"])
@roles_required(MANAGER)
def archive_category(category_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            archived = services.archive_category(current_user, category_id)
        except ValidationFailed as error:
            db.session.rollback()
            flash(" ".join([error.message, *sum(error.fields.values(), [])]), "error")
        else:
            flash(f"Category “{archived.name}” archived.", "success")
    return redirect(url_for(".categories"))


# --- digital products and releases -----------------------------------------------------------


def _release_form(product_id: int, formdata=None) -> forms.ReleaseForm:
    if formdata is None:
        return forms.ReleaseForm(formdata=None, prefix=f"rel{product_id}")
    return forms.ReleaseForm(prefix=f"rel{product_id}")


def _render_products(form=None, release_forms=None, status: int = 200):
    products = services.list_products()
    release_forms = release_forms or {}
    for product in products:
        release_forms.setdefault(product.id, _release_form(product.id))
    return render_template(
        "catalog/products.html",
        products=products,
        form=form or forms.ProductForm(formdata=None),
        release_forms=release_forms,
        can_edit=current_user.has_role(Role.PRODUCT_MANAGER),
        next_statuses={
            status: sorted(targets) for status, targets in services.RELEASE_TRANSITIONS.items()
        },
    ), status


@bp.route("/products", methods=["GET", "POST"])
@roles_required(Role.PRODUCT_MANAGER, MANAGER)
def products():
    if request.method == "GET":
        return _render_products()
    form = forms.ProductForm()
    if form.validate_on_submit():
        try:
            product = services.save_product(
                current_user, name=form.name.data or "", description=form.description.data or ""
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_field_errors(form, error)
        else:
            flash(f"Product “{product.name}” created.", "success")
            return redirect(url_for(".products"))
    return _render_products(form=form, status=422)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(Role.PRODUCT_MANAGER, MANAGER)
def edit_product(product_id: int):
    product = services.get_product(product_id)
    if request.method == "GET":
        form = forms.ProductForm(
            formdata=None, data={"name": product.name, "description": product.description}
        )
    else:
        form = forms.ProductForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.save_product(
                current_user,
                name=form.name.data or "",
                description=form.description.data or "",
                product_id=product.id,
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_field_errors(form, error)
            status = 422
        else:
            flash(f"Product “{form.name.data.strip()}” saved.", "success")
            return redirect(url_for(".products"))
    return render_template(
        "catalog/product_form.html",
        product=product,
        form=form,
        can_edit=current_user.has_role(Role.PRODUCT_MANAGER),
    ), status


@bp.route("/products/<int:product_id>/releases", methods=["POST"])
@roles_required(Role.PRODUCT_MANAGER, MANAGER)
def new_release(product_id: int):
    product = services.get_product(product_id)
    form = _release_form(product.id, formdata=request.form)
    if form.validate_on_submit():
        try:
            release = services.create_release(
                current_user,
                product.id,
                version=form.version.data or "",
                planned_date=form.planned_date.data or None,
                notes=form.notes.data or "",
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_field_errors(form, error)
        else:
            flash(f"Release {product.name} {release.version} created.", "success")
            return redirect(url_for(".products") + f"#product-{product.id}")
    return _render_products(release_forms={product.id: form}, status=422)


@bp.route("/releases/<int:release_id>/transition", methods=["POST"])
@roles_required(Role.PRODUCT_MANAGER, MANAGER)
def release_transition(release_id: int):
    form = forms.ReleaseTransitionForm()
    if form.validate_on_submit():
        try:
            release = services.transition_release(current_user, release_id, form.to.data or "")
        except InvalidTransition as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"Release {release.label} is now {release.status}.", "success")
    return redirect(url_for(".products"))
