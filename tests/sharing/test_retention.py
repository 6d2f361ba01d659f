"""Retention of criminal intelligence (28 CFR Part 23): reviews opened a month ahead, validation and
purge by a supervisor of the originating center, the tombstone every reader sees, the queue page."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.markings import Caveat
from agencies.models import Agency, AuditAction, AuditEntry, AuditOutcome, Role
from liaison.services import check_source
from sharing.models import ProductAttachment, ProductTransition, RetentionReview, ThreatProduct
from sharing.services import products as product_services
from sharing.services.attachments import add_attachment
from sharing.services.retention import PURGED_TITLE, open_due_reviews, purge_product, validate_retention
from sharing.tasks import open_retention_reviews
from tests.factories import AgencyFactory, UserFactory
from tests.second_factor import VerifiedClient as Client
from tests.sharing.conftest import content
from tests.uploads import PDF, stored_files, upload

SECRET_BODY = "Informant **Blue Heron** saw the subjects load copper at 14 Elm Street."
SECRET_SUMMARY = "Three subjects tied to substation thefts."
SECRET_TEARLINE = "Copper thefts continue at substations."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def signed_in(db):
    def _signed_in(person):
        client = Client()
        client.force_login(person)
        return client

    return _signed_in


def criminal_intelligence(**overrides):
    values = {
        "summary": SECRET_SUMMARY,
        "body": SECRET_BODY,
        "tearline": SECRET_TEARLINE,
        "tags": ["copper-ring"],
        "is_criminal_intelligence": True,
        "criminal_predicate": "Reasonable suspicion of organised theft from utilities.",
    }
    values.update(overrides)
    return content(**values)


@pytest.fixture
def intelligence(analyst, supervisor, county_eoc):
    """A published criminal-intelligence bulletin for the county EOC, with a PDF attached."""
    product = product_services.create_product(
        author=analyst, content=criminal_intelligence(audience_agencies=[county_eoc])
    )
    add_attachment(product=product, by=analyst, uploaded_file=upload("photo-log.pdf", PDF))
    product_services.submit_for_review(product=product, by=analyst)
    return product_services.approve_product(product=product, reviewer=supervisor)


def due_in(product: ThreatProduct, days: int) -> None:
    ThreatProduct.objects.filter(pk=product.pk).update(review_by=timezone.localdate() + timedelta(days=days))


def updated(product: ThreatProduct, *, analyst, supervisor) -> ThreatProduct:
    """Publish the next version of a product (it carries the same attachments)."""
    draft = product_services.start_update(product=product, by=analyst)
    product_services.submit_for_review(product=draft, by=analyst)
    return product_services.approve_product(product=draft, reviewer=supervisor)


@pytest.fixture
def review(intelligence):
    due_in(intelligence, 20)
    open_due_reviews()
    return RetentionReview.objects.get(number=intelligence.number)


# --- opening reviews --------------------------------------------------------------------------------


def test_publication_sets_the_review_by_date_five_years_ahead(intelligence):
    assert intelligence.review_by == (intelligence.published_at + timedelta(days=5 * 365)).date()


def test_beat_task_opens_a_review_a_month_ahead_and_only_once(intelligence, publish, analyst, fusion_center):
    later = publish(analyst, **{"is_criminal_intelligence": True, "criminal_predicate": "Theft ring."})
    not_intelligence = publish(analyst)
    due_in(intelligence, 29)
    due_in(later, 31)
    due_in(not_intelligence, 1)

    assert open_retention_reviews() == 1
    assert open_retention_reviews() == 0

    review = RetentionReview.objects.get()
    assert review.number == intelligence.number
    assert review.product == intelligence
    assert review.agency == fusion_center
    assert review.state == RetentionReview.State.OPEN
    assert review.due_date == timezone.localdate() + timedelta(days=29)


def test_overdue_products_get_a_review_too(intelligence):
    due_in(intelligence, -3)
    assert open_due_reviews() == 1
    assert RetentionReview.objects.get().is_overdue
    # Past due, still nothing is purged until a supervisor decides.
    intelligence.refresh_from_db()
    assert (intelligence.purged_at, intelligence.body) == (None, SECRET_BODY)


def test_lead_time_is_a_setting(intelligence, settings):
    settings.RETENTION_REVIEW_LEAD_DAYS = 10
    due_in(intelligence, 15)
    assert open_due_reviews() == 0
    assert open_due_reviews(today=timezone.localdate() + timedelta(days=5)) == 1


def test_a_product_with_versions_has_one_review_due_at_its_earliest_review_by(intelligence, analyst, supervisor):
    second = updated(intelligence, analyst=analyst, supervisor=supervisor)
    due_in(intelligence, 12)  # the superseded version keeps the clock of its first publication

    assert open_due_reviews() == 1
    review = RetentionReview.objects.get()
    assert review.product == second
    assert review.due_date == timezone.localdate() + timedelta(days=12)


def test_database_keeps_one_open_review_per_product(review):
    with pytest.raises(Exception, match="retention_review_one_open"):
        RetentionReview.objects.create(
            number=review.number, agency=review.agency, product=review.product, due_date=review.due_date
        )


# --- validating ---------------------------------------------------------------------------------


def test_validation_moves_the_review_by_date_of_every_version_and_closes_the_review(intelligence, analyst, supervisor):
    second = updated(intelligence, analyst=analyst, supervisor=supervisor)
    due_in(intelligence, 5)
    open_due_reviews()
    review = RetentionReview.objects.get()
    new_date = timezone.localdate() + timedelta(days=3 * 365)

    validate_retention(
        review=review, by=supervisor, new_review_by=new_date, justification="Prosecution of the ring is ongoing."
    )

    review.refresh_from_db()
    assert review.state == RetentionReview.State.VALIDATED
    assert review.decided_by == supervisor
    assert review.new_review_by == new_date
    assert review.justification == "Prosecution of the ring is ongoing."
    assert set(ThreatProduct.objects.filter(number=intelligence.number).values_list("review_by", flat=True)) == {
        new_date
    }
    assert second.transitions.filter(action=ProductTransition.Action.RETENTION_VALIDATED).exists()
    # Not due any more: the task opens nothing.
    assert open_due_reviews() == 0


@pytest.mark.parametrize(
    ("days", "justification", "field", "words"),
    [
        (None, "Still needed.", "new_review_by", "Give the new review-by date"),
        (0, "Still needed.", "new_review_by", "in the future"),
        (-10, "Still needed.", "new_review_by", "in the future"),
        (5 * 365 + 1, "Still needed.", "new_review_by", "at most five years"),
        (365, "   ", "justification", "updating identifiers alone does not validate"),
    ],
)
def test_validation_refuses_bad_dates_and_a_missing_justification(
    review, supervisor, days, justification, field, words
):
    new_date = None if days is None else timezone.localdate() + timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        validate_retention(review=review, by=supervisor, new_review_by=new_date, justification=justification)
    assert words in " ".join(refused.value.message_dict[field])
    review.refresh_from_db()
    assert review.is_open


def test_validation_up_to_exactly_five_years_is_accepted(review, supervisor):
    new_date = timezone.localdate() + timedelta(days=5 * 365)
    validate_retention(review=review, by=supervisor, new_review_by=new_date, justification="Active case.")
    assert RetentionReview.objects.get().new_review_by == new_date


# --- purging ------------------------------------------------------------------------------------


def test_purge_blanks_every_version_removes_attachments_and_files_and_keeps_the_tombstone(
    intelligence, analyst, supervisor, media_root, django_capture_on_commit_callbacks
):
    second = updated(intelligence, analyst=analyst, supervisor=supervisor)
    draft = product_services.start_update(product=second, by=analyst)
    due_in(intelligence, 5)
    open_due_reviews()
    review = RetentionReview.objects.get()
    assert ProductAttachment.objects.filter(product__number=intelligence.number).count() == 3
    assert len(stored_files(media_root)) == 1
    published_at = intelligence.published_at

    with django_capture_on_commit_callbacks(execute=True):
        purge_product(review=review, by=supervisor, justification="No longer relevant: the ring was convicted.")

    review.refresh_from_db()
    assert review.state == RetentionReview.State.PURGED
    assert review.decided_by == supervisor
    assert review.justification == "No longer relevant: the ring was convicted."
    versions = list(ThreatProduct.objects.filter(number=intelligence.number).order_by("version"))
    assert [v.pk for v in versions] == [intelligence.pk, second.pk, draft.pk]
    for version in versions:
        assert version.purged_at is not None
        assert version.title == PURGED_TITLE
        assert (version.summary, version.body, version.tags, version.release_reason) == ("", "", [], "")
        assert SECRET_TEARLINE not in version.tearline
        assert version.search_vector is None
        assert version.tearline_search_vector is None
        assert not version.information_needs.exists()
        # The tombstone: number, version, kind, markings, audience, dates, state.
        assert version.number == intelligence.number
        assert version.kind == intelligence.kind
        assert version.tlp == intelligence.tlp
        assert version.audience_agencies.exists()
        assert version.transitions.filter(action=ProductTransition.Action.PURGED).exists()
    assert versions[0].state == ThreatProduct.State.SUPERSEDED
    assert versions[0].published_at == published_at
    assert versions[1].state == ThreatProduct.State.PUBLISHED
    assert versions[2].state == ThreatProduct.State.DRAFT
    assert not ProductAttachment.objects.filter(product__number=intelligence.number).exists()
    assert stored_files(media_root) == []
    assert not ThreatProduct.objects.filter(body__contains="Blue Heron").exists()


def test_purge_keeps_a_file_another_product_still_holds(
    intelligence, analyst, supervisor, review, media_root, django_capture_on_commit_callbacks
):
    other = product_services.create_product(author=analyst, content=content(title="Substation site survey"))
    add_attachment(product=other, by=analyst, uploaded_file=upload("same-log.pdf", PDF))
    assert len(stored_files(media_root)) == 1  # the same content is stored once

    with django_capture_on_commit_callbacks(execute=True):
        purge_product(review=review, by=supervisor, justification="No longer relevant.")

    assert [a.filename for a in other.attachments.all()] == ["same-log.pdf"]
    assert len(stored_files(media_root)) == 1
    assert (media_root / other.attachments.get().file.name).read_bytes() == PDF


def test_tearline_readers_keep_seeing_the_tombstone_of_an_les_product(
    analyst, supervisor, county_eoc, coordinator, signed_in
):
    product = product_services.create_product(
        author=analyst,
        content=criminal_intelligence(audience_agencies=[county_eoc], caveats=[Caveat.LES]),
    )
    product_services.submit_for_review(product=product, by=analyst)
    product = product_services.approve_product(product=product, reviewer=supervisor)
    due_in(product, 1)
    open_due_reviews()
    purge_product(review=RetentionReview.objects.get(), by=supervisor, justification="Not relevant any more.")

    response = signed_in(coordinator).get(f"/products/{product.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Purged under 28 CFR Part 23 on" in html
    assert SECRET_TEARLINE not in html


def test_nothing_is_purged_without_an_open_review(review, supervisor):
    purge_product(review=review, by=supervisor, justification="Not relevant.")
    with pytest.raises(ValidationError, match="already decided"):
        purge_product(review=review, by=supervisor, justification="Again.")
    with pytest.raises(ValidationError, match="already decided"):
        validate_retention(
            review=review,
            by=supervisor,
            new_review_by=timezone.localdate() + timedelta(days=30),
            justification="Changed my mind.",
        )


def test_purge_needs_a_justification(review, supervisor, intelligence):
    with pytest.raises(ValidationError) as refused:
        purge_product(review=review, by=supervisor, justification="  ")
    assert "Say why the information is purged" in refused.value.message_dict["justification"][0]
    intelligence.refresh_from_db()
    assert intelligence.purged_at is None
    assert intelligence.body == SECRET_BODY


@pytest.mark.parametrize("who", ["analyst", "other_supervisor", "coordinator"])
def test_only_a_supervisor_of_the_originating_center_decides(review, intelligence, who, request, state):
    if who == "other_supervisor":
        other_center = AgencyFactory(name="Other Fusion Center", acronym="OFC", kind=Agency.Kind.FUSION_CENTER)
        person = UserFactory(agency=other_center, roles=[Role.SUPERVISOR], is_law_enforcement=True)
    else:
        person = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied, match="Only a supervisor of the center"):
        purge_product(review=review, by=person, justification="Purge.")
    with pytest.raises(PermissionDenied, match="Only a supervisor of the center"):
        validate_retention(
            review=review, by=person, new_review_by=timezone.localdate() + timedelta(days=30), justification="Keep."
        )
    intelligence.refresh_from_db()
    assert intelligence.purged_at is None
    assert RetentionReview.objects.get().is_open


def test_a_purged_product_cannot_be_updated_retracted_or_edited(review, intelligence, analyst, supervisor):
    purge_product(review=review, by=supervisor, justification="Not relevant.")
    intelligence.refresh_from_db()
    with pytest.raises(ValidationError, match="was purged under 28 CFR Part 23"):
        product_services.start_update(product=intelligence, by=analyst)
    with pytest.raises(ValidationError, match="was purged under 28 CFR Part 23"):
        product_services.retract_product(product=intelligence, by=supervisor, reason="Wrong.")


# --- pages ---------------------------------------------------------------------------------------


def test_product_page_and_api_show_the_tombstone_and_none_of_the_old_content(
    review, intelligence, supervisor, coordinator, analyst, signed_in
):
    purge_product(review=review, by=supervisor, justification="No longer relevant.")
    for person in (coordinator, analyst, supervisor):
        client = signed_in(person)
        page = client.get(f"/products/{intelligence.pk}/")
        html = page.content.decode()
        assert page.status_code == 200
        assert re.search(r"Purged under 28 CFR Part 23 on\s*<time[^>]*>" + timezone.localdate().isoformat(), html)
        assert intelligence.number in html
        for secret in ("Blue Heron", SECRET_SUMMARY, SECRET_TEARLINE, "Copper theft at electrical", "photo-log.pdf"):
            assert secret not in html, (person, secret)
        detail = client.get(f"/api/v1/products/{intelligence.pk}/")
        assert detail.status_code == 200
        data = detail.json()
        assert data["purged_at"] is not None
        assert data["number"] == intelligence.number
        assert "Blue Heron" not in detail.content.decode()
        assert SECRET_TEARLINE not in detail.content.decode()


def test_purged_product_is_no_longer_found_by_its_words(review, intelligence, supervisor, signed_in):
    before = signed_in(supervisor).get("/products/", {"q": "informant heron"})
    assert intelligence.number in before.content.decode()
    purge_product(review=review, by=supervisor, justification="No longer relevant.")
    after = signed_in(supervisor).get("/products/", {"q": "informant heron"})
    assert intelligence.number not in after.content.decode()


def test_retention_queue_lists_reviews_due_soonest_first_with_overdue_standing_out(
    intelligence, publish, analyst, supervisor, signed_in
):
    later = publish(analyst, is_criminal_intelligence=True, criminal_predicate="Theft ring.", title="Later one")
    due_in(intelligence, -2)
    due_in(later, 25)
    open_due_reviews()

    response = signed_in(supervisor).get("/products/retention/")
    html = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(r'(?s)<tr data-testid="retention-row".*?</tr>', html)
    assert [intelligence.number in rows[0], later.number in rows[1]] == [True, True]
    assert "fh-rfi-row--overdue" in rows[0]
    assert "Overdue by 2 days" in rows[0]
    assert "Overdue" not in rows[1]

    overdue_only = signed_in(supervisor).get("/products/retention/", {"due": "overdue"})
    assert len(re.findall(r'data-testid="retention-row"', overdue_only.content.decode())) == 1
    # A filter value that is not offered shows the default queue, never an error.
    odd = signed_in(supervisor).get("/products/retention/", {"state": "nonsense", "page": "x"})
    assert odd.status_code == 200


def test_retention_queue_costs_a_fixed_number_of_queries(
    publish, analyst, supervisor, signed_in, django_assert_max_num_queries
):
    client = signed_in(supervisor)

    def add_due(count):
        for index in range(count):
            product = publish(
                analyst, is_criminal_intelligence=True, criminal_predicate="Theft ring.", title=f"Ring {index}"
            )
            due_in(product, index)
        open_due_reviews()

    add_due(2)
    with django_assert_max_num_queries(8) as few:
        assert client.get("/products/retention/").status_code == 200
    add_due(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/products/retention/")
    assert len(re.findall(r'data-testid="retention-row"', response.content.decode())) == 8


def test_retention_pages_are_for_the_centers_supervisors(review, analyst, coordinator, signed_in):
    assert signed_in(analyst).get("/products/retention/").status_code == 403
    assert signed_in(analyst).get(f"/products/retention/{review.pk}/").status_code == 403
    assert signed_in(coordinator).get(f"/products/retention/{review.pk}/").status_code == 404


def test_supervisor_validates_through_the_decision_form(review, intelligence, supervisor, signed_in):
    client = signed_in(supervisor)
    page = client.get(f"/products/retention/{review.pk}/")
    assert page.status_code == 200
    assert intelligence.display_number in page.content.decode()
    new_date = timezone.localdate() + timedelta(days=365)
    response = client.post(
        f"/products/retention/{review.pk}/",
        {"decision": "validate", "new_review_by": new_date.isoformat(), "justification": "Case still open."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/products/retention/"
    assert f"{intelligence.number} validated" in response.content.decode()
    intelligence.refresh_from_db()
    assert intelligence.review_by == new_date


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose whether to validate or purge the product."),
        ({"decision": "validate", "justification": "Keep."}, "Give the new review-by date."),
        ({"decision": "validate", "new_review_by": "tomorrow", "justification": "Keep."}, "as a date (YYYY-MM-DD)"),
        ({"decision": "validate", "new_review_by": "2001-01-01", "justification": "Keep."}, "in the future"),
        ({"decision": "purge", "justification": "Gone."}, "Tick the box to confirm the purge"),
        ({"decision": "purge", "confirm_purge": "on"}, "Give the justification of your decision."),
    ],
)
def test_decision_form_redisplays_with_a_message_for_bad_input(
    review, intelligence, supervisor, signed_in, data, message
):
    response = signed_in(supervisor).post(f"/products/retention/{review.pk}/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    intelligence.refresh_from_db()
    assert intelligence.purged_at is None
    assert RetentionReview.objects.get().is_open


def test_supervisor_purges_through_the_decision_form_with_a_confirmation(review, intelligence, supervisor, signed_in):
    response = signed_in(supervisor).post(
        f"/products/retention/{review.pk}/",
        {"decision": "purge", "justification": "No longer relevant.", "confirm_purge": "on"},
        follow=True,
    )
    assert f"{intelligence.number} purged" in response.content.decode()
    intelligence.refresh_from_db()
    assert intelligence.purged_at is not None
    decided = signed_in(supervisor).post(
        f"/products/retention/{review.pk}/",
        {"decision": "purge", "justification": "Again.", "confirm_purge": "on"},
        follow=True,
    )
    assert decided.status_code == 200
    assert "already decided" in decided.content.decode()


def test_review_queue_links_to_the_retention_reviews(review, supervisor, signed_in):
    html = signed_in(supervisor).get("/products/review/").content.decode()
    assert 'href="/products/retention/"' in html
    assert "1 open" in html


def test_a_purged_product_cannot_be_relayed_to_an_eoc(review, intelligence, supervisor, county_eoc, fusion_center):
    purge_product(review=review, by=supervisor, justification="No longer relevant.")
    intelligence.refresh_from_db()
    check = check_source(intelligence, direction="to_eoc", eoc=county_eoc, fusion_center=fusion_center)
    assert not check.allowed
    assert "purged under 28 CFR Part 23" in " ".join(check.reasons)


# --- audit ----------------------------------------------------------------------------------------


def test_validation_and_purge_are_audited_with_the_decision(intelligence, publish, analyst, supervisor):
    other = publish(analyst, is_criminal_intelligence=True, criminal_predicate="Theft ring.", title="Other ring")
    due_in(intelligence, 3)
    due_in(other, 4)
    open_due_reviews()
    first, second = RetentionReview.objects.order_by("due_date")
    new_date = timezone.localdate() + timedelta(days=400)

    validate_retention(review=first, by=supervisor, new_review_by=new_date, justification="Case open.")
    purge_product(review=second, by=supervisor, justification="Not relevant.")

    validated = AuditEntry.objects.get(action=AuditAction.RETENTION_VALIDATED)
    assert (validated.person, validated.item_type, validated.item_id) == (
        supervisor,
        "sharing.threatproduct",
        intelligence.pk,
    )
    assert validated.item_label == intelligence.number
    assert validated.detail["new_review_by"] == new_date.isoformat()
    assert validated.detail["justification"] == "Case open."
    purged = AuditEntry.objects.get(action=AuditAction.PURGED)
    assert (purged.person, purged.item_id, purged.outcome) == (supervisor, other.pk, AuditOutcome.SUCCESS)
    assert purged.item_label == other.number
    assert purged.detail["versions"] == [other.pk]


def test_a_refused_purge_leaves_no_success_in_the_audit_trail(review, analyst):
    with pytest.raises(PermissionDenied):
        purge_product(review=review, by=analyst, justification="Purge.")
    assert not AuditEntry.objects.filter(action=AuditAction.PURGED).exists()


def test_refused_decisions_on_the_page_are_audited(review, intelligence, analyst, supervisor, coordinator, signed_in):
    assert signed_in(analyst).post(f"/products/retention/{review.pk}/", {"decision": "purge"}).status_code == 403
    assert signed_in(coordinator).post(f"/products/retention/{review.pk}/", {"decision": "purge"}).status_code == 404
    signed_in(supervisor).post(
        f"/products/retention/{review.pk}/",
        {"decision": "validate", "new_review_by": "2001-01-01", "justification": "Keep."},
    )
    denied = AuditEntry.objects.filter(outcome=AuditOutcome.DENIED).order_by("pk")
    assert [(e.person, e.action, e.item_type) for e in denied] == [
        (analyst, AuditAction.PURGED, "sharing.threatproduct"),
        (coordinator, AuditAction.PURGED, "sharing.retentionreview"),
    ]
    failed = AuditEntry.objects.get(outcome=AuditOutcome.FAILURE, action=AuditAction.RETENTION_VALIDATED)
    assert failed.person == supervisor
    assert failed.item_id == intelligence.pk
    assert "in the future" in " ".join(failed.detail["refused"])
