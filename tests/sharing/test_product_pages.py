"""The threat product pages: list and search, detail, the form and its previews, the lifecycle actions,
the review queue, comparing versions and the print view — as each person sees them."""

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from agencies.markings import TLP, Caveat
from agencies.models import Agency, Role
from agencies.visibility import person_may_see_anything
from sharing.audience import audience_reach
from sharing.models import ProductAttachment, ProductRead, ThreatProduct
from sharing.services import products as services
from tests.factories import AgencyFactory, UserFactory
from tests.second_factor import VerifiedClient as Client
from tests.sharing.conftest import content

S = ThreatProduct.State


@pytest.fixture
def signed_in(db):
    """A fresh browser session for a person (the sign-in form itself is tested in tests/agencies)."""

    def _signed_in(person):
        client = Client()
        client.force_login(person)
        return client

    return _signed_in


def page_text(response) -> str:
    """The visible text of a page: tags dropped, whitespace collapsed."""
    return text_of(response.content.decode())


def text_of(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def rows(response) -> list[str]:
    return re.findall(r'(?s)<tr data-testid="product-row".*?</tr>', response.content.decode())


def assert_no_inline_code(response) -> None:
    """Nothing a Content-Security-Policy without 'unsafe-inline' would block."""
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\sstyle=", html), "style= attribute"
    assert not re.search(r"\son[a-z]+=", html), "on*= handler"


@pytest.fixture
def eoc_le(county_eoc):
    """Someone at the county EOC with law-enforcement status."""
    return UserFactory(username="eoc.le", agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True)


@pytest.fixture
def second_analyst(fusion_center):
    return UserFactory(username="analyst2", agency=fusion_center, roles=[Role.ANALYST], is_law_enforcement=True)


@pytest.fixture
def second_supervisor(fusion_center):
    return UserFactory(
        username="supervisor2", agency=fusion_center, roles=[Role.SUPERVISOR, Role.ANALYST], is_law_enforcement=True
    )


def draft(author, **overrides):
    return services.create_product(author=author, content=content(**overrides))


def in_review(author, **overrides):
    product = draft(author, **overrides)
    return services.submit_for_review(product=product, by=author)


# ---- The product list ----------------------------------------------------------------------------------


def test_list_shows_what_the_person_may_see_with_number_marking_originator_and_state(
    analyst, coordinator, county_eoc, outside_agency, publish, signed_in
):
    shared = publish(analyst, audience_agencies=[county_eoc], title="Copper theft at substations")
    publish(analyst, audience_agencies=[outside_agency], title="Only for the outside police")
    draft(analyst, audience_agencies=[county_eoc], title="A draft nobody else sees")

    response = signed_in(coordinator).get("/products/")

    assert response.status_code == 200
    assert len(rows(response)) == 1
    row = text_of(rows(response)[0])
    assert shared.number in row
    assert "Copper theft at substations" in row
    assert "Intelligence bulletin" in row
    assert "TLP:AMBER" in row
    assert "SFC" in row
    assert "Published" in row
    assert f'href="/products/{shared.pk}/"' in rows(response)[0]
    assert "Only for the outside police" not in response.content.decode()
    assert "A draft nobody else sees" not in response.content.decode()
    assert_no_inline_code(response)


def test_list_filters_by_kind_tlp_tag_status_originator_and_dates(
    analyst, supervisor, coordinator, county_eoc, publish, signed_in
):
    bolo = publish(analyst, audience_agencies=[county_eoc], title="Stolen van BOLO", kind=ThreatProduct.Kind.BOLO)
    green = publish(analyst, audience_agencies=[county_eoc], title="Flood awareness", tlp=TLP.GREEN, tags=["flood"])
    old = publish(analyst, audience_agencies=[county_eoc], title="Last year's bulletin")
    ThreatProduct.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=400))
    retracted = publish(analyst, audience_agencies=[county_eoc], title="Withdrawn bulletin")
    services.retract_product(product=retracted, by=supervisor, reason="Source withdrew it.")
    other_center = AgencyFactory(
        name="Other Fusion Center", acronym="OFC", kind=Agency.Kind.FUSION_CENTER, jurisdiction=county_eoc.jurisdiction
    )
    client = signed_in(coordinator)

    def titles(query: str) -> set[str]:
        response = client.get(f"/products/?{query}")
        assert response.status_code == 200
        return {
            t
            for t in ("Stolen van BOLO", "Flood awareness", "Last year's bulletin", "Withdrawn bulletin")
            if t in page_text(response)
        }

    assert titles("") == {"Stolen van BOLO", "Flood awareness", "Last year's bulletin", "Withdrawn bulletin"}
    assert titles("kind=bolo") == {"Stolen van BOLO"}
    assert titles("tlp=green") == {"Flood awareness"}
    assert titles("tag=flood") == {"Flood awareness"}
    assert titles("state=retracted") == {"Withdrawn bulletin"}
    assert titles(f"originator={other_center.pk}") == set()
    assert titles(f"originator={bolo.originating_agency_id}") == titles("")
    today = timezone.localdate()
    assert titles(f"published_from={today - timedelta(days=30)}") == {
        "Stolen van BOLO",
        "Flood awareness",
        "Withdrawn bulletin",
    }
    assert titles(f"published_to={today - timedelta(days=300)}") == {"Last year's bulletin"}
    assert green.pk != bolo.pk


def test_list_shows_retracted_superseded_and_expired_states(
    analyst, supervisor, coordinator, county_eoc, publish, signed_in
):
    expired = publish(analyst, audience_agencies=[county_eoc], title="Past event")
    ThreatProduct.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    first = publish(analyst, audience_agencies=[county_eoc], title="First version")
    update = services.start_update(product=first, by=analyst)
    services.submit_for_review(product=update, by=analyst)
    services.approve_product(product=update, reviewer=supervisor)
    client = signed_in(coordinator)

    default = " ".join(rows(client.get("/products/")))
    assert "Past event" not in default
    assert "Superseded" not in default

    with_expired = " ".join(rows(client.get("/products/?include_expired=on")))
    assert "Past event" in with_expired
    assert "Expired" in with_expired
    superseded = " ".join(rows(client.get("/products/?state=superseded")))
    assert "First version" in superseded
    assert "Superseded" in superseded


def test_a_mistyped_filter_is_named_and_kept_and_the_page_still_lists(
    analyst, coordinator, county_eoc, publish, signed_in
):
    publish(analyst, audience_agencies=[county_eoc], title="Copper theft at substations")

    response = signed_in(coordinator).get("/products/?published_from=31/02/2026&tag=copper")

    assert response.status_code == 200
    assert "Enter a valid date." in page_text(response)
    assert 'value="31/02/2026"' in response.content.decode()
    assert 'value="copper"' in response.content.decode()


def test_list_paginates_by_25(analyst, coordinator, county_eoc, publish, signed_in):
    for number in range(27):
        publish(analyst, audience_agencies=[county_eoc], title=f"Bulletin number {number:02d}")
    client = signed_in(coordinator)

    first = client.get("/products/")
    second = client.get("/products/?page=2")

    assert len(rows(first)) == 25
    assert len(rows(second)) == 2
    assert "Page 1 of 2" in page_text(first)
    assert "27 products" in page_text(first)
    # The newest first: the last two published are on page one, the first two on page two.
    assert "Bulletin number 00" in page_text(second)
    assert "Bulletin number 26" in page_text(first)
    assert 'href="?page=2"' in first.content.decode()


def test_unread_mark_until_the_person_opens_the_product(analyst, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])
    client = signed_in(coordinator)

    assert 'data-testid="unread"' in rows(client.get("/products/"))[0]

    assert client.get(f"/products/{product.pk}/").status_code == 200
    client.get(f"/products/{product.pk}/")

    assert 'data-testid="unread"' not in rows(client.get("/products/"))[0]
    assert ProductRead.objects.filter(product=product, person=coordinator).count() == 1
    # Someone else's reading is their own.
    assert not ProductRead.objects.filter(product=product, person=analyst).exists()


# ---- Search ----------------------------------------------------------------------------------------------


def test_search_ranks_title_above_body_and_highlights_matches(analyst, coordinator, county_eoc, publish, signed_in):
    in_body = publish(
        analyst,
        audience_agencies=[county_eoc],
        title="Weekly roundup",
        body="Among other things, a drone flew over the water plant.",
    )
    in_title = publish(
        analyst, audience_agencies=[county_eoc], title="Drone sightings over the water plant", body="Three reports."
    )
    publish(analyst, audience_agencies=[county_eoc], title="Copper theft", body="Nothing about it.")

    response = signed_in(coordinator).get("/products/?q=drones")

    found = rows(response)
    assert len(found) == 2
    assert in_title.title in found[0]
    assert in_body.title in found[1]
    assert "<mark>drone</mark>" in found[1]
    assert "most relevant first" in page_text(response)


def test_search_combines_with_filters(analyst, coordinator, county_eoc, publish, signed_in):
    publish(analyst, audience_agencies=[county_eoc], title="Drone BOLO", kind=ThreatProduct.Kind.BOLO)
    publish(analyst, audience_agencies=[county_eoc], title="Drone bulletin")

    response = signed_in(coordinator).get("/products/?q=drone&kind=bolo")

    assert len(rows(response)) == 1
    assert "Drone BOLO" in rows(response)[0]


def test_a_search_with_more_matches_than_it_ranks_says_so(
    analyst, coordinator, county_eoc, publish, signed_in, monkeypatch
):
    monkeypatch.setattr("sharing.selectors.SEARCH_CANDIDATES", 2)
    for number in range(3):
        publish(analyst, audience_agencies=[county_eoc], title=f"Drone sighting {number}")

    response = signed_in(coordinator).get("/products/?q=drone")

    shown = rows(response)
    assert len(shown) == 2
    assert "Drone sighting 0" not in " ".join(shown)
    assert (
        "More than 2 products match: the 2 newest of them, most relevant first. Add words or filters to narrow "
        "the search." in page_text(response)
    )


def test_search_never_matches_or_shows_the_full_text_to_a_tearline_reader(
    analyst, coordinator, eoc_le, county_eoc, publish, signed_in
):
    publish(
        analyst,
        audience_agencies=[county_eoc],
        title="Substation security",
        summary="Informant reporting on a planned intrusion.",
        body="The confidential informant named the crew.",
        caveats=[Caveat.LES],
        tearline="Be alert to people photographing substations.",
    )

    informant_for_coordinator = signed_in(coordinator).get("/products/?q=informant")
    photograph_for_coordinator = signed_in(coordinator).get("/products/?q=photographing")
    informant_for_law_enforcement = signed_in(eoc_le).get("/products/?q=informant")

    assert rows(informant_for_coordinator) == []
    assert "No product you may see matches" in page_text(informant_for_coordinator)
    found = rows(photograph_for_coordinator)
    assert len(found) == 1
    assert "<mark>photographing</mark>" in found[0]
    assert "informant" not in photograph_for_coordinator.content.decode().lower()
    assert len(rows(informant_for_law_enforcement)) == 1
    assert "<mark>informant</mark>" in rows(informant_for_law_enforcement)[0]


def test_search_snippets_are_escaped(analyst, coordinator, county_eoc, publish, signed_in):
    publish(analyst, audience_agencies=[county_eoc], body="Pipeline <<script>>alert(1)<</script>> where 3 < 5 & 6.")

    response = signed_in(coordinator).get("/products/?q=pipeline")

    row = rows(response)[0]
    assert "<mark>Pipeline</mark>" in row
    assert "<script" not in row
    assert "3 &lt; 5 &amp; 6" in row


def test_every_page_has_a_labelled_search_box_for_products(coordinator, signed_in):
    response = signed_in(coordinator).get("/")

    html = response.content.decode()
    assert re.search(r'<form[^>]*role="search"[^>]*action="/products/"', html)
    assert '<label class="usa-sr-only" for="site-search">Search products</label>' in html
    assert 'name="q"' in html


# ---- The detail page --------------------------------------------------------------------------------------


def test_detail_in_full_has_banners_summary_rendered_body_and_tearline(
    analyst, coordinator, county_eoc, publish, signed_in
):
    product = publish(analyst, audience_agencies=[county_eoc], tearline="Substations in the county were hit.")

    response = signed_in(coordinator).get(f"/products/{product.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="marking-banner"') == 2
    assert 'aria-label="Handling marking (top)"' in html
    assert 'aria-label="Handling marking (bottom)"' in html
    text = page_text(response)
    assert "A series of copper thefts at substations in the county." in text
    assert "<strong>ground wires</strong>" in html
    assert "Tearline — releasable" in text
    assert "Substations in the county were hit." in text
    assert product.number in text
    assert_no_inline_code(response)


def test_detail_for_a_tearline_reader_shows_only_the_tearline(analyst, coordinator, county_eoc, publish, signed_in):
    product = publish(
        analyst,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        summary="Sensitive summary from an informant.",
        body="Sensitive body naming the source.",
        tearline="Be alert around substations.",
        tags=["copper"],
    )

    response = signed_in(coordinator).get(f"/products/{product.pk}/")

    assert response.status_code == 200
    text = page_text(response)
    assert product.title in text
    assert product.number in text
    assert "TLP:AMBER" in text
    assert "LES" in text
    assert "Be alert around substations." in text
    assert "law enforcement sensitive (LES)" in text
    assert "Sensitive" not in text
    assert "informant" not in text
    assert "Attachments" not in text
    assert "History" not in text


def test_detail_is_not_found_for_an_outsider_and_asks_a_stranger_to_sign_in(
    analyst, outsider, county_eoc, publish, signed_in, client
):
    product = publish(analyst, audience_agencies=[county_eoc])

    assert signed_in(outsider).get(f"/products/{product.pk}/").status_code == 404
    assert signed_in(outsider).get("/products/999999/").status_code == 404
    anonymous = client.get(f"/products/{product.pk}/")
    assert anonymous.status_code == 302
    assert anonymous.url.startswith("/sign-in/")
    assert not ProductRead.objects.filter(person=outsider).exists()


def test_a_superseded_version_links_the_newest(analyst, supervisor, coordinator, county_eoc, publish, signed_in):
    first = publish(analyst, audience_agencies=[county_eoc])
    update = services.start_update(product=first, by=analyst)
    services.submit_for_review(product=update, by=analyst)
    second = services.approve_product(product=update, reviewer=supervisor)

    response = signed_in(coordinator).get(f"/products/{first.pk}/")

    assert "A newer version exists" in page_text(response)
    assert f'href="/products/{second.pk}/"' in response.content.decode()
    newest = signed_in(coordinator).get(f"/products/{second.pk}/")
    assert "A newer version exists" not in page_text(newest)
    versions = re.search(r'(?s)data-testid="versions".*?</section>', newest.content.decode()).group(0)
    assert f"{first.number} v2" in versions
    assert f'href="/products/{first.pk}/compare/{second.pk}/"' in versions


def test_a_retracted_product_shows_its_tombstone(analyst, supervisor, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])
    services.retract_product(product=product, by=supervisor, reason="The source withdrew the report.")

    response = signed_in(coordinator).get(f"/products/{product.pk}/")

    tombstone = re.search(r'(?s)data-testid="tombstone".*?</div>\s*</div>', response.content.decode()).group(0)
    assert "Retracted on" in tombstone
    assert "The source withdrew the report." in tombstone


def test_history_shows_review_comments_to_the_center_only(analyst, supervisor, coordinator, county_eoc, signed_in):
    product = in_review(analyst, audience_agencies=[county_eoc])
    services.return_product(product=product, reviewer=supervisor, comment="Cite the source report.")
    services.submit_for_review(product=product, by=analyst)
    services.approve_product(product=product, reviewer=supervisor, comment="Good to go.")

    center = page_text(signed_in(analyst).get(f"/products/{product.pk}/"))
    partner = page_text(signed_in(coordinator).get(f"/products/{product.pk}/"))

    assert "Returned with comments" in center
    assert "Cite the source report." in center
    assert "Approved and published" in partner
    assert str(supervisor) in partner
    assert "Cite the source report." not in partner
    assert "Returned with comments" not in partner


def test_detail_lists_attachments_for_full_readers_only(analyst, coordinator, eoc_le, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc], caveats=[Caveat.LES], tearline="Stay alert.")
    attachment = ProductAttachment.objects.create(
        product=product,
        file="attachments/ab/" + "ab" * 32,
        filename="site-map.pdf",
        content_type="application/pdf",
        size=2048,
        sha256="ab" * 32,
        uploaded_by=analyst,
    )

    full = signed_in(eoc_le).get(f"/products/{product.pk}/")
    tearline = signed_in(coordinator).get(f"/products/{product.pk}/")

    attachments = re.search(r'(?s)data-testid="attachments".*?</section>', full.content.decode()).group(0)
    assert "site-map.pdf" in attachments
    assert f'href="/products/{product.pk}/attachments/{attachment.pk}/"' in attachments
    assert "2.0\xa0KB" in attachments
    assert "site-map.pdf" not in tearline.content.decode()


def test_the_audience_is_shown_to_the_center_not_to_recipients(analyst, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc], audience_levels=["private_sector"])

    center = signed_in(analyst).get(f"/products/{product.pk}/").content.decode()
    audience = text_of(re.search(r'(?s)data-testid="audience".*?</section>', center).group(0))
    assert "County EOC" in audience
    assert "Private sector" in audience
    assert 'data-testid="audience"' not in signed_in(coordinator).get(f"/products/{product.pk}/").content.decode()


# ---- Actions offered on the detail page ------------------------------------------------------------------


def actions_of(response) -> str:
    return re.search(r'(?s)data-testid="actions".*?</div>', response.content.decode()).group(0)


def test_buttons_follow_role_and_state(analyst, supervisor, coordinator, county_eoc, publish, signed_in):
    waiting = in_review(analyst, audience_agencies=[county_eoc])
    published = publish(analyst, audience_agencies=[county_eoc])
    own_draft = draft(analyst, audience_agencies=[county_eoc])

    assert "Approve and publish" in actions_of(signed_in(supervisor).get(f"/products/{waiting.pk}/"))
    assert "Return with comments" in actions_of(signed_in(supervisor).get(f"/products/{waiting.pk}/"))
    assert "Approve" not in actions_of(signed_in(analyst).get(f"/products/{waiting.pk}/"))
    author_view = signed_in(analyst).get(f"/products/{own_draft.pk}/")
    assert "Edit draft" in actions_of(author_view)
    assert "Submit for review" in page_text(author_view)
    supervisor_published = actions_of(signed_in(supervisor).get(f"/products/{published.pk}/"))
    assert "Start an update" in supervisor_published
    assert "Retract" in supervisor_published
    analyst_published = actions_of(signed_in(analyst).get(f"/products/{published.pk}/"))
    assert "Start an update" in analyst_published
    assert "Retract" not in analyst_published
    partner = actions_of(signed_in(coordinator).get(f"/products/{published.pk}/"))
    assert "Start an update" not in partner
    assert "Retract" not in partner
    assert "Edit" not in partner


# ---- Lifecycle actions -----------------------------------------------------------------------------------


def test_author_submits_a_draft_for_review(analyst, county_eoc, signed_in):
    product = draft(analyst, audience_agencies=[county_eoc])
    client = signed_in(analyst)

    response = client.post(f"/products/{product.pk}/submit/", {"comment": "Ready."}, follow=True)

    assert response.redirect_chain[-1][0] == f"/products/{product.pk}/"
    assert "Submitted for review." in page_text(response)
    product.refresh_from_db()
    assert product.state == S.IN_REVIEW
    assert product.transitions.last().comment == "Ready."


def test_people_outside_the_center_cannot_even_find_a_draft_to_submit(
    analyst, coordinator, liaison_officer, county_eoc, signed_in
):
    product = draft(analyst, audience_agencies=[county_eoc])

    assert signed_in(coordinator).post(f"/products/{product.pk}/submit/").status_code == 404
    assert signed_in(liaison_officer).get(f"/products/{product.pk}/submit/").status_code == 404
    product.refresh_from_db()
    assert product.state == S.DRAFT


def test_a_draft_whose_content_no_longer_passes_is_not_submitted_and_says_why(analyst, county_eoc, signed_in):
    product = draft(analyst, audience_agencies=[county_eoc])
    ThreatProduct.objects.filter(pk=product.pk).update(release_reason="")

    response = signed_in(analyst).post(f"/products/{product.pk}/submit/", {"comment": "Please review."})

    assert response.status_code == 200
    assert "record the reason for release" in page_text(response)
    assert "Please review." in response.content.decode()
    product.refresh_from_db()
    assert product.state == S.DRAFT


def test_supervisor_approves_from_the_confirmation_page(analyst, supervisor, county_eoc, signed_in):
    product = in_review(analyst, audience_agencies=[county_eoc])
    client = signed_in(supervisor)

    confirmation = client.get(f"/products/{product.pk}/approve/")
    assert confirmation.status_code == 200
    assert "Approve and publish" in page_text(confirmation)
    assert confirmation.content.decode().count('data-testid="marking-banner"') == 2

    response = client.post(f"/products/{product.pk}/approve/", {"comment": "Fine."}, follow=True)

    product.refresh_from_db()
    assert product.state == S.PUBLISHED
    assert product.reviewer == supervisor
    assert f"Approved and published as {product.number}." in page_text(response)


@pytest.mark.parametrize("person", ["analyst", "coordinator", "author_supervisor"])
def test_others_may_not_approve(person, analyst, supervisor, coordinator, county_eoc, signed_in):
    author = supervisor if person == "author_supervisor" else analyst
    product = in_review(author, audience_agencies=[county_eoc])
    people = {"analyst": analyst, "coordinator": coordinator, "author_supervisor": supervisor}
    client = signed_in(people[person])

    expected = 404 if person == "coordinator" else 403
    assert client.get(f"/products/{product.pk}/approve/").status_code == expected
    assert client.post(f"/products/{product.pk}/approve/").status_code == expected
    product.refresh_from_db()
    assert product.state == S.IN_REVIEW


def test_approving_what_is_already_published_says_so(analyst, supervisor, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])

    response = signed_in(supervisor).post(f"/products/{product.pk}/approve/", follow=True)

    assert response.redirect_chain[-1][0] == f"/products/{product.pk}/"
    assert "You cannot approve a product that is published." in page_text(response)


def test_returning_needs_a_comment_and_keeps_what_was_typed(analyst, supervisor, county_eoc, signed_in):
    product = in_review(analyst, audience_agencies=[county_eoc])
    client = signed_in(supervisor)

    empty = client.post(f"/products/{product.pk}/return/", {"comment": "   "})

    assert empty.status_code == 200
    assert "Say what the author should change." in page_text(empty)
    assert 'aria-invalid="true"' in empty.content.decode()
    product.refresh_from_db()
    assert product.state == S.IN_REVIEW

    done = client.post(f"/products/{product.pk}/return/", {"comment": "Cite the <source>."}, follow=True)

    assert "Returned to the author with your comments." in page_text(done)
    product.refresh_from_db()
    assert product.state == S.DRAFT
    assert product.transitions.last().comment == "Cite the <source>."
    assert "Cite the &lt;source&gt;." in done.content.decode()


def test_analyst_starts_an_update_and_lands_on_its_form(analyst, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])
    client = signed_in(analyst)

    assert client.get(f"/products/{product.pk}/update/").status_code == 200
    response = client.post(f"/products/{product.pk}/update/")

    update = ThreatProduct.objects.get(previous_version=product)
    assert response.status_code == 302
    assert response.url == f"/products/{update.pk}/edit/"
    assert (update.version, update.state) == (2, S.DRAFT)
    detail = client.get(f"/products/{product.pk}/")
    assert "Version 2 is being written" in page_text(detail)
    assert "Start an update" not in actions_of(detail)

    again = client.post(f"/products/{product.pk}/update/", follow=True)
    assert again.redirect_chain[-1][0] == f"/products/{product.pk}/"
    assert "An update of this version is already being written." in page_text(again)
    assert ThreatProduct.objects.filter(number=product.number).count() == 2

    assert signed_in(coordinator).post(f"/products/{product.pk}/update/").status_code == 403


def test_retracting_needs_a_reason_and_a_supervisor(analyst, supervisor, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])

    assert signed_in(analyst).post(f"/products/{product.pk}/retract/", {"reason": "x"}).status_code == 403
    assert signed_in(coordinator).get(f"/products/{product.pk}/retract/").status_code == 403
    client = signed_in(supervisor)
    page = client.get(f"/products/{product.pk}/retract/")
    assert "Reason for retraction" in page_text(page)
    empty = client.post(f"/products/{product.pk}/retract/", {"reason": ""})
    assert empty.status_code == 200
    assert "Say why the product is retracted" in page_text(empty)
    product.refresh_from_db()
    assert product.state == S.PUBLISHED

    done = client.post(f"/products/{product.pk}/retract/", {"reason": "Source withdrew it."}, follow=True)

    product.refresh_from_db()
    assert product.state == S.RETRACTED
    assert product.retraction_reason == "Source withdrew it."
    assert "Retracted. Recipients are told why." in page_text(done)
    assert "Source withdrew it." in page_text(done)


# ---- The product form --------------------------------------------------------------------------------------


def form_data(**overrides) -> dict:
    data = {
        "kind": ThreatProduct.Kind.SITUATIONAL_AWARENESS,
        "title": "Flooding closes Route 9",
        "summary": "Route 9 is closed at the river crossing.",
        "body": "Expect **delays** until Friday.",
        "tearline": "",
        "tlp": TLP.GREEN,
        "tags": "flood, roads , flood",
        "release_reason": "Partners plan around the closure.",
        "then": "save",
    }
    data.update(overrides)
    return data


def test_analyst_creates_a_draft(analyst, county_eoc, county, signed_in):
    client = signed_in(analyst)
    page = client.get("/products/new/")
    assert page.status_code == 200
    assert 'hx-post="/products/preview/"' in page.content.decode()
    assert 'hx-post="/products/audience-preview/"' in page.content.decode()
    assert_no_inline_code(page)

    response = client.post(
        "/products/new/",
        form_data(
            audience_agencies=[county_eoc.pk],
            audience_jurisdictions=[county.pk],
            audience_levels=["local"],
            caveats=["FOUO"],
            effective_at="2026-12-01T08:00",
        ),
    )

    product = ThreatProduct.objects.get()
    assert response.status_code == 302
    assert response.url == f"/products/{product.pk}/"
    assert product.state == S.DRAFT
    assert product.author == analyst
    assert product.tags == ["flood", "roads"]
    assert product.caveats == ["FOUO"]
    assert list(product.audience_agencies.all()) == [county_eoc]
    assert list(product.audience_jurisdictions.all()) == [county]
    assert product.audience_levels == ["local"]
    assert timezone.localtime(product.effective_at).strftime("%Y-%m-%d %H:%M") == "2026-12-01 08:00"


def test_save_and_submit_sends_the_draft_to_review(analyst, county_eoc, signed_in):
    response = signed_in(analyst).post(
        "/products/new/", form_data(audience_agencies=[county_eoc.pk], then="submit"), follow=True
    )

    assert "Draft submitted for review." in page_text(response)
    assert ThreatProduct.objects.get().state == S.IN_REVIEW


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"tlp": TLP.RED}, "audience_people", "TLP:RED goes to named people only: name at least one recipient."),
        ({"caveats": ["LES"], "tlp": TLP.AMBER}, "tearline", "Write a tearline for them"),
        ({"title": ""}, "title", "Give the product a title."),
        ({"release_reason": ""}, "release_reason", "record the reason for release"),
        ({"is_criminal_intelligence": "on"}, "criminal_predicate", "28 CFR Part 23"),
        ({"expires_at": "next week"}, "expires_at", "Enter a valid date/time."),
        ({"tlp": "purple"}, "tlp", "Select a valid choice."),
    ],
)
def test_bad_input_is_named_on_its_field_and_nothing_typed_is_lost(
    overrides, field, message, analyst, coordinator, county_eoc, signed_in
):
    data = form_data(audience_agencies=[county_eoc.pk], body="My *careful* analysis.", **overrides)

    response = signed_in(analyst).post("/products/new/", data)

    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(rf'<span class="usa-error-message" id="id_{field}-error" role="alert">([^<]*)</span>', html)
    assert error, f"no error message on {field}"
    assert message in error.group(1)
    assert "My *careful* analysis." in html
    assert f'<option value="{county_eoc.pk}" selected>' in html
    if overrides.get("title") != "":
        assert 'value="Flooding closes Route 9"' in html
    assert not ThreatProduct.objects.exists()


def test_only_fusion_center_writers_open_the_form(coordinator, liaison_officer, signed_in):
    assert signed_in(coordinator).get("/products/new/").status_code == 403
    assert signed_in(liaison_officer).post("/products/new/", form_data()).status_code == 403
    assert not ThreatProduct.objects.exists()


def test_editing_a_draft_shows_its_content_and_saves_changes(analyst, second_analyst, county_eoc, signed_in):
    product = draft(analyst, audience_agencies=[county_eoc], tags=["copper", "grid"])
    client = signed_in(second_analyst)

    page = client.get(f"/products/{product.pk}/edit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="Copper theft at electrical substations"' in html
    assert 'value="copper, grid"' in html
    assert f'<option value="{county_eoc.pk}" selected>' in html
    assert "<strong>ground wires</strong>" in html  # the body preview, rendered at once

    response = client.post(
        f"/products/{product.pk}/edit/",
        form_data(title="Copper theft: a fourth site", tlp=TLP.AMBER, audience_agencies=[county_eoc.pk]),
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.title == "Copper theft: a fourth site"
    assert product.state == S.DRAFT


def test_a_published_version_is_not_edited(analyst, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])
    client = signed_in(analyst)

    response = client.post(f"/products/{product.pk}/edit/", form_data(title="Changed"), follow=True)

    assert response.redirect_chain[-1][0] == f"/products/{product.pk}/"
    assert "You cannot edit a product that is published." in page_text(response)
    product.refresh_from_db()
    assert product.title == "Copper theft at electrical substations"


def test_a_partner_may_not_edit_what_they_can_read(analyst, coordinator, county_eoc, publish, signed_in):
    product = publish(analyst, audience_agencies=[county_eoc])

    assert signed_in(coordinator).get(f"/products/{product.pk}/edit/").status_code == 403


# ---- Previews ----------------------------------------------------------------------------------------------


def test_markdown_preview_returns_sanitised_html(analyst, coordinator, signed_in):
    client = signed_in(analyst)

    response = client.post(
        "/products/preview/",
        {
            "body": "**Bold** <script>alert(1)</script> [x](javascript:alert(2))",
            "tearline": "_tear_",
            "preview": "body",
        },
    )
    tearline = client.post("/products/preview/", {"body": "ignored", "tearline": "_tear_", "preview": "tearline"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<em>tear</em>" in tearline.content.decode()
    assert client.get("/products/preview/").status_code == 405
    assert signed_in(coordinator).post("/products/preview/", {"body": "x"}).status_code == 403


def test_audience_preview_counts_people_agencies_and_tearline_readers(
    analyst, coordinator, eoc_le, county_eoc, outsider, signed_in
):
    client = signed_in(analyst)

    amber = client.post("/products/audience-preview/", {"tlp": TLP.AMBER, "audience_agencies": [county_eoc.pk]})
    les = client.post(
        "/products/audience-preview/",
        {"tlp": TLP.AMBER, "audience_agencies": [county_eoc.pk], "caveats": ["LES"], "tearline": "Be alert."},
    )
    nobody = client.post("/products/audience-preview/", {"tlp": TLP.GREEN})
    no_tlp = client.post("/products/audience-preview/", {})

    assert "2 people in 1 agency will receive it." in page_text(amber)
    assert "2 people in 1 agency will receive it; 1 of them get only the tearline." in page_text(les)
    assert "Nobody outside your agency will receive it" in page_text(nobody)
    assert "Choose a TLP level" in page_text(no_tlp)
    assert signed_in(coordinator).post("/products/audience-preview/", {"tlp": TLP.GREEN}).status_code == 403


@pytest.fixture
def region(fusion_center, state, county, other_county, county_eoc):
    """People of every kind the audience rules tell apart."""
    city = county.children.create(name="County Seat", kind="city", fips_code="3799998")
    police = AgencyFactory(name="County Police", acronym="CPD", jurisdiction=county)
    fire = AgencyFactory(
        name="City Fire", acronym="CFD", jurisdiction=city, kind=Agency.Kind.FIRE, discipline=Agency.Discipline.FIRE
    )
    utility = AgencyFactory(
        name="Utility",
        acronym="UTIL",
        jurisdiction=other_county,
        level=Agency.Level.PRIVATE_SECTOR,
        kind=Agency.Kind.CRITICAL_INFRASTRUCTURE,
        discipline=Agency.Discipline.CRITICAL_INFRASTRUCTURE,
    )
    far = AgencyFactory(name="Far Police", acronym="FPD", jurisdiction=other_county)
    dormant = AgencyFactory(name="Dormant", acronym="DORM", jurisdiction=county, is_active=False)
    people = {
        "author": UserFactory(agency=fusion_center, roles=[Role.ANALYST], is_law_enforcement=True),
        "center": UserFactory(agency=fusion_center, roles=[Role.LIAISON_OFFICER]),
        "eoc": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR]),
        "eoc_le": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True),
        "police": UserFactory(agency=police, roles=[Role.PARTNER], is_law_enforcement=True),
        "police_civilian": UserFactory(agency=police, roles=[Role.PARTNER]),
        "fire": UserFactory(agency=fire, roles=[Role.PARTNER]),
        "utility": UserFactory(agency=utility, roles=[Role.PARTNER]),
        "far": UserFactory(agency=far, roles=[Role.PARTNER], is_law_enforcement=True),
        "far_civilian": UserFactory(agency=far, roles=[Role.PARTNER]),
        "inactive": UserFactory(agency=police, roles=[Role.PARTNER], is_law_enforcement=True, is_active=False),
        "dormant": UserFactory(agency=dormant, roles=[Role.PARTNER], is_law_enforcement=True),
    }
    return {
        "people": people,
        "agencies": {
            "eoc": county_eoc,
            "police": police,
            "fire": fire,
            "far": far,
            "dormant": dormant,
            "center": fusion_center,
        },
        "jurisdictions": {"state": state, "county": county, "city": city, "other_county": other_county},
    }


AUDIENCES = [
    ("amber to the EOC", {"tlp": TLP.AMBER, "agencies": ["eoc"]}),
    ("amber to the county and what is under it", {"tlp": TLP.AMBER, "jurisdictions": ["county"]}),
    ("amber to the whole state", {"tlp": TLP.AMBER, "jurisdictions": ["state"]}),
    ("amber to fire and private sector", {"tlp": TLP.AMBER, "disciplines": ["fire"], "levels": ["private_sector"]}),
    ("amber to an inactive agency", {"tlp": TLP.AMBER, "agencies": ["dormant"]}),
    (
        "amber LES with a tearline",
        {"tlp": TLP.AMBER, "jurisdictions": ["county"], "les": True, "tearline": "Be alert."},
    ),
    ("amber LES without a tearline", {"tlp": TLP.AMBER, "agencies": ["police", "eoc"], "les": True}),
    ("amber+strict ignores levels", {"tlp": TLP.AMBER_STRICT, "agencies": ["eoc"], "levels": ["local"]}),
    ("amber+strict with a named person", {"tlp": TLP.AMBER_STRICT, "agencies": ["far"], "people": ["utility"]}),
    ("red to named people", {"tlp": TLP.RED, "people": ["far_civilian", "eoc_le", "inactive"]}),
    ("red LES to named people", {"tlp": TLP.RED, "people": ["far_civilian", "eoc_le"], "les": True, "tearline": "x"}),
    ("green to anyone named", {"tlp": TLP.GREEN, "agencies": ["fire"]}),
    ("green LES", {"tlp": TLP.GREEN, "levels": ["federal"], "les": True, "tearline": "Be alert."}),
    ("clear with an empty audience", {"tlp": TLP.CLEAR}),
    ("amber naming the center itself", {"tlp": TLP.AMBER, "agencies": ["center"]}),
]


@pytest.mark.parametrize(("name", "spec"), AUDIENCES, ids=[name for name, _ in AUDIENCES])
def test_audience_preview_agrees_with_the_visibility_policy(name, spec, region, fusion_center):
    people, agencies, jurisdictions = region["people"], region["agencies"], region["jurisdictions"]
    audience = content(
        tlp=spec["tlp"],
        caveats=[Caveat.LES] if spec.get("les") else [],
        tearline=spec.get("tearline", ""),
        audience_agencies=[agencies[key] for key in spec.get("agencies", [])],
        audience_jurisdictions=[jurisdictions[key] for key in spec.get("jurisdictions", [])],
        audience_levels=spec.get("levels", []),
        audience_disciplines=spec.get("disciplines", []),
        audience_people=[people[key] for key in spec.get("people", [])],
    )
    preview = audience_reach(content=audience, originating_agency=fusion_center)

    product = ThreatProduct.objects.create(
        kind=audience.kind,
        title=audience.title,
        tlp=audience.tlp,
        caveats=audience.caveats,
        tearline=audience.tearline,
        audience_levels=audience.audience_levels,
        audience_disciplines=audience.audience_disciplines,
        state=S.PUBLISHED,
        number="SFC-2026-0001",
        published_at=timezone.now(),
        author=people["author"],
        originating_agency=fusion_center,
    )
    product.audience_agencies.set(audience.audience_agencies)
    product.audience_jurisdictions.set(audience.audience_jurisdictions)
    product.audience_people.set(audience.audience_people)
    receivers = {}
    for person in type(people["author"]).objects.exclude(agency=fusion_center).select_related("agency"):
        if not person_may_see_anything(person):
            continue
        seen = ThreatProduct.objects.visible_to(person).filter(pk=product.pk).first()
        if seen is not None:
            receivers[person] = seen.full_access

    assert preview.people == len(receivers), name
    assert preview.agencies == len({person.agency_id for person in receivers}), name
    assert preview.tearline_only == sum(1 for full in receivers.values() if not full), name


# ---- Compare versions ---------------------------------------------------------------------------------------


def two_versions(analyst, supervisor, publish, **first_overrides):
    first = publish(analyst, **first_overrides)
    update = services.start_update(product=first, by=analyst)
    changed = services.ProductContent.of(update)
    changed.title = "Copper theft at <b>four</b> substations"
    changed.body = "Thieves cut **ground wires** at four substations."
    changed.tearline = first.tearline.replace("three", "four") if first.tearline else ""
    services.edit_product(product=update, by=analyst, content=changed)
    services.submit_for_review(product=update, by=analyst)
    return first, services.approve_product(product=update, reviewer=supervisor)


def test_compare_shows_a_word_diff_with_the_product_text_escaped(
    analyst, supervisor, coordinator, county_eoc, publish, signed_in
):
    first, second = two_versions(analyst, supervisor, publish, audience_agencies=[county_eoc])

    response = signed_in(coordinator).get(f"/products/{second.pk}/compare/{first.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<del>three</del><ins>four</ins>" in html
    assert "<ins>&lt;b&gt;four&lt;/b&gt;</ins>" in html
    assert "<b>four</b>" not in html
    assert f"Changes from {first.number} to {first.number} v2" in page_text(response)
    assert html.count('data-testid="marking-banner"') == 2
    assert "Summary (unchanged)" in page_text(response)


def test_compare_shows_a_tearline_reader_only_title_and_tearline(
    analyst, supervisor, coordinator, county_eoc, publish, signed_in
):
    first, second = two_versions(
        analyst,
        supervisor,
        publish,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        tearline="Thefts at three sites.",
    )

    response = signed_in(coordinator).get(f"/products/{first.pk}/compare/{second.pk}/")

    text = page_text(response)
    assert "Tearline" in text
    assert "<del>three</del><ins>four</ins>" in response.content.decode()
    assert "ground wires" not in text
    assert "Body" not in text


def test_compare_is_not_found_for_outsiders_or_unrelated_products(
    analyst, supervisor, outsider, coordinator, county_eoc, publish, signed_in
):
    first, second = two_versions(analyst, supervisor, publish, audience_agencies=[county_eoc])
    unrelated = publish(analyst, audience_agencies=[county_eoc], title="Another product")

    assert signed_in(outsider).get(f"/products/{first.pk}/compare/{second.pk}/").status_code == 404
    assert signed_in(coordinator).get(f"/products/{first.pk}/compare/{unrelated.pk}/").status_code == 404


# ---- Print view ---------------------------------------------------------------------------------------------


def test_print_view_has_banners_the_visible_text_and_print_styles(
    analyst, coordinator, outsider, county_eoc, publish, signed_in
):
    product = publish(analyst, audience_agencies=[county_eoc], tearline="Substations were hit.")

    response = signed_in(coordinator).get(f"/products/{product.pk}/print/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="marking-banner"') == 2
    assert "<strong>ground wires</strong>" in html
    assert "Substations were hit." in html
    assert "css/fusionhub.css" in html
    assert 'src="/static/js/products.js"' in html
    assert 'class="usa-header' not in html
    assert_no_inline_code(response)
    assert signed_in(outsider).get(f"/products/{product.pk}/print/").status_code == 404


def test_print_styles_exist():
    css = Path(finders.find("css/fusionhub.css")).read_text(encoding="utf-8")
    assert "@media print" in css
    assert "print-color-adjust: exact" in css


# ---- Review queue -------------------------------------------------------------------------------------------


def test_review_queue_lists_what_waits_with_inline_review(
    analyst, supervisor, second_supervisor, county_eoc, signed_in
):
    waiting = in_review(analyst, audience_agencies=[county_eoc], title="Waiting for review")
    own = in_review(supervisor, audience_agencies=[county_eoc], title="The supervisor's own")
    draft(analyst, audience_agencies=[county_eoc], title="Still a draft")

    response = signed_in(supervisor).get("/products/review/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Waiting for review" in page_text(response)
    assert "The supervisor's own" in page_text(response)
    assert "Still a draft" not in page_text(response)
    assert f'action="/products/{waiting.pk}/approve/"' in html
    assert f'action="/products/{waiting.pk}/return/"' in html
    assert f'action="/products/{own.pk}/approve/"' not in html
    assert "You wrote this: another supervisor reviews it." in page_text(response)
    assert "2 products waiting for review" in page_text(response)


def test_inline_approval_returns_to_the_queue(analyst, supervisor, county_eoc, signed_in):
    waiting = in_review(analyst, audience_agencies=[county_eoc])
    client = signed_in(supervisor)

    response = client.post(f"/products/{waiting.pk}/approve/", {"next": "review-queue"}, follow=True)

    assert response.redirect_chain[-1][0] == "/products/review/"
    assert "Approved and published as" in page_text(response)
    assert "Nothing is waiting for review." in page_text(response)
    waiting.refresh_from_db()
    assert waiting.state == S.PUBLISHED


def test_inline_return_without_comment_redisplays_on_its_own_page(analyst, supervisor, county_eoc, signed_in):
    waiting = in_review(analyst, audience_agencies=[county_eoc])

    response = signed_in(supervisor).post(f"/products/{waiting.pk}/return/", {"next": "review-queue", "comment": ""})

    assert response.status_code == 200
    assert "Say what the author should change." in page_text(response)
    assert 'name="next" value="review-queue"' in response.content.decode()


@pytest.mark.parametrize("person", ["analyst", "coordinator", "outsider"])
def test_review_queue_is_for_supervisors(person, request, signed_in):
    assert signed_in(request.getfixturevalue(person)).get("/products/review/").status_code == 403


# ---- Queries: fixed whatever the number of rows ----------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_list_search_and_queue_cost_a_fixed_number_of_queries(
    count, analyst, supervisor, coordinator, county_eoc, publish, signed_in, django_assert_max_num_queries
):
    for number in range(count):
        publish(
            analyst,
            audience_agencies=[county_eoc],
            title=f"Pipeline bulletin {number}",
            tags=["pipeline"],
            caveats=[Caveat.LES] if number % 2 else [],
            tearline="Pipeline tearline.",
        )
        in_review(analyst, audience_agencies=[county_eoc], title=f"Waiting {number}")
    reader = signed_in(coordinator)
    reviewer = signed_in(supervisor)

    with django_assert_max_num_queries(8):
        assert len(rows(reader.get("/products/"))) == min(count, 25)
    with django_assert_max_num_queries(8):
        assert len(rows(reader.get("/products/?q=pipeline&tag=pipeline"))) == min(count, 25)
    with django_assert_max_num_queries(8):
        response = reviewer.get("/products/review/")
        assert response.content.decode().count('data-testid="review-row"') == min(count, 25)
