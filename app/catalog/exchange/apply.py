"""Apply: the writes of an import, in order, through the catalog services so every rule holds.

Categories (parents before children), digital products and their releases, knowledge
articles, then offers by code (single offers before bundles, which hold published single
offers): a new code is created, a published offer gets a new revision when its fields or
members change, a draft is edited in place; each is walked through the lifecycle to its
declared status. Retirements come last, an offer that replaces others after them. A problem
is recorded under the item's path and the walk goes on, so one run reports every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ... import clock
from ... import validation as check
from ...accounts.models import User
from ...errors import DomainError, NotAllowed, ValidationFailed
from ...extensions import db
from ...i18n import _
from ...knowledge import services as knowledge
from .. import services as catalog
from ..models import (
    Category,
    DigitalProduct,
    OfferKind,
    OfferStatus,
    ReleaseStatus,
    ServiceOffer,
)
from . import references as refs
from .choice_lists import apply_choice_lists
from .outcome import Outcome, watching
from .parsing import add_problem
from .per_code import apply_code_settings
from .policies import apply_approval_policies
from .report import KINDS, Counts

LIFECYCLE = (
    OfferStatus.DRAFT.value,
    OfferStatus.PLANNED.value,
    OfferStatus.READY.value,
    OfferStatus.PUBLISHED.value,
)
RELEASE_ORDER = (
    ReleaseStatus.PLANNED.value,
    ReleaseStatus.ACCEPTED.value,
    ReleaseStatus.DEPLOYED.value,
    ReleaseStatus.RETIRED.value,
)


@dataclass
class ImportRun:
    """One import: the checked document, what it has resolved so far, and its problems."""

    actor: User | None
    doc: dict
    lines: dict[str, int] | None
    progress: Callable[[str], None] | None = None
    now: datetime = field(default_factory=clock.now)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # created / updated / unchanged per kind of item other than offers.
    tally: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    slugs: dict[str, int] = field(default_factory=dict)
    article_ids: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    # (create | update, "product …" / "release …"): what the report lists besides offers.
    notes: list[tuple[str, str]] = field(default_factory=list)
    # per offer code: the revision written, its transitions and the notifications sent
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def fail(self, path: str, error: DomainError | str) -> None:
        add_problem(self.errors, path, error)

    def outcome(self, code: str) -> Outcome:
        return self.outcomes.setdefault(code, Outcome())

    def moment(self, value):
        return refs.moment(value, self.now)

    def offer_fields(self, item: dict, existing: ServiceOffer | None) -> dict:
        return refs.offer_fields(item, existing, slugs=self.slugs, now=self.now)


def apply_document(run: ImportRun, codes: list[str]) -> None:
    """Every write of the document, in order; `codes` are the offers' codes, normalised."""
    offers = run.doc["offers"]
    _categories(run, run.doc["categories"], None, "categories")
    _products(run)
    _articles(run)
    apply_choice_lists(run)  # before the offers, whose order forms may take them
    seen: dict[str, int] = {}
    for index, code in enumerate(codes):
        if code in seen:
            run.fail(
                f"offers[{index}].code",
                f"{code} is declared twice (offers[{seen[code]}] and offers[{index}]).",
            )
        seen.setdefault(code, index)
    order = sorted(
        range(len(offers)), key=lambda i: _is_bundle(offers[i])
    )  # single offers first: bundles hold published single offers
    for index in order:
        if codes[index] in seen and seen[codes[index]] == index:
            _offer(run, index, offers[index], codes[index])
        if run.progress is not None:
            run.progress(codes[index])
    for index in _retirement_order(run, offers, codes):
        _retire(run, index, offers[index], codes[index])
    apply_approval_policies(run)
    db.session.flush()


# --- categories, products, articles ------------------------------------------------------


def _categories(run: ImportRun, items: list[dict], parent_id: int | None, path: str) -> None:
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if item["slug"] and item["slug"] in run.slugs:
            run.fail(
                here,
                ValidationFailed(
                    _("The slug “%(item)s” is declared twice in the file.", item=item["slug"]),
                    fields={"slug": [_("Give each category its own slug.")]},
                ),
            )
            continue
        try:
            category = _category(run, item, parent_id)
        except DomainError as error:
            run.fail(here, error)
            continue
        run.slugs[item["slug"] or category.slug] = category.id
        _categories(run, item["children"], category.id, f"{here}.children")


def _category(run: ImportRun, item: dict, parent_id: int | None) -> Category:
    counts = run.tally["categories"]
    existing = refs.existing_category(item, parent_id)
    if existing is None:
        category = catalog.save_category(
            run.actor,
            name=item["name"],
            parent_id=parent_id,
            description=item["description"],
        )
        _keep_slug(category, item["slug"])
        counts.created += 1
        return category
    if existing.archived_at is not None:
        raise ValidationFailed(
            _("The category “%(name)s” is archived.", name=existing.name),
            fields={"slug": [_("“%(name)s” is archived; use another slug.", name=existing.name)]},
        )
    if (existing.name, existing.parent_id, existing.description) == (
        item["name"].strip(),
        parent_id,
        item["description"].strip(),
    ) and existing.slug == (item["slug"] or existing.slug):
        counts.unchanged += 1
        return existing
    category = catalog.save_category(
        run.actor,
        name=item["name"],
        parent_id=parent_id,
        description=item["description"],
        category_id=existing.id,
    )
    _keep_slug(category, item["slug"])
    counts.updated += 1
    return category


def _keep_slug(category: Category, slug: str | None) -> None:
    """The file's slug wins over the one derived from the name, when it is free."""
    if not slug or slug == category.slug:
        return
    clash = db.session.scalar(sa.select(Category).where(Category.slug == slug))
    if clash is None:
        category.slug = slug
        db.session.flush()


def _products(run: ImportRun) -> None:
    for index, item in enumerate(run.doc["products"]):
        path = f"products[{index}]"
        try:
            product = _product(run, item)
        except DomainError as error:
            run.fail(path, error)
            continue
        for number, release in enumerate(item["releases"]):
            try:
                _release(run, product, release)
            except DomainError as error:
                run.fail(f"{path}.releases[{number}]", error)


def _product(run: ImportRun, item: dict) -> DigitalProduct:
    counts = run.tally["products"]
    owner_id = refs.owner_id(item)
    existing = refs.product_named(item["name"])
    if existing is not None and (existing.description, existing.owner_id) == (
        item["description"].strip(),
        owner_id if owner_id is not None else existing.owner_id,
    ):
        counts.unchanged += 1
        return existing
    try:
        product = catalog.save_product(
            run.actor,
            name=item["name"],
            description=item["description"],
            owner_id=owner_id,
            product_id=existing.id if existing else None,
            from_catalog_file=True,
        )
    except NotAllowed as error:
        raise NotAllowed(
            _(
                "The digital product “%(name)s” has another description or owner here; only product managers change it. %(message)s",
                name=existing.name,
                message=error.message,
            )
        ) from error
    if existing is None:
        counts.created += 1
        run.notes.append(("create", f"product {product.name}"))
    else:
        counts.updated += 1
        run.notes.append(("update", f"product {product.name}"))
    return product


def _release(run: ImportRun, product: DigitalProduct, item: dict) -> None:
    counts = run.tally["releases"]
    version = item["version"].strip()
    release = refs.release_named(product, version)
    label = f"{product.name} {version}"
    if release is None:
        catalog.create_release(
            run.actor,
            product.id,
            version=version,
            planned_date=run.moment(item["planned_date"]),
            notes=item["notes"],
            status=item["status"],
            from_catalog_file=True,
        )
        db.session.expire(product, ["releases"])
        counts.created += 1
        run.notes.append(("create", f"release {label} ({item['status']})"))
        return
    if release.status == item["status"]:
        counts.unchanged += 1
        return
    before, target = release.status, item["status"]
    while release.status != target:
        here, there = RELEASE_ORDER.index(release.status), RELEASE_ORDER.index(target)
        step = RELEASE_ORDER[here + 1] if there > here else RELEASE_ORDER[here - 1]
        if target in catalog.RELEASE_TRANSITIONS.get(release.status, set()):
            step = target
        try:
            catalog.transition_release(run.actor, release.id, step)
        except NotAllowed as error:
            raise NotAllowed(
                _(
                    "The release %(label)s is %(before)s here and %(target)s in the file; %(lower)s%(message)s",
                    label=label,
                    before=before,
                    target=target,
                    lower=error.message[0].lower(),
                    message=error.message[1:],
                )
            ) from error
    counts.updated += 1
    run.notes.append(("update", f"release {label}: {before} → {target}"))


def _articles(run: ImportRun) -> None:
    products = refs.product_ids()
    for index, item in enumerate(run.doc["articles"]):
        try:
            _article(run, item, products)
        except DomainError as error:
            run.fail(f"articles[{index}]", error)


def _article(run: ImportRun, item: dict, products: dict[str, int]) -> None:
    counts = run.tally["articles"]
    title = item["title"].strip()
    product_id = refs.article_product_id(item, products)
    existing = refs.article_titled(title)
    if existing is not None and (existing.body, existing.status, existing.product_id) == (
        item["body"].strip(),
        item["status"],
        product_id,
    ):
        counts.unchanged += 1
        run.article_ids[title] = existing.id
        return
    article = knowledge.save_article(
        run.actor,
        title=title,
        body=item["body"],
        status=item["status"],
        product_id=product_id,
        article_id=existing.id if existing else None,
    )
    run.article_ids[title] = article.id
    if existing is None:
        counts.created += 1
    else:
        counts.updated += 1


# --- offers ------------------------------------------------------------------------------


def _offer(run: ImportRun, index: int, item: dict, code: str) -> None:
    path = f"offers[{index}]"
    try:
        _precheck(run, item, code)
        with watching(run.outcome(code), code):
            _apply_offer(run, item, code)
    except DomainError as error:
        run.failed.add(code)
        run.fail(path, error)


def _precheck(run: ImportRun, item: dict, code: str) -> None:
    """Every field and reference problem of the item at once, before anything changes."""
    errors: dict[str, list[str]] = {}
    existing = catalog.draft_revision(code) or catalog.live_revision(code)
    if existing is None:
        check.offer_code(errors, item["code"])
    try:
        data = run.offer_fields(item, existing)
    except ValidationFailed as error:
        errors.update(error.fields)
        data = None
    try:
        refs.settings_refs(item, run.article_ids)
    except ValidationFailed as error:
        errors.update(error.fields)
    if data is not None:
        try:
            catalog.clean_offer_fields(data, partial_of=existing)
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                errors.setdefault(name, messages)
    if errors:
        raise ValidationFailed(_("The offer has invalid fields."), fields=errors)


def _apply_offer(run: ImportRun, item: dict, code: str) -> None:
    target = item["status"]
    reach = OfferStatus.PUBLISHED.value if target == OfferStatus.RETIRED.value else target
    members = refs.member_codes(item)
    live, draft = catalog.live_revision(code), catalog.draft_revision(code)
    if live is None and draft is None:
        offer = catalog.create_offer(run.actor, {"code": code, **run.offer_fields(item, None)})
        run.outcome(code).revision = "new offer, revision 1"
        apply_code_settings(run, item, code)
        if members:
            catalog.set_bundle_members(run.actor, offer.id, members)
        _walk(run, offer, reach)
    elif live is not None and live.status == OfferStatus.RETIRED.value:
        _keep_retired(run, item, code, live, members)
    elif live is not None:
        _revise_published(run, item, code, (live, draft), members)
    else:  # only a revision being edited (never published)
        changed = _changed_fields(run, item, draft)
        members_changed = members != [m.member_code for m in draft.members]
        apply_code_settings(run, item, code)
        run.outcome(code).revision = f"draft revision {draft.revision}" + (
            ", edited" if changed or members_changed else ""
        )
        if changed or members_changed:
            _edit(run, draft, item, members if members_changed else None)
        _walk(run, draft, reach)


def _keep_retired(
    run: ImportRun, item: dict, code: str, live: ServiceOffer, members: list[str]
) -> None:
    """A retired code stays retired and unchanged; only what belongs to the code follows."""
    target = item["status"]
    apply_code_settings(run, item, code)
    if target != OfferStatus.RETIRED.value:
        raise ValidationFailed(
            _("%(code)s is retired.", code=code),
            fields={
                "status": [
                    _(
                        "%(code)s is retired; it cannot become %(target)s again.",
                        code=code,
                        target=target,
                    )
                ]
            },
        )
    changed = _changed_fields(run, item, live)
    if members != [m.member_code for m in live.members]:
        changed.append("members")
    if refs.replacement_code(item) != live.replacement_code:
        changed.append("replacement")
    if changed:
        raise ValidationFailed(
            _("%(code)s is retired and cannot be changed.", code=code),
            fields={name: [f"{code} is retired: {name} cannot change."] for name in changed},
        )


def _revise_published(
    run: ImportRun,
    item: dict,
    code: str,
    revisions: tuple[ServiceOffer, ServiceOffer | None],
    members: list[str],
) -> None:
    """Changed fields or members of a published offer make a revision, published over it."""
    live, draft = revisions
    target = item["status"]
    if target not in (OfferStatus.PUBLISHED.value, OfferStatus.RETIRED.value):
        raise ValidationFailed(
            _("%(code)s is published.", code=code),
            fields={
                "status": [
                    _(
                        "%(code)s is published: declare it published (changed fields make a new revision) or retired.",
                        code=code,
                    )
                ]
            },
        )
    changed = _changed_fields(run, item, live)
    members_changed = members != [m.member_code for m in live.members]
    apply_code_settings(run, item, code)
    if not changed and not members_changed:
        return
    outcome = run.outcome(code)
    # The price and cost the file leaves as they are stay the revision's: a new revision starts
    # from the ones in force (price changes included), which the file's base price is not.
    kept = {"price", "cost"} - set(changed)
    if draft is None:
        revision = catalog.create_revision(run.actor, live.id)
        outcome.revision = f"new revision {revision.revision} of published revision {live.revision}"
    else:
        revision = draft
        _refuse_overwriting(run, item, (live, draft), members)
        as_it_is = not set(_changed_fields(run, item, draft)) - kept
        outcome.revision = f"draft revision {draft.revision}, " + (
            "as it is" if as_it_is and members == _member_codes(draft) else "edited"
        )
    _edit(run, revision, item, members if members_changed else None, kept=kept)
    _walk(run, revision, OfferStatus.PUBLISHED.value)


def _refuse_overwriting(
    run: ImportRun,
    item: dict,
    revisions: tuple[ServiceOffer, ServiceOffer],
    members: list[str],
) -> None:
    """The file describes the live revision (that is what an export writes). A draft revision
    with changes of its own that the file does not have would lose them: the offer is refused,
    never the draft overwritten; the catalog manager finishes the draft or writes its changes
    into the file. (A draft's own price is one that differs from the price in force.)"""
    live, draft = revisions
    baseline = dict(zip(("price", "cost"), catalog.current_price(live), strict=True))
    own = [
        name
        for name in catalog.OFFER_FIELDS
        if getattr(draft, name) != baseline.get(name, getattr(live, name))
    ]
    if _member_codes(draft) != _member_codes(live):
        own.append("members")
    # kept fields are not written, but publishing would still make the draft's own values live
    differs = set(_changed_fields(run, item, draft))
    if members != _member_codes(draft):
        differs.add("members")
    lost = [refs.FILE_NAMES.get(name, name) for name in own if name in differs]
    if not lost:
        return
    message = _(
        "%(code)s has an unfinished revision %(revision)s (%(status)s) with changes of its own "
        "to %(fields)s that this file does not have (it describes revision %(live)s); importing "
        "would overwrite them. Publish or discard revision %(revision)s in the editor and "
        "export again, or write its changes into the file.",
        code=draft.code,
        revision=draft.revision,
        status=draft.status,
        fields=", ".join(lost),
        live=live.revision,
    )
    raise ValidationFailed(message, fields={"revision": [message]})


def _member_codes(offer: ServiceOffer) -> list[str]:
    return [member.member_code for member in offer.members]


def _changed_fields(run: ImportRun, item: dict, offer: ServiceOffer) -> list[str]:
    cleaned = catalog.clean_offer_fields(run.offer_fields(item, offer), partial_of=offer)
    return [name for name in catalog.OFFER_FIELDS if cleaned[name] != getattr(offer, name)]


def _edit(
    run: ImportRun,
    offer: ServiceOffer,
    item: dict,
    members: list[str] | None,
    *,
    kept: set[str] = frozenset(),
) -> None:
    """The file's fields onto an editable revision, but the `kept` ones."""
    if members is not None and offer.is_bundle and item["kind"] != OfferKind.BUNDLE.value:
        catalog.set_bundle_members(run.actor, offer.id, [])
    data = {k: v for k, v in run.offer_fields(item, offer).items() if k not in kept}
    catalog.update_offer(run.actor, offer.id, data, expected_version=None)
    if members is not None and (offer.is_bundle or members):
        catalog.set_bundle_members(run.actor, offer.id, members)


def _walk(run: ImportRun, offer: ServiceOffer, target: str) -> None:
    """Move an offer one lifecycle step at a time to the target (forward or back)."""
    while offer.status != target:
        here, there = LIFECYCLE.index(offer.status), LIFECYCLE.index(target)
        step = LIFECYCLE[here + 1] if there > here else LIFECYCLE[here - 1]
        before = offer.status
        catalog.transition_offer(run.actor, offer.id, step)
        run.outcome(offer.code).step(offer.revision, before, step)


# --- retirements -------------------------------------------------------------------------


def _retirement_order(run: ImportRun, offers: list[dict], codes: list[str]) -> list[int]:
    """Offers to retire; an offer that replaces others retires after them (a replacement
    must still be published when an offer is retired in its favour)."""
    pending = [
        i
        for i, item in enumerate(offers)
        if item["status"] == OfferStatus.RETIRED.value and codes[i] not in run.failed
    ]

    def replacement(i: int) -> str:
        return (offers[i]["replacement"] or "").strip().upper()

    ordered: list[int] = []
    while pending:
        free = [i for i in pending if not any(replacement(j) == codes[i] for j in pending)]
        if not free:  # a cycle of replacements: let the services name the problem
            return ordered + pending
        ordered += free
        pending = [i for i in pending if i not in free]
    return ordered


def _retire(run: ImportRun, index: int, item: dict, code: str) -> None:
    path = f"offers[{index}]"
    offer = catalog.live_revision(code)
    if offer is None or offer.status != OfferStatus.PUBLISHED.value:
        return  # already retired (checked above), or it failed earlier
    end = run.moment(item["valid_to"])
    try:
        with watching(run.outcome(code), code):
            catalog.transition_offer(
                run.actor,
                offer.id,
                OfferStatus.RETIRED.value,
                end_date=end if end is not None and end > clock.now() else None,
                replacement_code=item["replacement"],
            )
            run.outcome(code).step(offer.revision, OfferStatus.PUBLISHED.value, offer.status)
    except DomainError as error:
        run.fail(path, error)


def _is_bundle(item: dict) -> bool:
    return item["kind"] == OfferKind.BUNDLE.value or bool(item["members"])
