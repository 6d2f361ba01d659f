"""Attachments of feed entries: posted with the entry or not at all, checked by content, listed and
downloaded only by those who may read the entry in full, in the browser and the API."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agencies.markings import Caveat
from agencies.models import Role
from eoc.models import FeedEntry, FeedEntryAttachment
from eoc.services.feed import MAX_ATTACHMENTS, EntryContent, correct_entry, post_entry
from tests.factories import UserFactory
from tests.uploads import HTML, JPEG, PDF, SVG, body, png, png_chunk, stored_files, upload

pytestmark = pytest.mark.django_db

TEARLINE = "Copper thieves active near the substations; report anyone on the fences."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def eoc_le(county_eoc):
    """A sworn officer working in the county EOC: may read LES entries in full."""
    return UserFactory(username="eoc.officer", agency=county_eoc, roles=[Role.PARTNER], is_law_enforcement=True)


def post_with(incident, by, files, **overrides) -> FeedEntry:
    """An entry of the incident's feed with these files. By default TLP:AMBER to the agencies taking
    part (the county EOC), so that an agency outside the incident does not see it."""
    values = {"kind": FeedEntry.Kind.SITUATION_UPDATE, "title": "Shelter map for tonight", "tlp": "amber"}
    values.update(overrides)
    return post_entry(by=by, content=EntryContent(**values), incident=incident, attachments=files)


def les_entry(incident, liaison_officer, files):
    """An LES entry from the fusion center's liaison officer, with a tearline for the others."""
    return post_with(
        incident,
        liaison_officer,
        files,
        title="Copper theft ring",
        body="Suspects: two men in a white van, plate ABC-1234.",
        caveats=[Caveat.LES],
        tearline=TEARLINE,
    )


def download_url(attachment: FeedEntryAttachment) -> str:
    return reverse("eoc:entry-attachment-download", args=[attachment.entry_id, attachment.pk])


def nothing_saved(media_root) -> bool:
    return not FeedEntry.objects.exists() and not FeedEntryAttachment.objects.exists() and not stored_files(media_root)


# --- posting ----------------------------------------------------------------------------------------


def test_an_entry_is_posted_with_its_attachments(flood, coordinator, media_root):
    entry = post_with(flood, coordinator, [upload("shelters.pdf", PDF), upload("map.png", png(), "text/html")])

    pdf, image = entry.attachments.order_by("pk")
    assert (pdf.filename, pdf.content_type, pdf.size) == ("shelters.pdf", "application/pdf", len(PDF))
    assert (image.filename, image.content_type) == ("map.png", "image/png")  # from the content, not the browser
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    assert pdf.file.name == f"feed-attachments/{pdf.sha256[:2]}/{pdf.sha256}"
    assert (media_root / pdf.file.name).read_bytes() == PDF


def test_the_same_file_on_two_entries_is_stored_once(flood, coordinator, media_root):
    first = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    second = post_with(flood, coordinator, [upload("shelters-again.pdf", PDF)])
    assert first.attachments.get().file.name == second.attachments.get().file.name
    assert len(stored_files(media_root)) == 1


DISGUISED = [
    # (file name, content, words the refusal must hold)
    ("report.pdf", HTML, "is not a PDF, PNG or JPEG file"),
    ("map.png", SVG, "is not a PDF, PNG or JPEG file"),
    ("report.pdf", png(), "holds a PNG image, but its name does not end in .png"),
    ("photo.jpg", JPEG[:20] + b"<script>alert(1)</script>" + JPEG[20:], "web page or script code (<script"),
    ("camera.png", png(png_chunk(b"tEXt", b"Comment\x00<svg onload=alert(1)>")), "web page or script code (<svg"),
    ("site-map.pdf", PDF + b"<HTML><BODY>hello</BODY></HTML>", "web page or script code (<html"),
    ("empty.pdf", b"", "is empty"),
]


@pytest.mark.parametrize(("filename", "data", "words"), DISGUISED)
def test_a_disguised_or_polyglot_file_is_refused_and_nothing_is_posted(
    flood, coordinator, media_root, django_capture_on_commit_callbacks, filename, data, words
):
    files = [upload("shelters.pdf", PDF), upload(filename, data, "application/pdf")]
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as error:
        post_with(flood, coordinator, files)

    [message] = error.value.message_dict["attachments"]
    assert message.startswith(filename)
    assert words in message
    assert nothing_saved(media_root)  # not the entry, not the good file either
    assert callbacks == []  # no page is told of an entry that does not exist


def test_an_oversize_file_is_refused(flood, coordinator, settings, media_root):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationError, match=r"huge\.pdf is 1\.5 MB; an attachment may be at most 1 MB"):
        post_with(flood, coordinator, [upload("huge.pdf", PDF + b"0" * (1536 * 1024))])
    assert nothing_saved(media_root)


def test_the_same_file_twice_in_one_entry_is_refused(flood, coordinator, media_root):
    with pytest.raises(ValidationError, match=r"copy\.png is the same file as map\.png: attach it once"):
        post_with(flood, coordinator, [upload("map.png", png()), upload("copy.png", png())])
    assert nothing_saved(media_root)


def test_an_entry_carries_at_most_ten_files(flood, coordinator, media_root):
    files = [upload(f"page-{number}.pdf", PDF + str(number).encode()) for number in range(MAX_ATTACHMENTS + 1)]
    with pytest.raises(ValidationError, match="at most 10 files; 11 were chosen"):
        post_with(flood, coordinator, files)
    assert nothing_saved(media_root)


def test_a_correction_carries_its_own_attachments_and_the_original_keeps_its_own(flood, coordinator):
    original = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    correction = correct_entry(
        entry=original,
        by=coordinator,
        content=EntryContent(kind="situation_update", title="Shelter map, corrected", tlp="amber"),
        attachments=[upload("shelters-v2.png", png())],
    )
    assert correction.corrects == original
    assert [a.filename for a in correction.attachments.all()] == ["shelters-v2.png"]
    assert [a.filename for a in original.attachments.all()] == ["shelters.pdf"]


# --- downloading -------------------------------------------------------------------------------------


def test_an_audience_member_downloads_the_file_as_an_attachment(client, flood, liaison_officer, coordinator):
    entry = post_with(flood, liaison_officer, [upload("shelters.pdf", PDF)])  # to the county EOC
    client.force_login(coordinator)

    response = client.get(download_url(entry.attachments.get()))

    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="shelters.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response["Cache-Control"]


def test_an_image_is_downloaded_too_never_shown_inline(client, flood, liaison_officer, coordinator):
    entry = post_with(flood, liaison_officer, [upload("camera.png", png())])
    client.force_login(coordinator)
    response = client.get(download_url(entry.attachments.get()))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    body(response)


def test_an_outsider_gets_404(client, flood, coordinator, outsider):
    entry = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    client.force_login(outsider)
    assert client.get(download_url(entry.attachments.get())).status_code == 404


def test_downloads_and_refusals_are_in_the_audit_trail(client, flood, coordinator, outsider):
    from agencies.audit_models import AuditEntry

    entry = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    url = download_url(entry.attachments.get())
    client.force_login(coordinator)
    body(client.get(url))
    client.force_login(outsider)
    client.get(url)
    downloads = AuditEntry.objects.filter(action="download", item_type="eoc.feedentry", item_id=entry.pk)
    assert sorted(downloads.values_list("person__username", "outcome")) == [
        ("coordinator", "success"),
        ("outsider", "denied"),
    ]
    assert downloads.get(outcome="success").detail["attachment"] == "shelters.pdf"


def test_the_anonymous_visitor_is_sent_to_sign_in(client, flood, coordinator):
    entry = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    response = client.get(download_url(entry.attachments.get()))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


def test_an_attachment_is_reached_only_through_its_own_entry(client, flood, coordinator, liaison_officer, outsider):
    hidden = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])  # not for the outsider
    seen = post_with(flood, coordinator, [upload("map.png", png())], tlp="green")  # GREEN: every partner
    attachment = hidden.attachments.get()
    client.force_login(outsider)
    assert client.get(reverse("eoc:entry-attachment-download", args=[seen.pk, attachment.pk])).status_code == 404
    assert client.get(download_url(seen.attachments.get())).status_code == 200


def test_les_files_go_only_to_law_enforcement_not_to_tearline_readers(
    client, flood, liaison_officer, coordinator, eoc_le
):
    entry = les_entry(flood, liaison_officer, [upload("suspects.jpg", JPEG)])
    attachment = entry.attachments.get()

    client.force_login(coordinator)  # in the audience, without law-enforcement status: the tearline only
    page = client.get(f"/incidents/{flood.pk}/").content.decode()
    assert TEARLINE in page
    assert "suspects.jpg" not in page
    assert download_url(attachment) not in page
    assert client.get(download_url(attachment)).status_code == 404
    [shown] = client.get(f"/api/v1/incidents/{flood.pk}/feed/").json()["results"]
    assert shown["attachments"] == []
    api_url = reverse("feed-entry-attachment", kwargs={"pk": entry.pk, "attachment_pk": attachment.pk})
    assert client.get(api_url).status_code == 404

    client.force_login(eoc_le)
    assert "suspects.jpg" in client.get(f"/incidents/{flood.pk}/").content.decode()
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    assert body(response) == JPEG


# --- the browser --------------------------------------------------------------------------------------


def test_the_post_form_takes_files(client, flood, coordinator):
    client.force_login(coordinator)
    page = client.get(f"/incidents/{flood.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="attachments"' in page
    assert "multiple" in page


def test_posting_with_files_through_the_form_lists_them_on_the_entry(client, flood, coordinator):
    client.force_login(coordinator)
    response = client.post(
        f"/incidents/{flood.pk}/entries/",
        {
            "kind": "situation_update",
            "priority": "routine",
            "title": "Shelter map for tonight",
            "tlp": "amber",
            "attachments": [upload("shelters.pdf", PDF), upload("map.png", png())],
        },
        follow=True,
    )
    entry = FeedEntry.objects.get(title="Shelter map for tonight")
    pdf, image = entry.attachments.order_by("pk")
    page = response.content.decode()
    assert "Posted “Shelter map for tonight”." in page
    assert f'<a href="{download_url(pdf)}" download>shelters.pdf</a>' in page
    assert f'<a href="{download_url(image)}" download>map.png</a>' in page
    assert f"({len(PDF)}\xa0bytes)" in page


def test_a_refused_file_redisplays_the_form_as_typed_and_posts_nothing(client, flood, coordinator, media_root):
    client.force_login(coordinator)
    response = client.post(
        f"/incidents/{flood.pk}/entries/",
        {
            "kind": "warning",
            "priority": "flash",
            "title": "Levee breach at Smithfield",
            "body": "Evacuate the east bank now.",
            "tlp": "amber",
            "attachments": [upload("shelters.pdf", PDF), upload("evacuation-map.pdf", HTML)],
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "evacuation-map.pdf is not a PDF, PNG or JPEG file" in page
    assert 'value="Levee breach at Smithfield"' in page
    assert "Evacuate the east bank now." in page
    assert "choose the files again" in page
    assert nothing_saved(media_root)


def test_a_refused_file_on_the_eoc_wide_feed_redisplays_the_form(client, county_eoc, coordinator, media_root):
    client.force_login(coordinator)
    response = client.post(
        f"/eocs/{county_eoc.pk}/entries/",
        {"kind": "warning", "priority": "routine", "title": "Heat advisory", "tlp": "green",
         "attachments": [upload("advisory.png", SVG)]},
    )  # fmt: skip
    assert response.status_code == 200
    assert "advisory.png is not a PDF, PNG or JPEG file" in response.content.decode()
    assert 'value="Heat advisory"' in response.content.decode()
    assert nothing_saved(media_root)


def test_a_correction_through_the_browser_carries_its_own_file(client, flood, coordinator):
    original = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    client.force_login(coordinator)
    form = client.get(f"/entries/{original.pk}/correct/").content.decode()
    assert 'enctype="multipart/form-data"' in form
    response = client.post(
        f"/entries/{original.pk}/correct/",
        {"kind": "situation_update", "priority": "routine", "title": "Shelter map, corrected", "tlp": "amber",
         "attachments": [upload("shelters-v2.pdf", PDF + b"% corrected\n")]},
    )  # fmt: skip
    assert response.status_code == 302
    correction = FeedEntry.objects.get(corrects=original)
    assert [a.filename for a in correction.attachments.all()] == ["shelters-v2.pdf"]
    assert [a.filename for a in original.attachments.all()] == ["shelters.pdf"]


def test_the_polling_fragment_lists_the_files(client, flood, liaison_officer, coordinator):
    entry = post_with(flood, liaison_officer, [upload("shelters.pdf", PDF)])
    client.force_login(coordinator)
    fragment = client.get(f"/incidents/{flood.pk}/feed/fragment/").content.decode()
    assert download_url(entry.attachments.get()) in fragment


@pytest.fixture
def count_queries(client, settings, django_assert_max_num_queries):
    """How many queries a page costs, signed in as the person (session and cache kept out of the count)."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    def _count(person, path: str, at_most: int = 40) -> int:
        client.force_login(person)
        client.get(path)
        with django_assert_max_num_queries(at_most) as queries:
            assert client.get(path).status_code == 200
        return len(queries.captured_queries)

    return _count


def test_feed_pages_cost_the_same_with_attachments_on_many_entries(
    count_queries, flood, coordinator, liaison_officer, county_eoc
):
    post_with(flood, liaison_officer, [upload("first.pdf", PDF)])
    pages = [f"/incidents/{flood.pk}/", f"/eocs/{county_eoc.pk}/feed/", f"/api/v1/incidents/{flood.pk}/feed/"]
    few = {page: count_queries(coordinator, page) for page in pages}
    for number in range(25):
        files = [upload(f"map-{number}.pdf", PDF + str(number).encode()), upload(f"photo-{number}.png", png())]
        post_with(flood, liaison_officer if number % 2 else coordinator, files, title=f"update {number}")
    for page in pages:
        count_queries(coordinator, page, at_most=few[page])


# --- the API ---------------------------------------------------------------------------------------------


def test_api_posts_an_entry_with_files_in_multipart(client, flood, coordinator):
    client.force_login(coordinator)
    response = client.post(
        f"/api/v1/incidents/{flood.pk}/feed/",
        {
            "kind": "situation_update",
            "title": "Shelter map for tonight",
            "tlp": "amber",
            "caveats": ["FOUO"],
            "attachments": [upload("shelters.pdf", PDF), upload("map.png", png())],
        },
    )
    assert response.status_code == 201, response.json()
    posted = response.json()
    entry = FeedEntry.objects.get(pk=posted["id"])
    assert entry.caveats == ["FOUO"]
    pdf, image = entry.attachments.order_by("pk")
    assert posted["attachments"] == [
        {
            "id": pdf.pk,
            "filename": "shelters.pdf",
            "content_type": "application/pdf",
            "size": len(PDF),
            "download_url": f"http://testserver/api/v1/feed-entries/{entry.pk}/attachments/{pdf.pk}/",
        },
        {
            "id": image.pk,
            "filename": "map.png",
            "content_type": "image/png",
            "size": len(png()),
            "download_url": f"http://testserver/api/v1/feed-entries/{entry.pk}/attachments/{image.pk}/",
        },
    ]
    download = client.get(posted["attachments"][0]["download_url"])
    assert download.status_code == 200
    assert body(download) == PDF
    assert download["Content-Disposition"] == 'attachment; filename="shelters.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_api_feed_lists_attachments_for_full_readers(client, flood, liaison_officer, coordinator, eoc_le):
    les_entry(flood, liaison_officer, [upload("suspects.jpg", JPEG)])
    post_with(flood, liaison_officer, [upload("shelters.pdf", PDF)], title="Shelters")
    client.force_login(eoc_le)
    feed = client.get(f"/api/v1/incidents/{flood.pk}/feed/").json()["results"]
    assert {e["title"]: [a["filename"] for a in e["attachments"]] for e in feed} == {
        "Shelters": ["shelters.pdf"],
        "Copper theft ring": ["suspects.jpg"],
    }
    client.force_login(coordinator)
    feed = client.get(f"/api/v1/incidents/{flood.pk}/feed/").json()["results"]
    assert {e["title"]: [a["filename"] for a in e["attachments"]] for e in feed} == {
        "Shelters": ["shelters.pdf"],
        "Copper theft ring": [],
    }


def test_api_refuses_a_disguised_file_with_400_and_posts_nothing(client, flood, coordinator, media_root):
    client.force_login(coordinator)
    response = client.post(
        f"/api/v1/incidents/{flood.pk}/feed/",
        {"kind": "warning", "title": "Levee breach", "attachments": [upload("map.pdf", HTML)]},
    )
    assert response.status_code == 400
    [message] = response.json()["errors"]["attachments"]
    assert message.startswith("map.pdf is not a PDF, PNG or JPEG file")
    assert nothing_saved(media_root)


def test_api_download_is_404_for_an_outsider(client, flood, coordinator, outsider):
    entry = post_with(flood, coordinator, [upload("shelters.pdf", PDF)])
    client.force_login(outsider)
    url = reverse("feed-entry-attachment", kwargs={"pk": entry.pk, "attachment_pk": entry.attachments.get().pk})
    assert client.get(url).status_code == 404
