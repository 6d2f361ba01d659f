"""The product lifecycle: draft > in review > published, versions, retraction, and the state table."""

import itertools
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from agencies.markings import TLP
from dissemination.models import Dispatch, DomainEvent
from sharing.models import ProductTransition, ThreatProduct
from sharing.services import products as services
from sharing.services.products import TRANSITIONS, next_state
from tests.sharing.conftest import content

S = ThreatProduct.State
A = ProductTransition.Action


def test_every_state_and_action_pair_is_allowed_or_refused_by_the_table():
    for state, action in itertools.product(S.values, A.values):
        if (state, action) in TRANSITIONS:
            assert next_state(state, action) == TRANSITIONS[(state, action)]
        else:
            with pytest.raises(ValidationError):
                next_state(state, action)


def test_publishing_numbers_the_product_and_writes_its_dispatch_and_event(analyst, supervisor, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    assert product.state == S.PUBLISHED
    assert product.number.startswith(f"SFC-{product.published_at.year}-")
    assert product.reviewer == supervisor
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
    assert dispatch.action == Dispatch.Action.PUBLISH
    assert dispatch.reason == product.release_reason
    assert DomainEvent.objects.filter(kind="product_published", subject_id=product.pk).count() == 1
    assert [t.action for t in product.transitions.all()] == [A.CREATED, A.SUBMITTED, A.APPROVED]


def test_event_task_is_queued_only_after_commit(analyst, supervisor, county_eoc, django_capture_on_commit_callbacks):
    product = services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    services.submit_for_review(product=product, by=analyst)
    with django_capture_on_commit_callbacks() as callbacks:
        services.approve_product(product=product, reviewer=supervisor)
        assert not DomainEvent.objects.filter(handled_at__isnull=False).exists()
    assert len(callbacks) == 2  # the dispatch's fan-out and the domain event, both after commit


def test_author_cannot_approve_their_own_product(supervisor, county_eoc):
    product = services.create_product(author=supervisor, content=content(audience_agencies=[county_eoc]))
    services.submit_for_review(product=product, by=supervisor)
    with pytest.raises(ValidationError) as error:
        services.approve_product(product=product, reviewer=supervisor)
    assert "its author" in str(error.value)
    product.refresh_from_db()
    assert product.state == S.IN_REVIEW
    assert not Dispatch.objects.exists()


def test_only_a_supervisor_of_the_center_reviews(analyst, coordinator, county_eoc):
    product = services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    services.submit_for_review(product=product, by=analyst)
    with pytest.raises(PermissionDenied):
        services.approve_product(product=product, reviewer=coordinator)


def test_reviewer_returns_a_product_with_comments(analyst, supervisor, county_eoc):
    product = services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    services.submit_for_review(product=product, by=analyst)
    with pytest.raises(ValidationError):
        services.return_product(product=product, reviewer=supervisor, comment=" ")
    product = services.return_product(product=product, reviewer=supervisor, comment="Cite the source report.")
    assert product.state == S.DRAFT
    assert product.transitions.last().comment == "Cite the source report."


def test_a_published_version_cannot_be_edited(analyst, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    with pytest.raises(ValidationError) as error:
        services.edit_product(product=product, by=analyst, content=content(title="Changed"))
    assert "start an update" in str(error.value)
    product.refresh_from_db()
    assert product.title == "Copper theft at electrical substations"


def test_update_makes_the_next_version_and_supersedes_the_old(analyst, supervisor, county_eoc, publish):
    first = publish(analyst, audience_agencies=[county_eoc])
    draft = services.start_update(product=first, by=analyst)
    assert (draft.number, draft.version, draft.state) == (first.number, 2, S.DRAFT)
    services.edit_product(
        product=draft, by=analyst, content=content(title="Copper theft: two more sites", audience_agencies=[county_eoc])
    )
    services.submit_for_review(product=draft, by=analyst)
    second = services.approve_product(product=draft, reviewer=supervisor)
    first.refresh_from_db()
    assert first.state == S.SUPERSEDED
    assert second.display_number == f"{first.number} v2"
    assert Dispatch.objects.filter(item_id=second.pk, action=Dispatch.Action.UPDATE).exists()


def test_retraction_needs_a_reason_and_keeps_a_tombstone(analyst, supervisor, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    with pytest.raises(ValidationError):
        services.retract_product(product=product, by=supervisor, reason="")
    product = services.retract_product(product=product, by=supervisor, reason="Source withdrew the report.")
    assert product.state == S.RETRACTED
    assert ThreatProduct.objects.filter(pk=product.pk).exists()
    assert DomainEvent.objects.filter(kind="product_retracted", subject_id=product.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tlp": TLP.RED}, "audience_people"),
        ({"caveats": ["LES"], "tearline": ""}, "tearline"),
        ({"is_criminal_intelligence": True}, "criminal_predicate"),
        ({"release_reason": ""}, "release_reason"),
        ({"title": "  "}, "title"),
    ],
)
def test_bad_content_is_refused_with_the_field_named(analyst, coordinator, county_eoc, overrides, field):
    with pytest.raises(ValidationError) as error:
        services.create_product(author=analyst, content=content(audience_agencies=[county_eoc], **overrides))
    assert field in error.value.message_dict
    assert not ThreatProduct.objects.exists()


def test_criminal_intelligence_gets_a_review_date_five_years_on(analyst, county_eoc, publish):
    product = publish(
        analyst,
        audience_agencies=[county_eoc],
        is_criminal_intelligence=True,
        criminal_predicate="Reasonable suspicion of organised theft ring.",
    )
    assert (product.review_by - product.published_at.date()).days == 5 * 365


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishing_gives_unique_numbers_without_gaps(analyst, supervisor, county_eoc):
    drafts = []
    for number in range(6):
        product = services.create_product(
            author=analyst, content=content(title=f"Bulletin {number}", audience_agencies=[county_eoc])
        )
        services.submit_for_review(product=product, by=analyst)
        drafts.append(product)
    barrier = threading.Barrier(len(drafts))
    errors = []

    def approve(product):
        try:
            barrier.wait()
            services.approve_product(product=product, reviewer=supervisor)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(p,)) for p in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(ThreatProduct.objects.values_list("number", flat=True))
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(1, len(drafts) + 1))
