"""The offer editor: the form of one revision with its tabs, creating and saving offers,
moving them through their lifecycle, revisions and their comparison. A refused save shows the
editor again with its errors (422, or 409 for a version conflict), so nothing of it is kept."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ... import validation as check
from ...accounts.forms import ConfirmForm
from ...errors import Conflict, InvalidTransition, ValidationFailed
from ...i18n import _, _l, format_day, gettext
from ...subscriptions.forms import preview_form_for
from ...web import apply_field_errors, arg_id, roles_required
from .. import forms, offer_form, pages
from ..models import EDITABLE_STATUSES, OfferStatus, ServiceOffer
from ..services import lifecycle, offers, revisions
from .blueprint import MANAGER, bp, form_int

FIX_HINT = _l("Nothing was saved: correct the fields shown in red (sections marked ! have some).")
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
    "max_per_person": "terms",
    "max_per_group": "terms",
    "lease_days": "terms",
    "lease_max_days": "terms",
    "lease_warn_days": "terms",
    "lease_end_chosen": "terms",
    "lease_extension_needs_approval": "terms",
    "upgrade_codes": "general",
    "downgrade_codes": "general",
    "service_levels": "levels",
    "options": "options",
    "fulfillment_plan": "steps",
    "support_plan": "support",
    "members": "bundle",
}


def _section_marks(error_keys) -> set[str]:
    """Sections with an error, so their tabs can say so."""
    return {FIELD_SECTIONS.get(key.split(".")[0], "general") for key in error_keys if key}


def refused(offer: ServiceOffer, error: ValidationFailed, **subform):
    """A refused editor section: the editor again (422, so nothing is kept), the section's form
    (the one keyword argument, e.g. price_form=form) showing its field errors."""
    (form,) = subform.values()
    apply_field_errors(form, error)
    return render_editor(offer, status=422, **subform)


def _tab_forms(offer: ServiceOffer, page: dict, subforms: dict) -> dict:
    """The forms of the editor's tabs: those given (shown again with their errors), else
    blank ones filled from the page."""
    group_choices = [(group.id, group.name) for group in page["groups"]]
    links_form = subforms.get("links_form") or forms.ArticleLinksForm(
        formdata=None, prefix="kb", data={"article_ids": [article.id for article in page["linked"]]}
    )
    links_form.article_ids.choices = [
        (article.id, article.title + ("" if article.status == "published" else " (draft)"))
        for article in page["article_choices"]
    ]
    audience_form = subforms.get("audience_form") or forms.AudienceForm(
        formdata=None,
        prefix="aud",
        data={
            "group_ids": [group.id for group in page["audience"]],
            "pilot_group_ids": [group.id for group in page["pilots"]],
            "canary": page["settings"].canary,
        },
    )
    audience_form.group_ids.choices = group_choices
    audience_form.pilot_group_ids.choices = group_choices
    version = {"version": str(offer.version)}
    tab_forms = {
        "price_form": subforms.get("price_form")
        or forms.PriceChangeForm(formdata=None, prefix="pc"),
        "links_form": links_form,
        "article_form": subforms.get("article_form")
        or forms.NewArticleForm(formdata=None, prefix="art"),
        "audience_form": audience_form,
        "retire_form": subforms.get("retire_form")
        or forms.RetireForm(formdata=None, prefix="ret", data=version),
        "confirm_form": ConfirmForm(formdata=None),
    }
    if offer.is_bundle:
        tab_forms["bundle_form"] = subforms.get("bundle_form") or forms.BundleAddForm(
            formdata=None, prefix="bm", data=version
        )
    return tab_forms


def render_editor(
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
    page = pages.editor_page(current_user, offer, article_search=request.args.get("articles", ""))
    if form is None:
        live = offer is not None and offer.status not in EDITABLE_STATUSES
        data = (
            offer_form.offer_form_data(offer, page["current_price"] if live else None)
            if offer is not None
            else None
        )
        form = forms.OfferForm(formdata=None, data=data)
    forms.fill_offer_choices(
        form,
        categories=page.pop("categories"),
        releases=page.pop("releases"),
        group_names=[group.name for group in page["groups"]],
        integration_names=page.pop("step_integrations"),
    )
    context: dict = {
        "offer": offer,
        "form": form,
        "preview": preview,
        "leftovers": leftovers or {},
        "conflict": conflict,
        "marks": _section_marks(error_keys),
        "readonly": offer is not None and offer.status not in EDITABLE_STATUSES,
        "sections": [
            (key, label)
            for key, label in pages.SECTIONS
            if key != "bundle" or (offer is not None and offer.is_bundle)
        ],
    }
    context["form_preview"] = _form_preview(form, offer)
    if offer is not None:
        context.update(page, **_tab_forms(offer, page, subforms))
    return render_template("catalog/editor.html", **context), status


def _form_preview(form: forms.OfferForm, offer: ServiceOffer | None) -> dict:
    """The order form as a consumer will see it: of the fields in the editor when they are
    valid (the "Preview the order form" button shows unsaved changes), else of the saved ones."""
    definitions = (offer.options or []) if offer is not None else []
    if form.is_submitted():
        errors: dict = {}
        posted = check.options(errors, offer_form.offer_data(form, offer)["options"])
        if not errors:
            definitions = posted
    return {"definitions": definitions, "form": preview_form_for(definitions)}


def editor_url(offer_id: int, section: str = "") -> str:
    known = section in {key for key, _ in pages.SECTIONS}
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
                created = offers.create_offer(current_user, offer_form.offer_data(form))
            except ValidationFailed as error:
                leftovers = offer_form.place_errors(form, error)
                error_keys = tuple(error.fields)
                flash(
                    gettext("%(message)s %(FIX_HINT)s", message=error.message, FIX_HINT=FIX_HINT),
                    "error",
                )
                status = 422
            else:
                flash(gettext("Offer %(code)s created as a draft.", code=created.code), "success")
                return redirect(editor_url(created.id))
        elif op == "preview":
            preview = form.description.data or ""
        elif op != "preview_form":
            offer_form.apply_list_op(form, op)
    elif request.method == "POST":
        status = 400
    return render_editor(
        None, form, status=status, preview=preview, leftovers=leftovers, error_keys=error_keys
    )


def _save_offer(offer: ServiceOffer, form: forms.OfferForm):
    """Save the editor's form: a redirect, or the editor again with why it was refused."""
    try:
        offers.update_offer(
            current_user,
            offer.id,
            offer_form.offer_data(form, offer),
            expected_version=form_int(form.version.data),
        )
    except Conflict as error:
        flash(error.message, "error")
        return render_editor(offer, form, status=409, conflict=error.message)
    except (ValidationFailed, InvalidTransition) as error:
        leftovers = offer_form.place_errors(form, error)
        flash(
            gettext("%(message)s %(FIX_HINT)s", message=error.message, FIX_HINT=FIX_HINT), "error"
        )
        return render_editor(
            offer, form, status=422, leftovers=leftovers, error_keys=tuple(error.fields)
        )
    flash(gettext("%(code)s saved.", code=offer.code), "success")
    return redirect(editor_url(offer.id, request.form.get("section", "")))


@bp.route("/manage/offers/<int:offer_id>", methods=["GET", "POST"])
@roles_required(MANAGER)
def edit_offer(offer_id: int):
    offer = revisions.get_offer(offer_id)
    if request.method == "GET":
        return render_editor(offer)
    form = forms.OfferForm()
    if not form.validate_on_submit():
        return render_editor(offer, form, status=400)
    op = request.form.get("op", "save")
    if op == "save":
        return _save_offer(offer, form)
    preview = None
    if op == "preview":
        preview = form.description.data or ""
    elif op != "preview_form":
        offer_form.apply_list_op(form, op)
    return render_editor(offer, form, preview=preview)


@bp.route("/manage/offers/<int:offer_id>/transition", methods=["POST"])
@roles_required(MANAGER)
def offer_transition(offer_id: int):
    form = forms.TransitionForm()
    if form.validate_on_submit():
        try:
            moved = lifecycle.transition_offer(
                current_user,
                offer_id,
                form.to.data or "",
                expected_version=form_int(form.version.data),
            )
        except (InvalidTransition, Conflict, ValidationFailed) as error:
            flash(error.message, "error")
        else:
            flash(
                gettext("%(code)s is now %(status)s.", code=moved.code, status=moved.status),
                "success",
            )
    return redirect(editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/retire", methods=["POST"])
@roles_required(MANAGER)
def retire_offer(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.RetireForm(prefix="ret")
    if form.validate_on_submit():
        try:
            retired = lifecycle.transition_offer(
                current_user,
                offer.id,
                OfferStatus.RETIRED,
                expected_version=form_int(form.version.data),
                end_date=form.end_date.data or None,
                replacement_code=form.replacement_code.data or None,
            )
        except ValidationFailed as error:
            return refused(offer, error, retire_form=form)
        except (Conflict, InvalidTransition) as error:
            flash(error.message, "error")
        else:
            if retired.display_status() == "retiring" and retired.valid_to is not None:
                flash(
                    _(
                        "%(code)s will be retired on %(day)s.",
                        code=retired.code,
                        day=format_day(retired.valid_to),
                    ),
                    "success",
                )
            else:
                flash(gettext("%(code)s is retired.", code=offer.code), "success")
    return redirect(editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/revisions", methods=["POST"])
@roles_required(MANAGER)
def new_revision(offer_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            revision = offers.create_revision(current_user, offer_id)
        except (Conflict, InvalidTransition) as error:
            flash(error.message, "error")
        else:
            flash(
                gettext(
                    "Revision %(revision)s of %(code)s is a new draft.",
                    revision=revision.revision,
                    code=revision.code,
                ),
                "success",
            )
            return redirect(editor_url(revision.id))
    return redirect(editor_url(offer_id))


@bp.route("/manage/offers/<int:offer_id>/diff")
@roles_required(MANAGER)
def diff(offer_id: int):
    page = pages.diff_page(offer_id, arg_id("a"), arg_id("b"))
    return render_template("catalog/diff.html", **page)
