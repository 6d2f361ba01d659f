"""Uploaded files that people share (attachments of products and of feed entries): which types are
allowed, checked by their content; the size limit; where the bytes are kept; how they are served."""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ALLOWED_WORDS = "PDF documents and PNG or JPEG images"
FILENAME_MAX_LENGTH = 200


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
    """The largest file accepted (settings.ATTACHMENT_MAX_BYTES, 20 MB unless set)."""
    return getattr(settings, "ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def clean_filename(name: str, *, limit: int = FILENAME_MAX_LENGTH) -> str:
    """The name a reader will see and download: the last part of any path, without control characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = NOT_ALLOWED_NAME_CHARACTERS.sub("", posixpath.basename(name)).strip().lstrip(".")
    if len(name) > limit:
        stem, extension = posixpath.splitext(name)
        name = stem[: limit - len(extension)] + extension
    return name


def sniff(head: bytes) -> FileType | None:
    """The allowed type whose signature the content starts with, if any."""
    return next((t for t in FILE_TYPES if head.startswith(t.signatures)), None)


def check_file(uploaded_file: UploadedFile, *, field: str = "file") -> tuple[str, FileType]:
    """The cleaned file name and its type, or a ValidationError on `field` saying what is wrong and
    what is allowed. The type comes from the content, never from the name or the browser."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({field: message})

    filename = clean_filename(uploaded_file.name)
    if not filename:
        raise refuse(f"The file has no name. Attach {ALLOWED_WORDS} with a name that ends in their type.")
    limit = max_bytes()
    if uploaded_file.size > limit:
        raise refuse(
            f"{filename} is {megabytes(uploaded_file.size)}; an attachment may be at most {megabytes(limit)}. "
            "Reduce the file (for example, export the PDF again at a lower image quality) or split it."
        )
    if uploaded_file.size == 0:
        raise refuse(f"{filename} is empty. Attach {ALLOWED_WORDS}.")
    uploaded_file.seek(0)
    head = uploaded_file.read(SNIFF_BYTES)
    uploaded_file.seek(0)
    file_type = sniff(head)
    if file_type is None:
        raise refuse(
            f"{filename} is not a PDF, PNG or JPEG file: its content is of another type, whatever its name "
            f"says. Only {ALLOWED_WORDS} can be attached."
        )
    extension = posixpath.splitext(filename)[1].lower()
    if extension not in file_type.extensions:
        raise refuse(
            f"{filename} holds a {file_type.label}, but its name does not end in "
            f"{' or '.join(file_type.extensions)}. Rename it to match its content and attach it again."
        )
    lowered = head.lower()
    found = next((marker for marker in ACTIVE_CONTENT if marker in lowered), None)
    if found is not None:
        raise refuse(
            f"{filename} starts as a {file_type.label} but also holds web page or script code "
            f"({found.decode()}…), which could run when the file is opened; it was refused. "
            f"Export the {file_type.label} again from the program that made it and attach that."
        )
    return filename, file_type


def sha256_of(uploaded_file: UploadedFile) -> str:
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


def content_path(folder: str, sha256: str) -> str:
    """Where bytes are kept: under their hash, so that identical content is stored once."""
    return f"{folder}/{sha256[:2]}/{sha256}"


def store_by_content(field_file: FieldFile, name: str, uploaded_file: UploadedFile) -> None:
    """Point `field_file` at `name` (from content_path), writing the bytes only if they are not there yet."""
    if field_file.storage.exists(name):
        field_file.name = name
    else:
        field_file.save(name, uploaded_file, save=False)


def download_response(field_file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """The stored file as a download: never rendered by the browser, never sniffed into another
    type, never cached on a shared machine. A file gone from storage is a 404."""
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404("The attachment's file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
