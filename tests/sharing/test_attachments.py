"""Attachments: PDFs and images checked by content, on drafts only, downloaded only by full readers."""

import hashlib

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from agencies.markings import Caveat
from agencies.models import Role
from sharing.models import ProductAttachment, ProductTransition, ThreatProduct
from sharing.services.attachments import add_attachment, remove_attachment
from sharing.services.products import approve_product, create_product, start_update, submit_for_review
from tests.factories import UserFactory
from tests.sharing.conftest import content
from tests.uploads import HTML, JPEG, PDF, SVG, body, png, png_chunk, stored_files, upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def draft(analyst, county_eoc):
    return create_product(author=analyst, content=content(audience_agencies=[county_eoc]))


@pytest.fixture
def eoc_le(county_eoc):
    """A sworn officer working in the county EOC: may read LES products in full."""
    return UserFactory(username="eoc.officer", agency=county_eoc, roles=[Role.PARTNER], is_law_enforcement=True)


def publish_with_attachment(author, reviewer, *, filename="site-map.pdf", data=PDF, **overrides):
    product = create_product(author=author, content=content(**overrides))
    attachment = add_attachment(product=product, by=author, uploaded_file=upload(filename, data))
    submit_for_review(product=product, by=author)
    return approve_product(product=product, reviewer=reviewer), attachment


# --- adding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "content_type"),
    [
        ("site-map.pdf", PDF, "application/pdf"),
        ("camera.png", png(), "image/png"),
        ("suspect.jpg", JPEG, "image/jpeg"),
        ("suspect.JPEG", JPEG, "image/jpeg"),
    ],
)
def test_author_attaches_a_pdf_or_an_image_to_a_draft(draft, analyst, media_root, filename, data, content_type):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload(filename, data))

    attachment.refresh_from_db()
    assert attachment.product == draft
    assert attachment.filename == filename
    assert attachment.content_type == content_type
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.uploaded_by == analyst
    assert attachment.file.name == f"attachments/{attachment.sha256[:2]}/{attachment.sha256}"
    assert (media_root / attachment.file.name).read_bytes() == data
    last = draft.transitions.last()
    assert (last.action, last.by, last.comment) == (ProductTransition.Action.EDITED, analyst, f"Attached {filename}.")


def test_a_center_supervisor_may_attach_to_an_analysts_draft(draft, supervisor):
    assert (
        add_attachment(product=draft, by=supervisor, uploaded_file=upload("map.png", png())).uploaded_by == supervisor
    )


def test_stored_type_comes_from_the_content_not_from_the_browser(draft, analyst):
    attachment = add_attachment(
        product=draft, by=analyst, uploaded_file=upload("camera.png", png(), content_type="text/html")
    )
    assert attachment.content_type == "image/png"


def test_file_name_loses_its_path_and_control_characters(draft, analyst):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload("C:\\fakepath\\site\r\nmap.pdf", PDF))
    assert attachment.filename == "sitemap.pdf"


def test_oversize_file_is_refused_and_nothing_is_kept(draft, analyst, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = PDF + b"0" * (1536 * 1024)

    with pytest.raises(ValidationError) as error:
        add_attachment(product=draft, by=analyst, uploaded_file=upload("huge.pdf", big))

    assert error.value.message_dict["file"] == [
        "huge.pdf is 1.5 MB; an attachment may be at most 1 MB. Reduce the file (for example, export the PDF "
        "again at a lower image quality) or split it."
    ]
    assert not ProductAttachment.objects.exists()
    assert stored_files(media_root) == []


def test_default_limit_is_twenty_megabytes(draft, analyst, settings):
    del settings.ATTACHMENT_MAX_BYTES
    big = upload("huge.pdf", PDF + b"0" * (20 * 1024 * 1024))
    with pytest.raises(ValidationError, match="at most 20 MB"):
        add_attachment(product=draft, by=analyst, uploaded_file=big)


DISGUISED = [
    # (file name, content, words the refusal must hold)
    ("report.pdf", HTML, "is not a PDF, PNG or JPEG file"),
    ("map.png", SVG, "is not a PDF, PNG or JPEG file"),
    ("map.pdf", SVG, "is not a PDF, PNG or JPEG file"),
    ("notes.pdf", b"Just some text, no PDF at all.", "is not a PDF, PNG or JPEG file"),
    ("report.pdf", png(), "holds a PNG image, but its name does not end in .png"),
    ("photo.png", JPEG, "holds a JPEG image, but its name does not end in .jpg or .jpeg"),
    ("camera", png(), "does not end in .png"),
    ("photo.jpg", JPEG[:20] + b"<script>alert(1)</script>" + JPEG[20:], "web page or script code (<script"),
    ("photo.jpg", JPEG[:20] + b"<?php system($_GET['c']); ?>" + JPEG[20:], "web page or script code (<?php"),
    ("camera.png", png(png_chunk(b"tEXt", b"Comment\x00<svg onload=alert(1)>")), "web page or script code (<svg"),
    ("site-map.pdf", PDF + b"<HTML><BODY>hello</BODY></HTML>", "web page or script code (<html"),
    ("empty.pdf", b"", "is empty"),
]


@pytest.mark.parametrize(("filename", "data", "words"), DISGUISED)
def test_disguised_and_polyglot_files_are_refused_with_a_message(draft, analyst, media_root, filename, data, words):
    with pytest.raises(ValidationError) as error:
        add_attachment(product=draft, by=analyst, uploaded_file=upload(filename, data, content_type="image/png"))

    [message] = error.value.message_dict["file"]
    assert words in message
    assert message.startswith(filename)
    assert not ProductAttachment.objects.exists()
    assert stored_files(media_root) == []
    assert not draft.transitions.filter(comment__startswith="Attached").exists()


def test_the_refusal_says_what_is_allowed(draft, analyst):
    with pytest.raises(ValidationError) as error:
        add_attachment(product=draft, by=analyst, uploaded_file=upload("map.png", SVG))
    assert "Only PDF documents and PNG or JPEG images can be attached." in error.value.messages[0]


def test_the_same_file_twice_on_one_product_is_refused(draft, analyst):
    add_attachment(product=draft, by=analyst, uploaded_file=upload("map.png", png()))
    with pytest.raises(ValidationError, match=r"already attached to this product, as map\.png"):
        add_attachment(product=draft, by=analyst, uploaded_file=upload("map-again.png", png()))
    assert draft.attachments.count() == 1


@pytest.mark.parametrize("product_state", [ThreatProduct.State.IN_REVIEW, ThreatProduct.State.PUBLISHED])
def test_attachments_are_added_to_drafts_only(analyst, supervisor, county_eoc, media_root, product_state):
    product = create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    product = submit_for_review(product=product, by=analyst)
    if product_state == ThreatProduct.State.PUBLISHED:
        product = approve_product(product=product, reviewer=supervisor)

    with pytest.raises(ValidationError) as error:
        add_attachment(product=product, by=analyst, uploaded_file=upload("site-map.pdf", PDF))

    assert "only on a draft" in error.value.message_dict["file"][0]
    assert product.state == product_state
    assert not product.attachments.exists()
    assert stored_files(media_root) == []


def test_a_draft_submitted_meanwhile_takes_no_attachment(draft, analyst, media_root):
    submit_for_review(product=draft, by=analyst)  # `draft` still says "draft": the service must look again
    with pytest.raises(ValidationError, match="only on a draft"):
        add_attachment(product=draft, by=analyst, uploaded_file=upload("site-map.pdf", PDF))
    assert not ProductAttachment.objects.exists()
    assert stored_files(media_root) == []


def test_only_the_author_and_center_writers_attach(draft, liaison_officer, coordinator):
    for person in (liaison_officer, coordinator):
        with pytest.raises(PermissionDenied):
            add_attachment(product=draft, by=person, uploaded_file=upload("site-map.pdf", PDF))
    assert not draft.attachments.exists()


# --- removing -------------------------------------------------------------------------------------


def test_removing_an_attachment_deletes_it_and_its_file(draft, analyst, media_root, django_capture_on_commit_callbacks):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload("site-map.pdf", PDF))
    with django_capture_on_commit_callbacks(execute=True):
        remove_attachment(attachment=attachment, by=analyst)

    assert not draft.attachments.exists()
    assert stored_files(media_root) == []
    assert draft.transitions.last().comment == "Removed the attachment site-map.pdf."


def test_attachments_of_a_published_version_cannot_be_removed(analyst, supervisor, county_eoc):
    product, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])
    with pytest.raises(ValidationError, match="only on a draft"):
        remove_attachment(attachment=attachment, by=analyst)
    assert product.attachments.count() == 1


# --- versions -------------------------------------------------------------------------------------


def test_an_update_carries_the_attachments_over_and_shares_their_files(
    analyst, supervisor, county_eoc, media_root, django_capture_on_commit_callbacks
):
    published, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])

    update = start_update(product=published, by=analyst)

    [copy] = update.attachments.all()
    assert copy.pk != attachment.pk
    assert (copy.filename, copy.content_type, copy.size, copy.sha256, copy.file.name) == (
        attachment.filename,
        attachment.content_type,
        attachment.size,
        attachment.sha256,
        attachment.file.name,
    )
    # Removing it from the new version leaves the published version's file in place.
    with django_capture_on_commit_callbacks(execute=True):
        remove_attachment(attachment=copy, by=analyst)
    assert published.attachments.get().file.read() == PDF
    assert len(stored_files(media_root)) == 1


# --- downloading ----------------------------------------------------------------------------------


def download_url(attachment) -> str:
    return reverse("sharing:attachment-download", args=[attachment.product_id, attachment.pk])


def test_a_full_reader_downloads_the_file_as_an_attachment(client, analyst, supervisor, coordinator, county_eoc):
    _, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])
    client.force_login(coordinator)

    response = client.get(download_url(attachment))

    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="site-map.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_an_image_is_downloaded_too_never_shown_inline(client, analyst, supervisor, coordinator, county_eoc):
    _, attachment = publish_with_attachment(
        analyst, supervisor, filename="camera.png", data=png(), audience_agencies=[county_eoc]
    )
    client.force_login(coordinator)
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    body(response)


def test_a_tearline_reader_may_not_download(client, analyst, supervisor, coordinator, eoc_le, county_eoc):
    _, attachment = publish_with_attachment(
        analyst,
        supervisor,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        tearline="Copper thefts at substations; partners should check their fences.",
    )
    client.force_login(coordinator)  # no law-enforcement status: the tearline only
    assert client.get(download_url(attachment)).status_code == 404

    client.force_login(eoc_le)
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    body(response)


def test_an_outsider_gets_404(client, analyst, supervisor, outsider, county_eoc):
    _, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])
    client.force_login(outsider)
    assert client.get(download_url(attachment)).status_code == 404


def test_the_anonymous_visitor_is_sent_to_sign_in(client, analyst, supervisor, county_eoc):
    _, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])
    response = client.get(download_url(attachment))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


def test_an_attachment_is_reached_only_through_its_own_product(client, analyst, supervisor, coordinator, county_eoc):
    _, attachment = publish_with_attachment(analyst, supervisor, audience_agencies=[], release_reason="")
    seen, _other = publish_with_attachment(
        analyst, supervisor, filename="camera.png", data=png(), audience_agencies=[county_eoc]
    )
    client.force_login(coordinator)
    assert client.get(reverse("sharing:attachment-download", args=[seen.pk, attachment.pk])).status_code == 404
    assert client.get(download_url(attachment)).status_code == 404


def test_a_draft_attachment_is_downloaded_only_by_the_center_writers(client, draft, analyst, supervisor, coordinator):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload("site-map.pdf", PDF))
    client.force_login(supervisor)
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    body(response)
    client.force_login(coordinator)  # in the audience, but the draft is not released
    assert client.get(download_url(attachment)).status_code == 404


# --- the browser's upload and removal -------------------------------------------------------------


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_uploading_in_the_browser_returns_to_the_edit_page(client, draft, analyst):
    client.force_login(analyst)
    response = client.post(reverse("sharing:attachment-upload", args=[draft.pk]), {"file": upload("site-map.pdf", PDF)})
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:product-edit", kwargs={"pk": draft.pk})
    assert messages_of(response) == ["site-map.pdf is attached."]
    assert draft.attachments.get().filename == "site-map.pdf"


def test_a_refused_upload_explains_itself_in_the_browser(client, draft, analyst):
    client.force_login(analyst)
    response = client.post(reverse("sharing:attachment-upload", args=[draft.pk]), {"file": upload("map.png", SVG)})
    assert response.status_code == 302
    [message] = messages_of(response)
    assert message.startswith("map.png is not a PDF, PNG or JPEG file")
    assert not draft.attachments.exists()


def test_an_upload_without_a_file_asks_for_one(client, draft, analyst):
    client.force_login(analyst)
    response = client.post(reverse("sharing:attachment-upload", args=[draft.pk]))
    assert response.status_code == 302
    assert messages_of(response) == ["Choose a file to attach: PDF documents and PNG or JPEG images."]


def test_people_who_cannot_see_the_draft_get_404_on_upload(client, draft, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("sharing:attachment-upload", args=[draft.pk]), {"file": upload("site-map.pdf", PDF)})
    assert response.status_code == 404
    assert not draft.attachments.exists()


def test_removing_in_the_browser(client, draft, analyst):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload("site-map.pdf", PDF))
    client.force_login(analyst)
    response = client.post(reverse("sharing:attachment-delete", args=[draft.pk, attachment.pk]))
    assert response.status_code == 302
    assert messages_of(response) == ["site-map.pdf is no longer attached."]
    assert not draft.attachments.exists()


def test_upload_and_removal_take_posts_only(client, draft, analyst):
    attachment = add_attachment(product=draft, by=analyst, uploaded_file=upload("site-map.pdf", PDF))
    client.force_login(analyst)
    assert client.get(reverse("sharing:attachment-upload", args=[draft.pk])).status_code == 405
    assert client.get(reverse("sharing:attachment-delete", args=[draft.pk, attachment.pk])).status_code == 405
    assert draft.attachments.count() == 1


def test_the_draft_page_offers_attaching_and_the_file_then_shows(client, draft, analyst, coordinator):
    client.force_login(analyst)
    page = client.get(f"/products/{draft.pk}/").content.decode()
    assert 'data-testid="attachment-manage"' in page
    assert f'action="/products/{draft.pk}/attachments/"' in page
    response = client.post(f"/products/{draft.pk}/attachments/", {"file": upload("map.pdf", PDF)}, follow=True)
    assert "map.pdf is attached." in response.content.decode()
    assert "map.pdf" in client.get(f"/products/{draft.pk}/").content.decode()


def test_a_published_product_page_offers_no_attaching(client, analyst, supervisor, county_eoc):
    product, _ = publish_with_attachment(analyst, supervisor, audience_agencies=[county_eoc])
    client.force_login(analyst)
    assert 'data-testid="attachment-manage"' not in client.get(f"/products/{product.pk}/").content.decode()
