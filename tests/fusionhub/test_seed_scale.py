"""seed_scale at a tiny size: every table gets its rows by COPY, and the site reads them as its own."""

import io

import pytest
from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command

from agencies.models import Agency, Role, User
from dissemination.models import Delivery, Dispatch
from eoc.models import FeedEntry, Incident
from eoc.selectors import feed_entries
from fusionhub.scale import FUSION_CENTER_ACRONYM, Progress, Sizes, is_seeded, seed_region
from sharing.models import ThreatProduct
from sharing.selectors import ProductFilters, product_list
from sharing.services.products import _refresh_search

TINY = Sizes(agencies=12, people=60, products=300, incidents=4, feed_entries=400, deliveries=150)


@pytest.fixture
def region(db):
    seed_region(TINY, say=lambda message: None)


def test_every_table_gets_its_rows(region):
    assert Agency.objects.count() == 12
    assert User.objects.count() == 60
    assert ThreatProduct.objects.filter(state="published").count() == 300
    assert Incident.objects.count() == 4
    assert FeedEntry.objects.count() == 400
    assert Delivery.objects.count() == 150
    assert Dispatch.objects.filter(state=Dispatch.State.FANNED_OUT).exists()
    assert is_seeded()


def test_every_agency_has_people_in_its_roles(region):
    fusion_center = Agency.objects.get(acronym=FUSION_CENTER_ACRONYM)
    analysts = User.objects.filter(agency=fusion_center, groups__name=Role.ANALYST.label)
    supervisors = User.objects.filter(agency=fusion_center, groups__name=Role.SUPERVISOR.label)
    assert analysts.exists()
    assert supervisors.exists()
    eoc = Agency.objects.filter(kind=Agency.Kind.EOC).first()
    assert User.objects.filter(agency=eoc, groups__name=Role.EOC_COORDINATOR.label).exists()


def test_search_vectors_are_those_the_publishing_service_writes(region):
    product = ThreatProduct.objects.order_by("pk").first()
    seeded = (product.search_vector, product.tearline_search_vector)
    _refresh_search(product)
    product.refresh_from_db()
    assert seeded == (product.search_vector, product.tearline_search_vector)


def test_a_partner_finds_seeded_products_through_the_visibility_policy(region):
    partner = User.objects.filter(groups__name=Role.PARTNER.label).order_by("pk").first()
    word = ThreatProduct.objects.filter(tlp="green").first().title.split()[-2]
    found = product_list(person=partner, filters=ProductFilters(q=word))
    assert found.exists()
    assert all(p.search_vector is not None for p in found)
    assert ThreatProduct.objects.filter(search_vector=SearchQuery(word, config="english")).exists()


def test_a_coordinator_reads_their_incident_feed(region):
    incident = Incident.objects.order_by("pk").first()
    coordinator = User.objects.filter(agency=incident.lead_eoc, groups__name=Role.EOC_COORDINATOR.label).first()
    entries = list(feed_entries(person=coordinator, incident_id=incident.pk)[:50])
    assert len(entries) == 50
    assert entries == sorted(entries, key=lambda e: (e.posted_at, e.pk), reverse=True)


def test_rows_written_after_seeding_get_fresh_ids(region):
    top = Agency.objects.order_by("-pk").first()
    agency = Agency.objects.create(name="After seeding", acronym="AFTER", level="local", kind="fire",
                                   discipline="fire", jurisdiction=top.jurisdiction)  # fmt: skip
    assert agency.pk > top.pk


def test_command_seeds_once_and_then_says_so(db):
    out = io.StringIO()
    call_command("seed_scale", "--scale", "0.0002", stdout=out)
    assert "Seeding took" in out.getvalue()
    again = io.StringIO()
    call_command("seed_scale", "--if-missing", stdout=again)
    assert "already seeded" in again.getvalue()


def test_sizes_scale_down_keeping_every_role():
    sizes = Sizes().scaled(0.0001)
    assert sizes.agencies >= 12
    assert sizes.people >= sizes.agencies * 4
    assert Sizes().feed_entries == 2_000_000


def test_progress_without_a_terminal_prints_one_line_per_step():
    stream = io.StringIO()
    progress = Progress("feed entries", 10, stream=stream)
    progress.advance(10)
    progress.close()
    assert stream.getvalue().startswith("  feed entries: 10 rows in ")
