"""Requests for information: the lifecycle by the right and the wrong people, in the browser and the API;
due dates, answer products under the visibility policy, overdue requests, history, events, query counts."""

import itertools
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from agencies.markings import TLP, Caveat
from agencies.models import Agency, Role
from dissemination.models import DomainEvent
from sharing.models import RequestEvent, RequestForInformation
from sharing.services import requests as services
from sharing.services.products import create_product
from sharing.services.requests import TRANSITIONS, next_state
from tests.factories import AgencyFactory, UserFactory
from tests.second_factor import VerifiedClient as Client
from tests.sharing.conftest import content

S = RequestForInformation.State
A = RequestEvent.Action
QUESTION = "Are there known threats to the county fair next week?"


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def as_person(client):
    """A browser signed in as the person: a client of its own, so people can take turns. The clients
    share one request handler, whose middleware (the static file index) is costly to build."""

    def _as_person(person) -> Client:
        browser = Client()
        browser.handler = client.handler
        browser.force_login(person)
        return browser

    return _as_person


@pytest.fixture
def second_analyst(fusion_center):
    return UserFactory(
        username="analyst2", first_name="Rita", last_name="Second", agency=fusion_center, roles=[Role.ANALYST]
    )


@pytest.fixture
def ask(coordinator, fusion_center):
    """Submit a request through the service (by the county EOC's coordinator unless told otherwise)."""

    def _ask(by=None, **overrides):
        values = {"question": QUESTION, "due_date": in_days(3), "priority": RequestForInformation.Priority.PRIORITY}
        values.update(overrides)
        return services.submit_request(by=by or coordinator, **values)

    return _ask


@pytest.fixture
def rfi(ask):
    return ask()


@pytest.fixture
def assigned(rfi, supervisor, analyst):
    return services.assign_request(rfi=rfi, by=supervisor, assignee=analyst)


@pytest.fixture
def released(publish, analyst, county_eoc):
    """A published bulletin the county EOC (the requester's agency) may read."""
    return publish(analyst, title="County fair threat assessment", audience_agencies=[county_eoc])


@pytest.fixture
def withheld(publish, analyst, outside_agency):
    """A published bulletin for another agency only: the requester may not see it."""
    return publish(analyst, title="Outside agency only", tlp=TLP.AMBER_STRICT, audience_agencies=[outside_agency])


def text_of(response) -> str:
    return response.content.decode()


# --- The state table ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "action"), list(itertools.product(S.values, A.values)))
def test_state_table(start, action):
    if (start, action) in TRANSITIONS:
        assert next_state(start, action) == TRANSITIONS[(start, action)]
    else:
        with pytest.raises(ValidationError) as refused:
            next_state(start, action)
        assert "state" in refused.value.message_dict


def _put_in_state(rfi, state, assignee):
    now = timezone.now()
    RequestForInformation.objects.filter(pk=rfi.pk).update(
        state=state,
        assignee=assignee,  # kept in every state, so only the state table decides
        answered_at=now if state in (S.ANSWERED, S.CLOSED) else None,
        closed_at=now if state == S.CLOSED else None,
    )
    rfi.refresh_from_db()
    return rfi


@pytest.mark.parametrize(("start", "action"), list(itertools.product(S.values, [A.ASSIGNED, A.ANSWERED, A.CLOSED])))
def test_every_transition_through_the_services(rfi, supervisor, analyst, second_analyst, coordinator, start, action):
    rfi = _put_in_state(rfi, start, analyst)
    events_before = rfi.events.count()

    def act():
        if action == A.ASSIGNED:
            return services.assign_request(rfi=rfi, by=supervisor, assignee=second_analyst)
        if action == A.ANSWERED:
            return services.answer_request(rfi=rfi, by=analyst, answer="No credible threat is known.")
        return services.close_request(rfi=rfi, by=coordinator)

    if (start, action) in TRANSITIONS:
        moved = act()
        moved.refresh_from_db()
        assert moved.state == TRANSITIONS[(start, action)]
        assert list(moved.events.values_list("action", flat=True))[-1] == action
    else:
        with pytest.raises(ValidationError):
            act()
        rfi.refresh_from_db()
        assert rfi.state == start
        assert rfi.events.count() == events_before


# --- Submitting --------------------------------------------------------------------------------


def test_submitting_numbers_the_request_and_records_it(ask, coordinator, fusion_center):
    first, second = ask(), ask(question="Second question")
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"RFI-{year}-0001", f"RFI-{year}-0002")
    assert first.fusion_center == fusion_center
    assert first.requesting_agency == coordinator.agency
    assert first.state == S.SUBMITTED
    assert [(e.action, e.by) for e in first.events.all()] == [(A.SUBMITTED, coordinator)]


def test_submitting_records_the_rfi_submitted_event_after_commit(
    coordinator, fusion_center, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        rfi = services.submit_request(
            by=coordinator, question=QUESTION, due_date=in_days(1), context={"incident_id": 7}
        )
    event = DomainEvent.objects.get(kind="rfi_submitted", subject_id=rfi.pk)
    assert event.subject_type == "sharing.requestforinformation"
    assert event.payload["number"] == rfi.number
    assert event.payload["requesting_agency_id"] == coordinator.agency_id
    assert event.payload["context"] == {"incident_id": 7}
    assert len(callbacks) == 1  # the event's task goes out only once the request is committed


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_date": in_days(-1)}, "due_date"),
        ({"due_date": None}, "due_date"),
        ({"question": "   "}, "question"),
        ({"priority": "whenever"}, "priority"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_saved(ask, overrides, field):
    with pytest.raises(ValidationError) as refused:
        ask(**overrides)
    assert field in refused.value.message_dict
    assert not RequestForInformation.objects.exists()
    assert not DomainEvent.objects.filter(kind="rfi_submitted").exists()


def test_due_today_is_accepted(ask):
    assert ask(due_date=timezone.localdate()).due_date == timezone.localdate()


def test_a_request_cannot_go_to_an_agency_that_is_not_a_fusion_center(ask, county_eoc):
    with pytest.raises(ValidationError) as refused:
        ask(fusion_center=county_eoc)
    assert "fusion_center" in refused.value.message_dict


def test_without_a_fusion_center_the_request_is_refused(coordinator, db):
    with pytest.raises(ValidationError) as refused:
        services.submit_request(by=coordinator, question=QUESTION, due_date=in_days(1))
    assert refused.value.message_dict["fusion_center"] == ["There is no fusion center to send the request to."]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_get_unique_numbers_without_gaps(coordinator, fusion_center):
    count = 6
    barrier = threading.Barrier(count)
    errors = []

    def submit(index):
        try:
            barrier.wait()
            services.submit_request(by=coordinator, question=f"Question {index}", due_date=in_days(2))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = RequestForInformation.objects.values_list("number", flat=True)
    assert sorted(int(number.rsplit("-", 1)[1]) for number in numbers) == list(range(1, count + 1))


# --- Assigning, answering, closing: who may ------------------------------------------------------


def test_only_a_supervisor_of_the_receiving_center_assigns(rfi, analyst, coordinator, outsider, second_analyst):
    for person in (analyst, coordinator, outsider):
        with pytest.raises(PermissionDenied):
            services.assign_request(rfi=rfi, by=person, assignee=second_analyst)
    rfi.refresh_from_db()
    assert rfi.state == S.SUBMITTED


def test_the_assignee_must_be_an_active_analyst_of_the_center(rfi, supervisor, liaison_officer, outsider):
    inactive = UserFactory(agency=supervisor.agency, roles=[Role.ANALYST], is_active=False)
    for person in (liaison_officer, outsider, inactive):
        with pytest.raises(ValidationError) as refused:
            services.assign_request(rfi=rfi, by=supervisor, assignee=person)
        assert "assignee" in refused.value.message_dict


def test_a_supervisor_hands_the_request_to_another_analyst(assigned, supervisor, analyst, second_analyst):
    services.assign_request(rfi=assigned, by=supervisor, assignee=second_analyst, note="Rita knows the fair.")
    assigned.refresh_from_db()
    assert assigned.assignee == second_analyst
    with pytest.raises(PermissionDenied):
        services.answer_request(rfi=assigned, by=analyst, answer="Too late.")
    assert assigned.events.last().note == f"Assigned to {second_analyst}. Rita knows the fair."


def test_only_the_assignee_answers(assigned, supervisor, second_analyst, coordinator):
    for person in (supervisor, second_analyst, coordinator):
        with pytest.raises(PermissionDenied):
            services.answer_request(rfi=assigned, by=person, answer="An answer.")


def test_an_answer_needs_text_or_products(assigned, analyst):
    with pytest.raises(ValidationError) as refused:
        services.answer_request(rfi=assigned, by=analyst, answer="  ")
    assert "answer" in refused.value.message_dict
    assigned.refresh_from_db()
    assert assigned.state == S.ASSIGNED


def test_answering_with_products_records_the_rfi_answered_event(assigned, analyst, released):
    rfi = services.answer_request(rfi=assigned, by=analyst, answer="See the assessment.", product_ids=[released.pk])
    assert list(rfi.answer_products.all()) == [released]
    event = DomainEvent.objects.get(kind="rfi_answered", subject_id=rfi.pk)
    assert event.payload["product_ids"] == [released.pk]
    assert event.payload["answered_by_id"] == analyst.pk
    assert event.payload["requester_id"] == rfi.requester_id
    assert rfi.events.last().note == f"Products: {released.display_number}."


def test_answer_products_the_requester_may_not_see_are_refused(assigned, analyst, released, withheld):
    with pytest.raises(ValidationError) as refused:
        services.answer_request(rfi=assigned, by=analyst, product_ids=[released.pk, withheld.pk])
    assert withheld.display_number in refused.value.message_dict["products"][0]
    assigned.refresh_from_db()
    assert assigned.state == S.ASSIGNED
    assert not assigned.answer_products.exists()
    assert not DomainEvent.objects.filter(kind="rfi_answered").exists()


def test_les_products_without_tearline_are_refused_for_a_requester_without_law_enforcement_status(
    assigned, analyst, publish, coordinator
):
    les = publish(analyst, tlp=TLP.RED, caveats=[Caveat.LES], audience_people=[coordinator], tearline="")
    with pytest.raises(ValidationError) as refused:
        services.answer_request(rfi=assigned, by=analyst, product_ids=[les.pk])
    assert "products" in refused.value.message_dict


def test_drafts_and_unknown_products_are_refused(assigned, analyst):
    draft = create_product(author=analyst, content=content(title="Unfinished draft"))
    with pytest.raises(ValidationError) as refused:
        services.answer_request(rfi=assigned, by=analyst, product_ids=[draft.pk])
    assert "published" in refused.value.message_dict["products"][0]
    with pytest.raises(ValidationError) as refused:
        services.answer_request(rfi=assigned, by=analyst, product_ids=[987654])
    assert refused.value.message_dict["products"] == ["No such product: #987654."]


def test_the_requester_or_a_center_supervisor_closes(rfi, ask, supervisor, analyst, agency_admin, outsider):
    for person in (analyst, agency_admin, outsider):
        with pytest.raises(PermissionDenied):
            services.close_request(rfi=rfi, by=person)
    services.close_request(rfi=ask(), by=supervisor, note="Duplicate of an earlier request.")
    closed = services.close_request(rfi=rfi, by=rfi.requester, note="No longer needed.")
    assert closed.state == S.CLOSED
    assert closed.closed_at is not None


# --- Browser: the whole journey and the wrong people ---------------------------------------------


def test_browser_journey_from_question_to_closed_answer(
    as_person, coordinator, supervisor, analyst, released, fusion_center, county
):
    requester = as_person(coordinator)
    response = requester.get("/requests/new/")
    assert response.status_code == 200
    assert "Ask the fusion center" in text_of(response)
    response = requester.post(
        "/requests/new/",
        {
            "question": QUESTION,
            "priority": "immediate",
            "due_date": in_days(2).isoformat(),
            "jurisdiction": county.pk,
            "fusion_center": fusion_center.pk,
        },
        follow=True,
    )
    rfi = RequestForInformation.objects.get()
    assert f"{rfi.number} sent to State Fusion Center." in text_of(response)
    assert rfi.jurisdiction == county
    assert rfi.priority == "immediate"

    center = as_person(supervisor)
    queue = text_of(center.get("/requests/"))
    assert "Requests for information received" in queue
    assert rfi.number in queue
    page = text_of(center.get(f"/requests/{rfi.pk}/"))
    assert "Assign to an analyst" in page
    response = center.post(f"/requests/{rfi.pk}/assign/", {"assignee": analyst.pk, "note": "Urgent."}, follow=True)
    assert f"{rfi.number} assigned to {analyst}." in text_of(response)

    answerer = as_person(analyst)
    page = text_of(answerer.get(f"/requests/{rfi.pk}/"))
    assert "Answer the request" in page
    assert released.title in page  # offered as an answer product
    response = answerer.post(
        f"/requests/{rfi.pk}/answer/",
        {"answer": "No credible threat; see the assessment.", "products": [released.pk]},
        follow=True,
    )
    assert f"{rfi.number} answered" in text_of(response)

    page = text_of(requester.get(f"/requests/{rfi.pk}/"))
    assert "No credible threat; see the assessment." in page
    assert f"{released.display_number} {released.title}" in page
    assert "Close the request" in page
    response = requester.post(f"/requests/{rfi.pk}/close/", {"note": "Thanks."}, follow=True)
    assert f"{rfi.number} closed." in text_of(response)
    rfi.refresh_from_db()
    assert rfi.state == S.CLOSED
    page = text_of(response)
    for label in ("Submitted", "Assigned", "Answered", "Closed"):
        assert f"<strong>{label}</strong> by" in page
    assert "Close the request" not in page


def test_the_form_refuses_a_due_date_in_the_past(as_person, coordinator, fusion_center):
    response = as_person(coordinator).post(
        "/requests/new/",
        {
            "question": QUESTION,
            "priority": "routine",
            "due_date": in_days(-1).isoformat(),
            "fusion_center": fusion_center.pk,
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "The due date cannot be in the past." in page
    assert 'aria-invalid="true"' in page
    assert QUESTION in page  # what was typed stays
    assert not RequestForInformation.objects.exists()


def test_the_form_names_missing_fields(as_person, coordinator, fusion_center):
    response = as_person(coordinator).post("/requests/new/", {"priority": "routine", "fusion_center": fusion_center.pk})
    page = text_of(response)
    assert page.count("This field is required.") == 2
    assert not RequestForInformation.objects.exists()


def test_the_create_form_offers_the_fusion_center_by_default(as_person, coordinator, fusion_center):
    page = text_of(as_person(coordinator).get("/requests/new/"))
    assert f'<option value="{fusion_center.pk}" selected>State Fusion Center</option>' in page


def test_wrong_people_in_the_browser_get_403_or_404(
    as_person, assigned, coordinator, analyst, second_analyst, agency_admin, outsider, supervisor
):
    url = f"/requests/{assigned.pk}"
    assert as_person(coordinator).post(f"{url}/assign/", {"assignee": analyst.pk}).status_code == 403
    assert as_person(analyst).post(f"{url}/assign/", {"assignee": second_analyst.pk}).status_code == 403
    assert as_person(supervisor).post(f"{url}/answer/", {"answer": "Mine."}).status_code == 403
    assert as_person(second_analyst).post(f"{url}/answer/", {"answer": "Mine."}).status_code == 403
    assert as_person(agency_admin).post(f"{url}/close/").status_code == 403
    assert as_person(analyst).post(f"{url}/close/").status_code == 403
    outside = as_person(outsider)
    for path in ("/", "/assign/", "/answer/", "/close/"):
        response = outside.post(f"{url}{path}") if path != "/" else outside.get(f"{url}/")
        assert response.status_code == 404, path
    assigned.refresh_from_db()
    assert assigned.state == S.ASSIGNED
    assert assigned.assignee == analyst


def test_forms_show_only_to_those_who_may_use_them(as_person, rfi, coordinator, analyst, supervisor, agency_admin):
    page = text_of(as_person(coordinator).get(f"/requests/{rfi.pk}/"))
    assert "Close the request" in page
    assert "Assign to an analyst" not in page
    page = text_of(as_person(analyst).get(f"/requests/{rfi.pk}/"))
    assert "Assign to an analyst" not in page
    assert "Close the request" not in page
    assert "Answer the request" not in page
    page = text_of(as_person(agency_admin).get(f"/requests/{rfi.pk}/"))
    assert QUESTION in page
    assert "Close the request" not in page


def test_the_answer_form_offers_only_products_the_requester_may_see(as_person, assigned, analyst, released, withheld):
    client = as_person(analyst)
    page = text_of(client.get(f"/requests/{assigned.pk}/"))
    assert released.title in page
    assert withheld.title not in page
    response = client.post(f"/requests/{assigned.pk}/answer/", {"answer": "See this.", "products": [withheld.pk]})
    assert response.status_code == 200
    assert f"The requester may not see product #{withheld.pk}" in text_of(response)
    assigned.refresh_from_db()
    assert assigned.state == S.ASSIGNED


def test_an_empty_answer_is_redisplayed_with_its_message(as_person, assigned, analyst):
    response = as_person(analyst).post(f"/requests/{assigned.pk}/answer/", {"answer": ""})
    assert response.status_code == 200
    assert "Write an answer, or choose products that answer the question." in text_of(response)


def test_acting_out_of_turn_is_explained_on_the_page(as_person, rfi, coordinator, supervisor, analyst):
    services.close_request(rfi=rfi, by=coordinator)
    response = as_person(supervisor).post(f"/requests/{rfi.pk}/assign/", {"assignee": analyst.pk})
    assert response.status_code == 200
    assert "You cannot assign a request that is closed." in text_of(response)


def test_action_urls_refuse_get(as_person, rfi, supervisor):
    assert as_person(supervisor).get(f"/requests/{rfi.pk}/assign/").status_code == 405


# --- Lists: queue and agency view, overdue, filters, visibility, query counts ---------------------


def test_the_center_sees_its_queue_and_the_requesting_agency_its_own(
    as_person, ask, rfi, supervisor, liaison_officer, agency_admin, outsider, other_county
):
    other_eoc = AgencyFactory(name="Other EOC", acronym="OEOC", kind=Agency.Kind.EOC, jurisdiction=other_county)
    other_coordinator = UserFactory(agency=other_eoc, roles=[Role.EOC_COORDINATOR])
    other = ask(by=other_coordinator, question="Other county question")
    for person in (supervisor, liaison_officer):
        page = text_of(as_person(person).get("/requests/"))
        assert rfi.number in page
        assert other.number in page
    page = text_of(as_person(agency_admin).get("/requests/"))
    assert "Your agency's requests for information" in page
    assert rfi.number in page
    assert other.number not in page
    page = text_of(as_person(outsider).get("/requests/"))
    assert rfi.number not in page
    assert "No requests match these filters." in page
    assert as_person(other_coordinator).get(f"/requests/{rfi.pk}/").status_code == 404


def test_overdue_requests_stand_out_and_come_first(as_person, ask, supervisor, analyst, coordinator):
    fresh = ask(question="Fresh immediate question", priority="immediate")
    late = ask(question="Late routine question", priority="routine")
    answered_late = ask(question="Answered late question")
    RequestForInformation.objects.filter(pk__in=[late.pk, answered_late.pk]).update(due_date=in_days(-2))
    answered_late = services.assign_request(rfi=answered_late, by=supervisor, assignee=analyst)
    services.answer_request(rfi=answered_late, by=analyst, answer="Answered after the due date.")

    queue = as_person(supervisor)
    response = queue.get("/requests/")
    rows = list(response.context["page"].object_list)
    assert [r.pk for r in rows] == [late.pk, fresh.pk, answered_late.pk]
    page = text_of(response)
    assert page.count('data-testid="overdue"') == 1
    assert page.index(late.number) < page.index(fresh.number)
    assert "fh-rfi-row--overdue" in page

    overdue_only = queue.get("/requests/", {"overdue": "on"})
    assert [r.pk for r in overdue_only.context["page"].object_list] == [late.pk]
    assert 'data-testid="overdue"' in text_of(as_person(coordinator).get(f"/requests/{late.pk}/"))
    assert 'data-testid="overdue"' not in text_of(as_person(coordinator).get(f"/requests/{fresh.pk}/"))


def test_the_list_filters_by_state_and_priority(as_person, ask, supervisor, analyst):
    routine = ask(priority="routine")
    immediate = ask(priority="immediate")
    services.assign_request(rfi=immediate, by=supervisor, assignee=analyst)
    client = as_person(supervisor)
    assert [r.pk for r in client.get("/requests/", {"state": "assigned"}).context["page"]] == [immediate.pk]
    assert [r.pk for r in client.get("/requests/", {"priority": "routine"}).context["page"]] == [routine.pk]


def _many_requests(ask, supervisor, analyst, count):
    for index in range(count):
        rfi = ask(question=f"Question {index}", priority=["routine", "priority", "immediate"][index % 3])
        if index % 2:
            services.assign_request(rfi=rfi, by=supervisor, assignee=analyst)


@pytest.mark.parametrize("count", [2, 30])
def test_the_list_page_costs_a_fixed_number_of_queries(
    as_person, ask, supervisor, analyst, count, django_assert_max_num_queries
):
    _many_requests(ask, supervisor, analyst, count)
    client = as_person(supervisor)
    client.get("/requests/")  # the session is touched on the first request
    with django_assert_max_num_queries(5):
        response = client.get("/requests/")
    assert len(response.context["page"].object_list) == min(count, 25)


@pytest.mark.parametrize("count", [2, 30])
def test_the_api_list_costs_a_fixed_number_of_queries(
    as_person, ask, supervisor, analyst, count, django_assert_max_num_queries
):
    _many_requests(ask, supervisor, analyst, count)
    client = as_person(supervisor)
    client.get("/api/v1/rfis/")
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/rfis/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 6])
def test_the_detail_page_costs_a_fixed_number_of_queries(
    as_person, assigned, analyst, supervisor, coordinator, publish, county_eoc, count, django_assert_max_num_queries
):
    products = [publish(analyst, title=f"Assessment {index}", audience_agencies=[county_eoc]) for index in range(count)]
    url = f"/requests/{assigned.pk}/"
    for person in (analyst, supervisor):  # the answer form offering the products; the assign form
        client = as_person(person)
        client.get(url)
        with django_assert_max_num_queries(10):
            assert client.get(url).status_code == 200
    services.answer_request(rfi=assigned, by=analyst, answer="See these.", product_ids=[p.pk for p in products])
    client = as_person(coordinator)
    client.get(url)
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert text_of(response).count("Assessment ") == count


# --- API --------------------------------------------------------------------------------------


def test_api_lifecycle(as_person, coordinator, supervisor, analyst, released, fusion_center):
    requester = as_person(coordinator)
    response = requester.post(
        "/api/v1/rfis/",
        {"question": QUESTION, "priority": "priority", "due_date": in_days(4).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["number"].startswith("RFI-")
    assert created["state"] == "submitted"
    assert created["fusion_center"]["acronym"] == fusion_center.acronym
    url = f"/api/v1/rfis/{created['id']}/"

    center = as_person(supervisor)
    assert [r["number"] for r in center.get("/api/v1/rfis/").json()["results"]] == [created["number"]]
    response = center.post(f"{url}assign/", {"assignee": analyst.pk}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == {"id": analyst.pk, "name": str(analyst)}

    response = as_person(analyst).post(
        f"{url}answer/", {"answer": "See the assessment.", "products": [released.pk]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "answered"

    detail = requester.get(url).json()
    assert detail["answer"] == "See the assessment."
    assert detail["answer_products"] == [
        {"id": released.pk, "number": released.display_number, "title": released.title}
    ]
    response = requester.post(f"{url}close/", {}, content_type="application/json")
    assert response.status_code == 200
    history = requester.get(url).json()["history"]
    assert [event["action"] for event in history] == ["submitted", "assigned", "answered", "closed"]
    assert history[1]["by"]["id"] == supervisor.pk


def test_api_refuses_a_due_date_in_the_past(as_person, coordinator, fusion_center):
    response = as_person(coordinator).post(
        "/api/v1/rfis/",
        {"question": QUESTION, "due_date": in_days(-3).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"due_date": ["The due date cannot be in the past."]}}
    assert not RequestForInformation.objects.exists()


def test_api_bad_input_gets_field_messages(as_person, assigned, supervisor, analyst, liaison_officer, withheld):
    url = f"/api/v1/rfis/{assigned.pk}/"
    center = as_person(supervisor)
    response = center.post(f"{url}assign/", {"assignee": liaison_officer.pk}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"assignee": ["Choose an active analyst of the fusion center."]}}
    response = center.post(f"{url}assign/", {"assignee": "someone"}, content_type="application/json")
    assert response.status_code == 400
    assert "assignee" in response.json()["errors"]
    answerer = as_person(analyst)
    response = answerer.post(f"{url}answer/", {"answer": ""}, content_type="application/json")
    assert response.status_code == 400
    assert "answer" in response.json()["errors"]
    response = answerer.post(f"{url}answer/", {"products": [withheld.pk]}, content_type="application/json")
    assert response.status_code == 400
    assert withheld.display_number in response.json()["errors"]["products"][0]
    assert as_person(supervisor).get("/api/v1/rfis/", {"state": "lost"}).status_code == 400
    assigned.refresh_from_db()
    assert assigned.state == S.ASSIGNED


def test_api_wrong_people_get_403_or_404(as_person, assigned, coordinator, analyst, second_analyst, outsider):
    url = f"/api/v1/rfis/{assigned.pk}/"
    response = as_person(coordinator).post(f"{url}assign/", {"assignee": analyst.pk}, content_type="application/json")
    assert response.status_code == 403
    assert "errors" in response.json()
    response = as_person(second_analyst).post(f"{url}answer/", {"answer": "x"}, content_type="application/json")
    assert response.status_code == 403
    outside = as_person(outsider)
    assert outside.get(url).status_code == 404
    assert outside.post(f"{url}close/", {}, content_type="application/json").status_code == 404
    assert outside.get("/api/v1/rfis/").json()["count"] == 0
    assert Client().get("/api/v1/rfis/").status_code in (401, 403)


def test_api_list_filters(as_person, ask, supervisor, analyst):
    late = ask(priority="routine")
    ask(priority="immediate")
    RequestForInformation.objects.filter(pk=late.pk).update(due_date=in_days(-1))
    client = as_person(supervisor)
    results = client.get("/api/v1/rfis/", {"overdue": "true"}).json()["results"]
    assert [(r["id"], r["is_overdue"]) for r in results] == [(late.pk, True)]
    assert client.get("/api/v1/rfis/", {"priority": "immediate"}).json()["count"] == 1


def test_answer_products_are_shown_only_to_those_who_may_see_them(
    as_person, assigned, analyst, publish, county_eoc, coordinator
):
    named = UserFactory(agency=county_eoc, roles=[Role.PARTNER])
    red = publish(analyst, title="Red for the requester", tlp=TLP.RED, audience_people=[coordinator])
    services.answer_request(rfi=assigned, by=analyst, answer="Read this.", product_ids=[red.pk])
    assert red.title in text_of(as_person(coordinator).get(f"/requests/{assigned.pk}/"))
    colleague_page = text_of(as_person(named).get(f"/requests/{assigned.pk}/"))
    assert "Read this." in colleague_page
    assert red.title not in colleague_page
    assert as_person(named).get(f"/api/v1/rfis/{assigned.pk}/").json()["answer_products"] == []
