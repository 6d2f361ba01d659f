"""Attachments of threat products: PDF documents and PNG or JPEG images, checked by their content,
added and removed on drafts only, and carried over to the next version of a product."""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from agencies.models import Role, User

from ..models import ProductAttachment, ProductTransition, ThreatProduct, attachment_path

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ALLOWED_WORDS = "PDF documents and PNG or JPEG images"


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    signatures: tuple[bytes, ...]
    extensions: tuple[str, ...]


FILE_TYPES = (
    FileType("application/pdf", "PDF document", (b"%PDF-",), (".pdf",)),
    FileType("image/png", "PNG image", (b"\x89PNG\r\n\x1a\n",), (".png",)),
    FileType("image/jpeg", "JPEG image", (b"\xff\xd8\xff",), (".jpg", ".jpeg")),
)

# A file that starts as a document or an image but carries markup or server code is a polyglot:
# some program along the way (a browser sniffing it, a server including it) may run it as such.
# Only the head is searched, as browsers' sniffing does; deeper in, compressed image data matches
# short byte strings by chance.
SNIFF_BYTES = 8 * 1024
ACTIVE_CONTENT = (
    b"<script",
    b"<html",
    b"<svg",
    b"<?php",
    b"<!doctype html",
    b"<iframe",
    b"<body",
    b"<object",
    b"<embed",
)
NOT_ALLOWED_NAME_CHARACTERS = re.compile(r"[\x00-\x1f\x7f/\\]")


def max_bytes() -> int:
    return getattr(settings, "ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def clean_filename(name: str) -> str:
    """The name a reader will see and download: the last part of any path, without control characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = NOT_ALLOWED_NAME_CHARACTERS.sub("", posixpath.basename(name)).strip().lstrip(".")
    limit = ProductAttachment._meta.get_field("filename").max_length
    if len(name) > limit:
        stem, extension = posixpath.splitext(name)
        name = stem[: limit - len(extension)] + extension
    return name


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def sniff(head: bytes) -> FileType | None:
    """The allowed type whose signature the content starts with, if any."""
    return next((t for t in FILE_TYPES if head.startswith(t.signatures)), None)


def check_file(uploaded_file: UploadedFile) -> tuple[str, FileType]:
    """The cleaned file name and its type, or a ValidationError saying what is wrong and what is allowed."""
    filename = clean_filename(uploaded_file.name)
    if not filename:
        raise _refuse(f"The file has no name. Attach {ALLOWED_WORDS} with a name that ends in their type.")
    limit = max_bytes()
    if uploaded_file.size > limit:
        raise _refuse(
            f"{filename} is {_megabytes(uploaded_file.size)}; an attachment may be at most {_megabytes(limit)}. "
            "Reduce the file (for example, export the PDF again at a lower image quality) or split it."
        )
    if uploaded_file.size == 0:
        raise _refuse(f"{filename} is empty. Attach {ALLOWED_WORDS}.")
    uploaded_file.seek(0)
    head = uploaded_file.read(SNIFF_BYTES)
    uploaded_file.seek(0)
    file_type = sniff(head)
    if file_type is None:
        raise _refuse(
            f"{filename} is not a PDF, PNG or JPEG file: its content is of another type, whatever its name "
            f"says. Only {ALLOWED_WORDS} can be attached."
        )
    extension = posixpath.splitext(filename)[1].lower()
    if extension not in file_type.extensions:
        raise _refuse(
            f"{filename} holds a {file_type.label}, but its name does not end in "
            f"{' or '.join(file_type.extensions)}. Rename it to match its content and attach it again."
        )
    lowered = head.lower()
    found = next((marker for marker in ACTIVE_CONTENT if marker in lowered), None)
    if found is not None:
        raise _refuse(
            f"{filename} starts as a {file_type.label} but also holds web page or script code "
            f"({found.decode()}…), which could run when the file is opened; it was refused. "
            f"Export the {file_type.label} again from the program that made it and attach that."
        )
    return filename, file_type


def _sha256(uploaded_file: UploadedFile) -> str:
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


def _check_may_edit(person: User, product: ThreatProduct) -> None:
    is_center_worker = person.agency_id == product.originating_agency_id and person.has_role(
        Role.ANALYST, Role.SUPERVISOR
    )
    if not (person.pk == product.author_id or is_center_worker):
        raise PermissionDenied(
            "Only the author or their center's analysts and supervisors change a draft's attachments."
        )


def _check_draft(product: ThreatProduct, doing: str) -> None:
    if product.state != ThreatProduct.State.DRAFT:
        raise _refuse(
            f"Attachments can be {doing} only on a draft, and this product is "
            f"{ThreatProduct.State(product.state).label.lower()}. A published version never changes: "
            "start an update to change the attachments of the next version."
        )


def _storage():
    return ProductAttachment._meta.get_field("file").storage


def _store(attachment: ProductAttachment, uploaded_file: UploadedFile) -> None:
    """Store the bytes under their hash; identical content is stored once and shared."""
    name = attachment_path(attachment, attachment.filename)
    storage = _storage()
    if storage.exists(name):
        attachment.file.name = name
    else:
        attachment.file.save(name, uploaded_file, save=False)


def add_attachment(*, product: ThreatProduct, by: User, uploaded_file: UploadedFile) -> ProductAttachment:
    """Attach a PDF, PNG or JPEG file to a draft, after checking its content, and record it in the history."""
    _check_may_edit(by, product)
    _check_draft(product, "added")
    filename, file_type = check_file(uploaded_file)
    sha256 = _sha256(uploaded_file)
    with transaction.atomic(durable=True):
        locked = ThreatProduct.objects.select_for_update().get(pk=product.pk)
        _check_draft(locked, "added")
        existing = locked.attachments.filter(sha256=sha256).first()
        if existing is not None:
            raise _refuse(f"{filename} is already attached to this product, as {existing.filename}.")
        attachment = ProductAttachment(
            product=locked,
            filename=filename,
            content_type=file_type.content_type,
            size=uploaded_file.size,
            sha256=sha256,
            uploaded_by=by,
        )
        # Written under the product's lock and after every check, so a refused file leaves nothing
        # behind; a failed commit may leave an unreferenced file, never a row without its file.
        _store(attachment, uploaded_file)
        attachment.save()
        locked.save(update_fields=["updated_at"])
        ProductTransition.objects.create(
            product=locked, action=ProductTransition.Action.EDITED, by=by, comment=f"Attached {filename}."
        )
    return attachment


def _delete_file_unless_shared(name: str) -> None:
    if not ProductAttachment.objects.filter(file=name).exists():
        _storage().delete(name)


def remove_attachment(*, attachment: ProductAttachment, by: User) -> None:
    """Remove an attachment from a draft; its file goes too unless another version still uses it."""
    product = attachment.product
    _check_may_edit(by, product)
    _check_draft(product, "removed")
    with transaction.atomic(durable=True):
        locked = ThreatProduct.objects.select_for_update().get(pk=product.pk)
        _check_draft(locked, "removed")
        name = attachment.file.name
        deleted, _ = ProductAttachment.objects.filter(pk=attachment.pk, product=locked).delete()
        if not deleted:
            raise _refuse(f"{attachment.filename} is no longer attached to this product.")
        locked.save(update_fields=["updated_at"])
        ProductTransition.objects.create(
            product=locked,
            action=ProductTransition.Action.EDITED,
            by=by,
            comment=f"Removed the attachment {attachment.filename}.",
        )
        transaction.on_commit(lambda: _delete_file_unless_shared(name))


def copy_attachments(*, source: ThreatProduct, target: ThreatProduct) -> list[ProductAttachment]:
    """Give `target` (the next version) the attachments of `source`; both share the stored files.

    Runs inside the caller's transaction (start_update)."""
    return ProductAttachment.objects.bulk_create(
        ProductAttachment(
            product=target,
            file=attachment.file.name,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            uploaded_by_id=attachment.uploaded_by_id,
            uploaded_at=attachment.uploaded_at,
        )
        for attachment in source.attachments.all()
    )
