"""Attachments on support requests: what is accepted (type sniffed, size bounded), storing the
files, and reading them back as the user may see them. The bytes go to the file store
(app/storage.py: UPLOAD_DIR or S3-compatible object storage) under a random key before the
transaction commits: if a put fails the call is refused and nothing is committed; if the
transaction rolls back after a put (its commit failed), the objects it wrote are deleted again."""

from __future__ import annotations

import functools
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from ... import clock, storage, unit_of_work
from ... import validation as check
from ...accounts.models import Role, User
from ...accounts.services import require_role
from ...errors import NotFound, Unavailable, ValidationFailed
from ...extensions import db, get_by_id
from ...i18n import _
from ..models import Attachment, RequestMessage, SupportRequest
from .agents import is_agent, require_actor
from .requests import request_for

ALLOWED_ATTACHMENTS = {
    ".png": ("image/png", b"\x89PNG"),
    ".jpg": ("image/jpeg", b"\xff\xd8"),
    ".jpeg": ("image/jpeg", b"\xff\xd8"),
    ".gif": ("image/gif", b"GIF8"),
    ".pdf": ("application/pdf", b"%PDF"),
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".csv": ("text/csv", None),
}
MAX_ATTACHMENTS = 10
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
log = logging.getLogger(__name__)
# An object younger than this may belong to a transaction still under way: never collected.
ORPHAN_AGE = timedelta(days=1)
COLLECT_BATCH = 500


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


def clean_files(
    files: list | None, errors: check.Errors | None = None
) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) for each upload; problems are added to `errors` (or raised
    at once when no errors dict is given), naming the file and the reason."""
    cleaned: list[tuple[str, str, bytes]] = []
    own = errors is None
    errors = {} if errors is None else errors
    limit = int(current_app.config.get("MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))
    uploads = [upload for upload in files or [] if (getattr(upload, "filename", "") or "").strip()]
    if len(uploads) > MAX_ATTACHMENTS:
        check.add(
            errors,
            "attachments",
            _("Attach at most %(MAX_ATTACHMENTS)s files at once.", MAX_ATTACHMENTS=MAX_ATTACHMENTS),
        )
        uploads = []
    for upload in uploads:
        raw_name = str(upload.filename).replace("\\", "/").rsplit("/", 1)[-1]
        name = _UNSAFE_NAME.sub("", raw_name).strip()[:255] or "attachment"
        data = upload.read(limit + 1)
        suffix = Path(name).suffix.lower()
        allowed = ALLOWED_ATTACHMENTS.get(suffix)
        if len(data) > limit:
            check.add(errors, "attachments", f"{name} is larger than {size_text(limit)}.")
        elif not data:
            check.add(errors, "attachments", f"{name} is empty.")
        elif allowed is None:
            check.add(
                errors,
                "attachments",
                f"{name}: only {', '.join(sorted(ALLOWED_ATTACHMENTS))} files are accepted.",
            )
        elif allowed[1] is not None and not data.startswith(allowed[1]):
            check.add(errors, "attachments", f"{name} does not look like a {suffix} file.")
        elif allowed[1] is None and b"\x00" in data[:4096]:
            check.add(errors, "attachments", f"{name} is not a text file.")
        else:
            cleaned.append((name, allowed[0], data))
    if own and errors:
        raise ValidationFailed(_("An attachment was refused; your text is kept."), fields=errors)
    return cleaned


@dataclass(frozen=True)
class StoredFile:
    name: str
    content_type: str
    size: int
    key: str


def put_files(files: list[tuple[str, str, bytes]]) -> list[StoredFile]:
    """Each cleaned upload into the file store, before the caller writes any row: a store that
    fails refuses the call (what this call already put is deleted) with nothing to undo in the
    database. If the transaction rolls back later (its commit failed), the objects are deleted."""
    store = storage.current()
    stored: list[StoredFile] = []
    try:
        for name, content_type, data in files:
            key = _put(store, data, content_type)
            unit_of_work.on_rollback(functools.partial(_forget, store, key))
            stored.append(StoredFile(name, content_type, len(data), key))
    except Unavailable:
        forget_files(stored)
        raise
    return stored


def forget_files(stored: list[StoredFile]) -> None:
    """Objects put for a call that then stored nothing (it found the same request already open)."""
    store = storage.current()
    for item in stored:
        _forget(store, item.key)


def record_files(
    request: SupportRequest,
    message: RequestMessage | None,
    actor: User,
    stored: list[StoredFile],
    internal: bool,
) -> None:
    for item in stored:
        db.session.add(
            Attachment(
                request_id=request.id,
                message_id=message.id if message else None,
                filename=item.name,
                stored_name=item.key,
                content_type=item.content_type,
                size=item.size,
                internal=internal,
                uploaded_by_id=actor.id,
                created_at=clock.now(),
            )
        )


def _put(store: storage.Storage, data: bytes, content_type: str) -> str:
    key = storage.new_key()
    try:
        store.put(key, data, content_type)
    except storage.StorageError:
        log.exception("An attachment could not be stored in %r", store)
        text = _(
            "The attachments could not be stored just now, so nothing was saved; your text is "
            "kept. Try again in a few minutes."
        )
        field = _("The files could not be stored; attach them again.")
        raise Unavailable(text, fields={"attachments": [field]}) from None
    return key


def _forget(store: storage.Storage, key: str) -> None:
    """No row will ever point to this object. If the store cannot delete it now, it is left as an
    orphan (logged with its key): nothing serves it, and deleting it by hand is safe."""
    try:
        store.delete(key)
    except storage.StorageError:
        log.exception("Orphaned attachment object %s left in %r", key, store)


def attachments_for(user: User, request: SupportRequest) -> list[Attachment]:
    require_actor(user)
    query = sa.select(Attachment).where(Attachment.request_id == request.id)
    if not is_agent(user):
        query = query.where(Attachment.internal.is_(False))
    return list(db.session.scalars(query.order_by(Attachment.id)))


def attachment_for(user: User, attachment_id: int) -> tuple[Attachment, BinaryIO]:
    """The attachment and its bytes (a stream the caller closes), if the user may see it."""
    attachment = get_by_id(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    request_for(user, attachment.request_id)
    if attachment.internal and not is_agent(user):
        raise NotFound(_("No such attachment."))
    try:
        return attachment, storage.current().open(attachment.stored_name)
    except storage.ObjectMissing:
        log.error("Attachment %s: object %s is missing", attachment.id, attachment.stored_name)
        raise NotFound(_("The file is missing.")) from None
    except storage.StorageError:
        log.exception("Attachment %s could not be read", attachment.id)
        raise Unavailable(
            _("The file could not be fetched just now. Try again in a few minutes.")
        ) from None


def collect_orphaned_files(actor: User) -> int:
    """Delete the objects no attachment row names that are older than ORPHAN_AGE: left by a
    process that died between storing a file and committing its row, or by a rollback whose
    delete failed. Run by the system (the periodic job); the number deleted."""
    require_role(actor, Role.ADMIN, message=_("Only the system collects orphaned files."))
    store = storage.current()
    keys = store.keys_older_than(clock.now() - ORPHAN_AGE)
    deleted = 0
    while batch := list(itertools.islice(keys, COLLECT_BATCH)):
        named = set(
            db.session.scalars(
                sa.select(Attachment.stored_name).where(Attachment.stored_name.in_(batch))
            )
        )
        for key in batch:
            if key not in named:
                store.delete(key)
                log.info("Deleted orphaned attachment object %s from %r", key, store)
                deleted += 1
    return deleted
