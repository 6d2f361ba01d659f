"""What the audit trail records of threat products: views, downloads, searches and STIX exports
(refusals too), publishing, updates, retractions and marking or audience changes; and the product
page's list of who viewed and downloaded it, shown to the originating center only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agencies.markings import TLP, Caveat
from agencies.models import AuditAction, AuditEntry
from sharing.services.attachments import add_attachment
from sharing.services.products import (
    ProductContent,
    approve_product,
    create_product,
    edit_product,
    retract_product,
    start_update,
    submit_for_review,
)
from tests.sharing.conftest import content

ADDRESS = "198.51.100.23"
PDF = b"%PDF-1.4\n%%EOF\n"


def only_entry(**filters) -> AuditEntry:
    found = list(AuditEntry.objects.filter(**filters))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def product(publish, analyst, county_eoc):
    return publish(analyst, audience_agencies=[county_eoc])


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_product_page_view_is_recorded_with_person_item_address_and_access(client, coordinator, product):
    client.force_login(coordinator)
    assert client.get(f"/products/{product.pk}/", REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT="Edge").status_code == 200
    view = only_entry(action=AuditAction.VIEW)
    assert (view.person, view.agency, view.item_type, view.item_id, view.item_label) == (
        coordinator,
        coordinator.agency,
        "sharing.threatproduct",
        product.pk,
        product.number,
    )
    assert (view.address, view.user_agent, view.outcome) == (ADDRESS, "Edge", "success")
    assert view.detail == {"page": "detail", "access": "full"}


def test_a_refused_product_is_recorded_as_denied(client, outsider, product):
    client.force_login(outsider)
    assert client.get(f"/products/{product.pk}/", REMOTE_ADDR=ADDRESS).status_code == 404
    denied = only_entry(action=AuditAction.VIEW)
    assert (denied.person, denied.item_id, denied.outcome, denied.address) == (outsider, product.pk, "denied", ADDRESS)
    assert client.get(f"/api/v1/products/{product.pk}/stix/").status_code == 404
    assert only_entry(action=AuditAction.EXPORT).outcome == "denied"


def test_a_download_is_recorded_and_a_refused_one_too(client, analyst, supervisor, coordinator, outsider, county_eoc):
    draft = create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    attachment = add_attachment(
        product=draft, by=analyst, uploaded_file=SimpleUploadedFile("map.pdf", PDF, "application/pdf")
    )
    submit_for_review(product=draft, by=analyst)
    product = approve_product(product=draft, reviewer=supervisor)
    url = reverse("sharing:attachment-download", args=[product.pk, attachment.pk])
    client.force_login(coordinator)
    response = client.get(url, REMOTE_ADDR=ADDRESS)
    b"".join(response.streaming_content)
    download = only_entry(action=AuditAction.DOWNLOAD)
    assert (download.person, download.item_id, download.address) == (coordinator, product.pk, ADDRESS)
    assert download.detail == {"attachment": "map.pdf", "attachment_id": attachment.pk}
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    refused = only_entry(action=AuditAction.DOWNLOAD, outcome="denied")
    assert (refused.person, refused.item_id) == (outsider, product.pk)


def test_a_search_is_recorded_with_its_words_and_a_plain_list_is_not(client, coordinator, product):
    client.force_login(coordinator)
    client.get("/products/")
    assert not AuditEntry.objects.filter(action=AuditAction.SEARCH).exists()
    client.get("/products/", {"q": "copper"}, REMOTE_ADDR=ADDRESS)
    search = only_entry(action=AuditAction.SEARCH)
    assert (search.person, search.address, search.detail["q"], search.detail["results"]) == (
        coordinator,
        ADDRESS,
        "copper",
        1,
    )
    client.get("/api/v1/products/", {"q": "substation"})
    assert AuditEntry.objects.filter(action=AuditAction.SEARCH, detail__api="list").count() == 1


def test_api_read_and_stix_export_are_recorded(client, coordinator, product):
    client.force_login(coordinator)
    client.get(f"/api/v1/products/{product.pk}/", REMOTE_ADDR=ADDRESS)
    assert only_entry(action=AuditAction.VIEW).detail["api"] == "retrieve"
    assert client.get(f"/api/v1/products/{product.pk}/stix/").status_code == 200
    export = only_entry(action=AuditAction.EXPORT)
    assert (export.person, export.item_id, export.detail["format"]) == (coordinator, product.pk, "stix")


def test_publish_update_and_retract_are_recorded_in_their_transaction(analyst, supervisor, county_eoc, product):
    published = only_entry(action=AuditAction.PUBLISH)
    assert (published.person, published.item_id, published.item_label) == (supervisor, product.pk, product.number)
    draft = start_update(product=product, by=analyst)
    submit_for_review(product=draft, by=analyst)
    second = approve_product(product=draft, reviewer=supervisor)
    updated = only_entry(action=AuditAction.UPDATE)
    assert (updated.item_id, updated.item_label, updated.detail["version"]) == (second.pk, second.display_number, 2)
    retract_product(product=second, by=supervisor, reason="Wrong substation named.")
    retracted = only_entry(action=AuditAction.RETRACT)
    assert (retracted.person, retracted.detail) == (supervisor, {"reason": "Wrong substation named."})


def test_a_refused_publish_leaves_no_entry(analyst, supervisor):
    draft = create_product(author=analyst, content=content())
    with pytest.raises(Exception, match="cannot approve"):
        approve_product(product=draft, reviewer=supervisor)
    assert not AuditEntry.objects.filter(action=AuditAction.PUBLISH).exists()


def test_marking_and_audience_changes_are_recorded_with_before_and_after(analyst, county_eoc, outside_agency):
    draft = create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    changed = ProductContent.of(draft)
    changed.tlp = TLP.AMBER_STRICT
    changed.caveats = [Caveat.FOUO]
    changed.audience_agencies = [county_eoc, outside_agency]
    draft = edit_product(product=draft, by=analyst, content=changed)
    markings = only_entry(action=AuditAction.MARKINGS_CHANGED)
    assert markings.detail == {
        "from": {"tlp": "amber", "caveats": []},
        "to": {"tlp": "amber_strict", "caveats": ["FOUO"]},
    }
    audience = only_entry(action=AuditAction.AUDIENCE_CHANGED)
    assert audience.detail == {
        "from": {"audience_agencies": [county_eoc.pk]},
        "to": {"audience_agencies": sorted([county_eoc.pk, outside_agency.pk])},
    }
    assert markings.person == analyst
    edit_product(product=draft, by=analyst, content=ProductContent.of(draft))
    assert AuditEntry.objects.filter(action=AuditAction.MARKINGS_CHANGED).count() == 1


def test_the_originator_sees_who_viewed_and_downloaded_it(client, analyst, coordinator, product):
    client.force_login(coordinator)
    client.get(f"/products/{product.pk}/")
    client.force_login(analyst)
    page = client.get(f"/products/{product.pk}/").content.decode()
    assert "Who viewed and downloaded it" in page
    assert page.count('data-testid="reader-row"') == 2  # the coordinator, then the analyst's own view
    readers = page[page.index('data-testid="readers"') :]
    assert str(coordinator) in readers
    assert coordinator.agency.name in readers


def test_a_reader_outside_the_originating_center_does_not_see_who_else_read_it(client, coordinator, product):
    client.force_login(coordinator)
    page = client.get(f"/products/{product.pk}/").content.decode()
    assert "Who viewed and downloaded it" not in page
    assert 'data-testid="readers"' not in page


def test_the_product_page_with_its_readers_costs_a_fixed_number_of_queries(
    client, analyst, product, django_assert_max_num_queries, django_user_model
):
    from tests.factories import UserFactory

    for number in range(12):
        reader = UserFactory(username=f"reader{number}", agency=product.audience_agencies.first())
        client.force_login(reader)
        client.get(f"/products/{product.pk}/")
    client.force_login(analyst)
    client.get(f"/products/{product.pk}/")
    with django_assert_max_num_queries(30) as captured:
        client.get(f"/products/{product.pk}/")
    fewer = len(captured.captured_queries)
    client.force_login(reader)
    client.get(f"/products/{product.pk}/")
    client.force_login(analyst)
    with django_assert_max_num_queries(fewer):
        client.get(f"/products/{product.pk}/")
