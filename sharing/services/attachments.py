"""Attachments of threat products: PDF documents and PNG or JPEG images, checked by their content,
added and removed on drafts only, and carried over to the next version of a product."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from agencies.models import Role, User
from agencies.uploads import check_file, sha256_of, store_by_content

from ..models import ProductAttachment, ProductTransition, ThreatProduct, attachment_path


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _check_may_edit(person: User, product: ThreatProduct) -> None:
    is_center_worker = person.agency_id == product.originating_agency_id and person.has_role(
        Role.ANALYST, Role.SUPERVISOR
    )
    if not (person.pk == product.author_id or is_center_worker):
        raise PermissionDenied(
            "Only the author or their center's analysts and supervisors change a draft's attachments."
        )


def _check_draft(product: ThreatProduct, doing: str) -> None:
    if product.purged_at is not None:
        raise _refuse("This product was purged under 28 CFR Part 23: its attachments cannot be changed.")
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
    store_by_content(attachment.file, attachment_path(attachment, attachment.filename), uploaded_file)


def add_attachment(*, product: ThreatProduct, by: User, uploaded_file: UploadedFile) -> ProductAttachment:
    """Attach a PDF, PNG or JPEG file to a draft, after checking its content, and record it in the history."""
    _check_may_edit(by, product)
    _check_draft(product, "added")
    filename, file_type = check_file(uploaded_file)
    sha256 = sha256_of(uploaded_file)
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


def delete_file_unless_shared(name: str) -> None:
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
        transaction.on_commit(lambda: delete_file_unless_shared(name))


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
