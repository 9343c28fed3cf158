"""The editor's tabs that save on their own: prices, knowledge articles, audience, featuring and
bundle members. Each answers a redirect to its tab, or the editor again with its errors."""

from __future__ import annotations

from flask import flash, redirect, request
from flask_login import current_user

from ...accounts import services as accounts
from ...accounts.forms import ConfirmForm
from ...errors import Conflict, InvalidTransition, ValidationFailed
from ...i18n import _
from ...knowledge import services as knowledge
from ...web import accept_any_id, roles_required
from .. import forms
from ..services import audiences, bundles, offers, pricing, revisions
from .blueprint import MANAGER, bp, form_int
from .editor import editor_url, refused, render_editor


@bp.route("/manage/offers/<int:offer_id>/prices", methods=["POST"])
@roles_required(MANAGER)
def add_price(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.PriceChangeForm(prefix="pc")
    if form.validate_on_submit():
        try:
            pricing.add_price_change(
                current_user,
                offer.code,
                price=form.price.data,
                cost=form.cost.data,
                effective_from=form.effective_from.data,
                reason=form.reason.data or "",
                confirm_backdated=bool(form.confirm_backdated.data),
            )
        except ValidationFailed as error:
            return refused(offer, error, price_form=form)
        flash(
            _(
                "Price change saved: %(data)s from %(data2)s.",
                data=form.price.data,
                data2=form.effective_from.data,
            ),
            "success",
        )
    return redirect(editor_url(offer_id, "pricing"))


@bp.route("/manage/offers/<int:offer_id>/articles", methods=["POST"])
@roles_required(MANAGER)
def link_articles(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.ArticleLinksForm(prefix="kb")
    accept_any_id(form.article_ids)
    if form.validate_on_submit():
        try:
            knowledge.link_articles(current_user, offer.code, form.article_ids.data or [])
        except ValidationFailed as error:
            return refused(offer, error, links_form=form)
        flash(_("Knowledge articles saved."), "success")
    else:
        flash(_("Choose articles from the list."), "error")
    return redirect(editor_url(offer_id, "knowledge"))


@bp.route("/manage/offers/<int:offer_id>/articles/new", methods=["POST"])
@roles_required(MANAGER)
def new_article(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.NewArticleForm(prefix="art")
    if form.validate_on_submit():
        try:
            article = knowledge.write_article_for_offer(
                current_user, offer.code, title=form.title.data or "", body=form.body.data or ""
            )
        except ValidationFailed as error:
            return refused(offer, error, article_form=form)
        flash(_("Article “%(title)s” written and linked.", title=article.title), "success")
    return redirect(editor_url(offer_id, "knowledge"))


@bp.route("/manage/offers/<int:offer_id>/audience", methods=["POST"])
@roles_required(MANAGER)
def audience(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.AudienceForm(prefix="aud")
    choices = [(group.id, group.name) for group in accounts.list_groups()]
    form.group_ids.choices = form.pilot_group_ids.choices = choices
    if request.form.get("op") == "widen":
        if ConfirmForm(prefix="aud").validate_on_submit():
            audiences.widen_audience(current_user, offer.code)
            flash(_("The offer is now visible to its whole audience."), "success")
        return redirect(editor_url(offer_id, "audience"))
    if not form.validate_on_submit():
        return render_editor(offer, audience_form=form, status=400)
    try:
        audiences.set_audience(
            current_user,
            offer.code,
            group_ids=form.group_ids.data or [],
            pilot_group_ids=form.pilot_group_ids.data or [],
            canary=bool(form.canary.data),
        )
    except ValidationFailed as error:
        return refused(offer, error, audience_form=form)
    flash(_("Audience saved."), "success")
    return redirect(editor_url(offer_id, "audience"))


@bp.route("/manage/offers/<int:offer_id>/featured", methods=["POST"])
@roles_required(MANAGER)
def featured(offer_id: int):
    offer = revisions.get_offer(offer_id)
    if ConfirmForm().validate_on_submit():
        wanted = request.form.get("featured") == "1"
        offers.set_featured(current_user, offer.code, wanted)
        flash(
            _(
                "%(code)s is %(value)s on the home page.",
                code=offer.code,
                value="featured" if wanted else "no longer featured",
            ),
            "success",
        )
    return redirect(editor_url(offer_id, "audience"))


@bp.route("/manage/offers/<int:offer_id>/members", methods=["POST"])
@roles_required(MANAGER)
def add_member(offer_id: int):
    offer = revisions.get_offer(offer_id)
    form = forms.BundleAddForm(prefix="bm")
    if not form.validate_on_submit():
        return render_editor(offer, bundle_form=form, status=422)
    codes = [member.member_code for member in offer.members]
    added = form.member_code.data.strip().upper()
    try:
        bundles.set_bundle_members(
            current_user, offer.id, [*codes, added], expected_version=form_int(form.version.data)
        )
    except (ValidationFailed, InvalidTransition) as error:
        for messages in error.fields.values():
            form.member_code.errors = list(form.member_code.errors) + list(messages)
        flash(error.message, "error")
        return render_editor(offer, bundle_form=form, status=422)
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("%(added)s added to the bundle.", added=added), "success")
    return redirect(editor_url(offer_id, "bundle"))


@bp.route("/manage/offers/<int:offer_id>/members/move", methods=["POST"])
@roles_required(MANAGER)
def move_member(offer_id: int):
    form = forms.BundleMoveForm()
    if form.validate_on_submit():
        try:
            bundles.move_bundle_member(
                current_user,
                offer_id,
                form.code.data,
                form.direction.data,
                expected_version=form_int(form.version.data),
            )
        except (ValidationFailed, InvalidTransition, Conflict) as error:
            flash(error.message, "error")
        else:
            flash(_("Bundle members saved."), "success")
    return redirect(editor_url(offer_id, "bundle"))
