"""The products API as a partner system sees it: the lifecycle, markings, bad input, filters and cost."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from agencies.markings import TLP, Caveat
from sharing.api import ProductSerializer, with_relations
from sharing.models import InformationNeed, ThreatProduct
from sharing.services.products import create_product, submit_for_review
from tests.factories import UserFactory
from tests.sharing.conftest import content

S = ThreatProduct.State
URL = "/api/v1/products/"

DRAFT = {
    "kind": "intelligence_bulletin",
    "title": "Copper theft at electrical substations",
    "summary": "A series of copper thefts at substations in the county.",
    "body": "Thieves cut **ground wires** at three substations.",
    "tlp": "amber",
    "tags": ["copper", "substations"],
    "release_reason": "Partners protecting the affected substations need to know.",
}


@pytest.fixture
def api(client):
    """A client signed in as the person, sending and reading JSON."""

    class Api:
        def __init__(self, person):
            client.force_login(person)

        def get(self, path, query=None, **extra):
            return client.get(path, query, **extra)

        def post(self, path, data=None):
            return client.post(path, data or {}, content_type="application/json")

        def patch(self, path, data):
            return client.patch(path, data, content_type="application/json")

        def put(self, path, data):
            return client.put(path, data, content_type="application/json")

    return Api


def draft_for(county_eoc, **overrides):
    return {**DRAFT, "audience_agencies": [county_eoc.pk], **overrides}


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


# --- The lifecycle ------------------------------------------------------------------------------


def test_analyst_writes_supervisor_publishes_partner_reads_outsider_learns_nothing(
    api, analyst, supervisor, coordinator, outsider, county_eoc
):
    created = api(analyst).post(URL, draft_for(county_eoc))
    assert created.status_code == 201, created.content
    product = created.json()
    assert (product["state"], product["number"], product["version"]) == ("draft", "", 1)
    assert product["audience_agencies"] == [county_eoc.pk]
    pk = product["id"]

    submitted = api(analyst).post(f"{URL}{pk}/submit/", {"comment": "Ready."})
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == "in_review"

    approved = api(supervisor).post(f"{URL}{pk}/approve/")
    assert approved.status_code == 200, approved.content
    published = approved.json()
    assert published["state"] == "published"
    assert published["number"].startswith(f"SFC-{timezone.now().year}-")
    assert published["reviewer"] == {"id": supervisor.pk, "name": str(supervisor)}

    partner = api(coordinator)
    read = partner.get(f"{URL}{pk}/")
    assert read.status_code == 200
    assert read.json()["body"] == DRAFT["body"]
    assert read.json()["access"] == "full"
    assert [p["id"] for p in partner.get(URL).json()["results"]] == [pk]

    stranger = api(outsider)
    assert stranger.get(URL).json()["results"] == []
    for path in (f"{URL}{pk}/", f"{URL}{pk}/stix/", f"{URL}{pk}/versions/"):
        assert stranger.get(path).status_code == 404, path
    for action in ("submit", "return", "approve", "update", "retract"):
        assert stranger.post(f"{URL}{pk}/{action}/", {"comment": "x", "reason": "x"}).status_code == 404, action
    assert stranger.patch(f"{URL}{pk}/", {"title": "Mine now"}).status_code == 404
    assert ThreatProduct.objects.get(pk=pk).state == S.PUBLISHED


def test_drafts_are_seen_only_at_the_center(api, analyst, coordinator, county_eoc):
    pk = api(analyst).post(URL, draft_for(county_eoc)).json()["id"]
    assert api(coordinator).get(f"{URL}{pk}/").status_code == 404
    assert api(coordinator).get(URL, {"q": "copper"}).json()["results"] == []


def test_partner_who_may_see_a_product_may_not_act_on_it(api, analyst, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    partner = api(coordinator)
    assert partner.post(f"{URL}{product.pk}/retract/", {"reason": "Mine to retract?"}).status_code == 403
    assert partner.post(f"{URL}{product.pk}/update/").status_code == 403
    assert partner.patch(f"{URL}{product.pk}/", {"title": "Changed"}).status_code == 403
    assert partner.post(URL, draft_for(county_eoc)).status_code == 403
    assert ThreatProduct.objects.count() == 1


def test_author_cannot_approve_their_own_product(api, supervisor, county_eoc):
    author = api(supervisor)
    pk = author.post(URL, draft_for(county_eoc)).json()["id"]
    author.post(f"{URL}{pk}/submit/")
    errors = errors_of(author.post(f"{URL}{pk}/approve/"))
    assert "its author" in errors["reviewer"][0]
    assert ThreatProduct.objects.get(pk=pk).state == S.IN_REVIEW


def test_returning_needs_a_comment(api, analyst, supervisor, county_eoc):
    pk = api(analyst).post(URL, draft_for(county_eoc)).json()["id"]
    api(analyst).post(f"{URL}{pk}/submit/")
    reviewer = api(supervisor)
    assert set(errors_of(reviewer.post(f"{URL}{pk}/return/"))) == {"comment"}
    assert set(errors_of(reviewer.post(f"{URL}{pk}/return/", {"comment": "  "}))) == {"comment"}
    assert ThreatProduct.objects.get(pk=pk).state == S.IN_REVIEW
    returned = reviewer.post(f"{URL}{pk}/return/", {"comment": "Cite the source report."})
    assert returned.status_code == 200
    assert returned.json()["state"] == "draft"


def test_editing_drafts_and_not_published_versions(api, analyst, supervisor, county_eoc, publish):
    author = api(analyst)
    pk = author.post(URL, draft_for(county_eoc)).json()["id"]
    patched = author.patch(f"{URL}{pk}/", {"title": "Copper theft: a fourth site"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["title"] == "Copper theft: a fourth site"
    assert patched.json()["audience_agencies"] == [county_eoc.pk]  # what was not sent stays
    assert patched.json()["tags"] == ["copper", "substations"]

    # PUT replaces what the author wrote: the tags not sent are gone.
    replaced = author.put(f"{URL}{pk}/", draft_for(county_eoc, tags=[]))
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["tags"] == []

    published = publish(analyst, audience_agencies=[county_eoc], title="Published bulletin")
    errors = errors_of(author.patch(f"{URL}{published.pk}/", {"title": "Rewritten"}))
    assert "Only a draft can be edited" in errors["state"][0]
    published.refresh_from_db()
    assert published.title == "Published bulletin"


def test_update_starts_the_next_version_and_versions_lists_the_series(
    api, analyst, supervisor, coordinator, county_eoc, publish
):
    first = publish(analyst, audience_agencies=[county_eoc])
    started = api(analyst).post(f"{URL}{first.pk}/update/")
    assert started.status_code == 201, started.content
    draft = started.json()
    assert (draft["number"], draft["version"], draft["state"], draft["previous_version"]) == (
        first.number,
        2,
        "draft",
        first.pk,
    )
    # The partner does not see the draft of the next version, nor its place in the series.
    assert api(coordinator).get(f"{URL}{draft['id']}/").status_code == 404
    assert [v["version"] for v in api(coordinator).get(f"{URL}{first.pk}/versions/").json()["results"]] == [1]

    api(analyst).post(f"{URL}{draft['id']}/submit/")
    assert api(supervisor).post(f"{URL}{draft['id']}/approve/").json()["state"] == "published"
    versions = api(coordinator).get(f"{URL}{first.pk}/versions/").json()["results"]
    assert [(v["version"], v["state"]) for v in versions] == [(2, "published"), (1, "superseded")]


def test_retraction_needs_a_reason_and_leaves_a_tombstone(api, analyst, supervisor, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    assert set(errors_of(api(supervisor).post(f"{URL}{product.pk}/retract/"))) == {"reason"}
    retracted = api(supervisor).post(f"{URL}{product.pk}/retract/", {"reason": "The source withdrew the report."})
    assert retracted.status_code == 200
    tombstone = api(coordinator).get(f"{URL}{product.pk}/").json()
    assert tombstone["state"] == "retracted"
    assert tombstone["retraction_reason"] == "The source withdrew the report."


# --- Bad input ----------------------------------------------------------------------------------


def test_tlp_red_without_named_people_is_refused(api, analyst):
    errors = errors_of(api(analyst).post(URL, {**DRAFT, "tlp": "red"}))
    assert "named people" in errors["audience_people"][0]
    assert not ThreatProduct.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"audience_agencies": [987654]}, "audience_agencies"),
        ({"audience_agencies": ["abc"]}, "audience_agencies"),
        ({"audience_agencies": 5}, "audience_agencies"),
        ({"audience_jurisdictions": [987654]}, "audience_jurisdictions"),
        ({"audience_people": [987654]}, "audience_people"),
        ({"information_needs": [987654]}, "information_needs"),
        ({"audience_agencies": [2**70]}, "audience_agencies"),
        ({"caveats": ["SECRET"]}, "caveats"),
        ({"audience_levels": ["galactic"]}, "audience_levels"),
        ({"tags": [{"nested": "object"}]}, "tags"),
        ({"tags": ["x" * 61]}, "tags"),
        ({"tlp": "purple"}, "tlp"),
        ({"kind": "rumour"}, "kind"),
        ({"expires_at": "yesterday"}, "expires_at"),
        ({"title": ""}, "title"),
        ({"caveats": ["LES"], "tearline": ""}, "tearline"),
        ({"is_criminal_intelligence": True}, "criminal_predicate"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_saved(
    api, analyst, coordinator, county_eoc, overrides, field
):
    response = api(analyst).post(URL, draft_for(county_eoc, **overrides))
    errors = errors_of(response)
    assert field in errors
    assert all(isinstance(message, str) and "{" not in message for message in errors[field])
    assert not ThreatProduct.objects.exists()


def test_inactive_people_and_agencies_cannot_be_named(api, analyst, county_eoc, coordinator):
    county_eoc.is_active = False
    county_eoc.save()
    errors = errors_of(api(analyst).post(URL, draft_for(county_eoc, audience_people=[coordinator.pk])))
    assert set(errors) == {"audience_agencies", "audience_people"}


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_a_body_that_is_not_an_object_gets_400(client, analyst, body):
    client.force_login(analyst)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "errors" in response.json()


@pytest.mark.parametrize("pk", ["abc", "0", str(2**70)])
def test_a_product_id_that_names_nothing_gets_404(api, analyst, pk):
    assert api(analyst).get(f"{URL}{pk}/").status_code == 404


# --- Markings in the representation ------------------------------------------------------------


@pytest.fixture
def les_product(analyst, county_eoc, publish):
    return publish(
        analyst,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        summary="Informant reports the ring sells to a scrap yard on Route 9.",
        body="The informant, a yard employee, saw 400 lb of cut ground wire.",
        tearline="Copper thefts at substations: report suspicious activity near substations.",
        is_criminal_intelligence=True,
        criminal_predicate="Reasonable suspicion of an organised theft ring.",
    )


def test_reader_without_law_enforcement_status_gets_only_the_tearline(api, coordinator, les_product):
    assert not coordinator.is_law_enforcement
    reader = api(coordinator)
    response = reader.get(f"{URL}{les_product.pk}/")
    assert response.status_code == 200
    shown = response.json()
    assert shown["access"] == "tearline"
    assert shown["tearline"] == les_product.tearline
    assert set(shown) == {
        "id", "number", "display_number", "version", "previous_version", "kind", "title", "tlp", "tlp_label",
        "caveats", "state", "access", "originating_agency", "tearline", "effective_at", "expires_at", "is_expired",
        "created_at", "updated_at", "published_at", "retracted_at", "purged_at",
    }  # fmt: skip
    for secret in ("scrap yard", "informant", "organised theft ring", "ground wire"):
        assert secret not in response.content.decode().lower()
    listed = reader.get(URL)
    assert [p["access"] for p in listed.json()["results"]] == ["tearline"]
    assert "scrap yard" not in listed.content.decode()
    assert "scrap yard" not in reader.get(f"{URL}{les_product.pk}/versions/").content.decode()
    # Words of the full text do not find it either; words of the tearline do.
    assert reader.get(URL, {"q": "scrap yard"}).json()["results"] == []
    assert [p["id"] for p in reader.get(URL, {"q": "suspicious"}).json()["results"]] == [les_product.pk]


def test_law_enforcement_reader_gets_the_full_text(api, county_eoc, les_product):
    officer = UserFactory(agency=county_eoc, is_law_enforcement=True)
    shown = api(officer).get(f"{URL}{les_product.pk}/").json()
    assert shown["access"] == "full"
    assert shown["body"] == les_product.body
    assert shown["criminal_predicate"] == les_product.criminal_predicate


def test_recipients_never_see_the_audience_or_who_wrote_it(api, analyst, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc], audience_levels=["local"])
    recipient = api(coordinator).get(f"{URL}{product.pk}/").json()
    assert recipient["access"] == "full"
    for field in ("audience_agencies", "audience_levels", "audience_people", "author", "reviewer", "release_reason"):
        assert field not in recipient
    originator = api(analyst).get(f"{URL}{product.pk}/").json()
    assert originator["audience_agencies"] == [county_eoc.pk]
    assert originator["audience_levels"] == ["local"]
    assert originator["author"]["id"] == analyst.pk


def test_write_fields_take_ids_and_read_back(api, analyst, coordinator, county, county_eoc):
    need = InformationNeed.objects.create(code="SIN-NC-003", title="Attacks on the grid", agency=county_eoc)
    response = api(analyst).post(
        URL,
        draft_for(
            county_eoc,
            audience_jurisdictions=[county.pk],
            audience_people=[coordinator.pk],
            information_needs=[need.pk],
            audience_disciplines=["fire", "emergency_management"],
            caveats=["FOUO"],
        ),
    )
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["audience_jurisdictions"] == [county.pk]
    assert shown["audience_people"] == [coordinator.pk]
    assert shown["information_needs"] == [need.pk]
    assert shown["audience_disciplines"] == ["fire", "emergency_management"]
    assert shown["caveats"] == ["FOUO"]


# --- Lists: filters, search and cost ------------------------------------------------------------


@pytest.fixture
def shelf(analyst, county_eoc, publish):
    """Published products of several kinds, markings and tags."""
    return {
        "copper": publish(analyst, audience_agencies=[county_eoc], tags=["copper"]),
        "bolo": publish(
            analyst,
            audience_agencies=[county_eoc],
            kind=ThreatProduct.Kind.BOLO,
            title="Stolen utility truck",
            summary="A white utility truck taken from a depot.",
            body="Plate NC-1234. The thieves may carry copper wire.",
            tlp=TLP.GREEN,
            tags=["vehicle"],
        ),
        "expired": publish(
            analyst,
            audience_agencies=[county_eoc],
            title="Fair weekend threat assessment",
            summary="No specific threat to the state fair.",
            body="Crowds of 40,000 expected each day.",
            kind=ThreatProduct.Kind.SPECIAL_EVENT,
            expires_at=timezone.now() - timezone.timedelta(days=1),
            effective_at=timezone.now() - timezone.timedelta(days=3),
        ),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_list_filters(api, coordinator, shelf):
    reader = api(coordinator)
    assert set(ids(reader.get(URL))) == {shelf["copper"].pk, shelf["bolo"].pk}
    assert ids(reader.get(URL, {"kind": "bolo"})) == [shelf["bolo"].pk]
    assert ids(reader.get(URL, {"tlp": "green"})) == [shelf["bolo"].pk]
    assert ids(reader.get(URL, {"tag": "copper"})) == [shelf["copper"].pk]
    assert shelf["expired"].pk in ids(reader.get(URL, {"include_expired": "true"}))
    originator = shelf["copper"].originating_agency_id
    assert len(ids(reader.get(URL, {"originator": originator}))) == 2
    assert ids(reader.get(URL, {"originator": originator + 1000})) == []
    today = timezone.localdate().isoformat()
    assert len(ids(reader.get(URL, {"published_from": today, "published_to": today}))) == 2
    assert ids(reader.get(URL, {"published_to": "2000-01-01"})) == []


def test_search_is_ranked_title_above_body(api, coordinator, shelf):
    # "copper" is in the first product's title and only in the body of the BOLO.
    found = ids(api(coordinator).get(URL, {"q": "copper"}))
    assert found == [shelf["copper"].pk, shelf["bolo"].pk]
    # Expired products leave the default list but stay searchable.
    assert ids(api(coordinator).get(URL, {"q": "state fair"})) == [shelf["expired"].pk]
    assert ids(api(coordinator).get(URL, {"q": "copper", "kind": "bolo"})) == [shelf["bolo"].pk]


def test_products_read_as_their_declared_fields(analyst, coordinator, county_eoc, publish, rf):
    # The serializer reads products straight, for speed; the generic path of its declared fields is the reference.
    need = InformationNeed.objects.create(code="SIN-NC-009", title="Grid attacks", agency=county_eoc)
    publish(analyst, audience_agencies=[county_eoc], information_needs=[need], tags=["grid"], audience_levels=["local"])
    publish(analyst, audience_agencies=[county_eoc], caveats=[Caveat.LES], tearline="Substations targeted.")
    publish(analyst, audience_agencies=[county_eoc], is_criminal_intelligence=True, criminal_predicate="Theft ring.")
    for person in (analyst, coordinator):
        request = rf.get("/")
        request.user = person
        products = with_relations(ThreatProduct.objects.visible_to(person)).order_by("pk")
        assert len(products) == 3
        for product in products:
            serializer = ProductSerializer(product, context={"request": request})
            fast = serializer.to_representation(product)
            assert fast == serializers.Serializer.to_representation(serializer, product), product.title


@pytest.mark.parametrize("recent", [20_000, 1], ids=["among the recent products", "among older products too"])
def test_a_search_ranks_the_newest_matches_and_says_there_are_more(
    recent, api, analyst, coordinator, county_eoc, publish, monkeypatch
):
    monkeypatch.setattr("sharing.selectors.SEARCH_CANDIDATES", 2)
    monkeypatch.setattr("sharing.selectors.RECENT_PRODUCTS", recent)
    publish(analyst, audience_agencies=[county_eoc], title="Pipeline pipeline pipeline", body="The oldest.")
    publish(analyst, audience_agencies=[county_eoc], title="Weekly roundup", body="A pipeline valve, again.")
    in_body = publish(analyst, audience_agencies=[county_eoc], title="Weekly roundup", body="A pipeline valve.")
    in_title = publish(analyst, audience_agencies=[county_eoc], title="Pipeline valve tampering", body="Valves.")

    body = api(coordinator).get(URL, {"q": "pipeline"}).json()

    # The two newest matches, the title match first; the older ones are not ranked, only announced.
    assert [product["id"] for product in body["results"]] == [in_title.pk, in_body.pk]
    assert (body["count"], body["count_is_exact"], body["next"]) == (2, False, None)
    assert api(coordinator).get(URL, {"q": "pipeline", "page": 2}).status_code == 404


def test_a_long_list_is_counted_only_up_to_the_limit_and_pages_on(
    api, analyst, coordinator, county_eoc, publish, monkeypatch
):
    monkeypatch.setattr("agencies.pagination.COUNT_LIMIT", 2)
    for number in range(3):
        publish(analyst, audience_agencies=[county_eoc], title=f"Bulletin {number}")
    reader = api(coordinator)

    first = reader.get(URL, {"page_size": 1}).json()
    last = reader.get(URL, {"page_size": 1, "page": 3}).json()

    assert (first["count"], first["count_is_exact"]) == (2, False)
    assert "page=2" in first["next"]
    assert [p["title"] for p in last["results"]] == ["Bulletin 0"]
    assert (last["count"], last["count_is_exact"], last["next"]) == (3, True, None)
    assert reader.get(URL, {"page_size": 1, "page": 4}).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"tlp": "purple"}, "tlp"),
        ({"published_from": "2026-13-40"}, "published_from"),
        ({"published_from": "2026-05-02", "published_to": "2026-05-01"}, "published_to"),
        ({"originator": "abc"}, "originator"),
    ],
)
def test_bad_filters_get_field_messages(api, coordinator, query, field):
    assert field in errors_of(api(coordinator).get(URL, query))


@pytest.mark.parametrize("count", [3, 30])
def test_list_costs_a_fixed_number_of_queries(
    count, api, analyst, coordinator, county_eoc, publish, django_assert_max_num_queries
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
    for reader in (api(coordinator), api(analyst)):
        # The same number for 3 products as for 30.
        with django_assert_max_num_queries(10):
            assert len(ids(reader.get(URL))) == count
        # The same number for 3 products as for 30.
        with django_assert_max_num_queries(10):
            assert len(ids(reader.get(URL, {"q": "pipeline", "tag": "pipeline"}))) == count


def test_schema_describes_the_product_endpoints(api, coordinator):
    response = api(coordinator).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/products/{id}/submit/",
        "/api/v1/products/{id}/return/",
        "/api/v1/products/{id}/approve/",
        "/api/v1/products/{id}/update/",
        "/api/v1/products/{id}/retract/",
        "/api/v1/products/{id}/versions/",
        "/api/v1/products/{id}/stix/",
    ):
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/api/v1/products/"])
    assert {"get", "put", "patch"} <= set(paths["/api/v1/products/{id}/"])
    assert "q" in [p["name"] for p in paths["/api/v1/products/"]["get"]["parameters"]]


def test_in_review_products_can_be_listed_by_state(api, analyst, supervisor, county_eoc):
    product = create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    submit_for_review(product=product, by=analyst)
    assert ids(api(supervisor).get(URL, {"state": "in_review"})) == [product.pk]
