"""The dissemination pages: a person's inbox, the dissemination record of what an agency sent, email
preferences, agency channels and webhook endpoints."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.markings import TLP, Caveat
from agencies.models import Role
from dissemination.fanout import fan_out
from dissemination.models import AgencyChannels, Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from sharing.services import products as product_services
from tests.factories import UserFactory
from tests.second_factor import VerifiedAsyncClient as AsyncClient
from tests.second_factor import VerifiedClient as Client


@pytest.fixture
def signed_in(db):
    """A fresh browser session for a person (the sign-in form itself is tested in tests/agencies)."""

    def _signed_in(person):
        client = Client()
        client.force_login(person)
        return client

    return _signed_in


@pytest.fixture
def disseminate(publish):
    """Publish a product and fan it out now; returns (product, dispatch)."""

    def _disseminate(author, **overrides):
        product = publish(author, **overrides)
        dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
        assert fan_out(dispatch_id=dispatch.pk)
        dispatch.refresh_from_db()
        return product, dispatch

    return _disseminate


@pytest.fixture
def center_admin(fusion_center):
    """The agency admin of the fusion center that originates the products."""
    return UserFactory(username="center.admin", agency=fusion_center, roles=[Role.AGENCY_ADMIN])


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def page_text(response) -> str:
    return text_of(response.content.decode())


def texts_by_testid(response, name: str) -> list[str]:
    """The visible text of every element carrying data-testid=name (one level: rows, cells)."""
    html = response.content.decode()
    pattern = re.compile(rf'<(\w+)[^>]*data-testid="{name}"[^>]*>(.*?)</\1>', re.S)
    return [text_of(match[2]) for match in pattern.finditer(html)]


def checked_choice(response, name: str) -> str:
    """The value of the radio button of that name that is checked."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    [checked] = [tag for tag in inputs if " checked" in tag]
    return re.search(r'value="([^"]*)"', checked)[1]


def inbox_of(person, dispatch) -> Delivery:
    return Delivery.objects.get(dispatch=dispatch, recipient=person, channel=Delivery.Channel.INBOX)


# --- The inbox -------------------------------------------------------------------------------------


def test_inbox_lists_only_my_deliveries_newest_first(
    analyst, coordinator, outsider, county_eoc, outside_agency, disseminate, signed_in
):
    disseminate(analyst, audience_agencies=[county_eoc], title="Copper theft at substations")
    disseminate(analyst, audience_agencies=[county_eoc], title="Drone sightings over the stadium")
    disseminate(analyst, audience_agencies=[outside_agency], title="Only for the outside police")

    response = signed_in(coordinator).get("/inbox/")

    assert response.status_code == 200
    rows = texts_by_testid(response, "inbox-row")
    assert len(rows) == 2
    assert "Drone sightings over the stadium" in rows[0]
    assert "Copper theft at substations" in rows[1]
    assert "Only for the outside police" not in page_text(response)
    assert all("Unread" in row and "TLP:AMBER" in row and "Intelligence bulletin" in row for row in rows)
    outsider_rows = texts_by_testid(signed_in(outsider).get("/inbox/"), "inbox-row")
    assert len(outsider_rows) == 1
    assert "Only for the outside police" in outsider_rows[0]


def test_inbox_row_shows_number_and_links_through_the_open_address(
    analyst, coordinator, county_eoc, disseminate, signed_in
):
    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)

    response = signed_in(coordinator).get("/inbox/")

    html = response.content.decode()
    assert product.display_number in texts_by_testid(response, "inbox-row")[0]
    assert f'href="/inbox/{delivery.pk}/open/"' in html


def test_opening_an_item_marks_it_read_and_goes_to_its_page(analyst, coordinator, county_eoc, disseminate, signed_in):
    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    client = signed_in(coordinator)

    response = client.get(f"/inbox/{delivery.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == f"/products/{product.pk}/"
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.READ
    assert delivery.read_at is not None
    first_read = delivery.read_at
    client.get(f"/inbox/{delivery.pk}/open/")
    delivery.refresh_from_db()
    assert delivery.read_at == first_read
    row = texts_by_testid(client.get("/inbox/"), "inbox-row")[0]
    assert "Unread" not in row
    assert "Read" in row


def test_acknowledging_sets_the_state_and_time_and_returns_to_the_inbox(
    analyst, coordinator, county_eoc, disseminate, signed_in
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    client = signed_in(coordinator)

    response = client.post(f"/inbox/{delivery.pk}/acknowledge/", {"next": "/inbox/?state=unread"})

    assert response.status_code == 302
    assert response["Location"] == "/inbox/?state=unread"
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.ACKNOWLEDGED
    assert delivery.acknowledged_at is not None
    assert delivery.read_at is not None
    page = client.get("/inbox/")
    assert "Acknowledged" in texts_by_testid(page, "delivery-state")[0]
    assert 'data-testid="acknowledge"' not in page.content.decode()


def test_acknowledge_refuses_get_and_a_foreign_next_address(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    client = signed_in(coordinator)

    assert client.get(f"/inbox/{delivery.pk}/acknowledge/").status_code == 405
    response = client.post(f"/inbox/{delivery.pk}/acknowledge/", {"next": "https://evil.example.com/"})
    assert response["Location"] == "/inbox/"


def test_nobody_opens_or_acknowledges_someone_elses_delivery(
    analyst, coordinator, agency_admin, county_eoc, disseminate, signed_in
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    colleague = signed_in(agency_admin)

    assert colleague.get(f"/inbox/{delivery.pk}/open/").status_code == 404
    assert colleague.post(f"/inbox/{delivery.pk}/acknowledge/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.read_at is None
    assert delivery.acknowledged_at is None


def test_an_email_delivery_is_not_in_the_inbox(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    email = Delivery.objects.get(dispatch=dispatch, recipient=coordinator, channel=Delivery.Channel.EMAIL)

    client = signed_in(coordinator)
    assert client.get(f"/inbox/{email.pk}/open/").status_code == 404
    assert len(texts_by_testid(client.get("/inbox/"), "inbox-row")) == 1


def test_inbox_filters_by_state_kind_tlp_and_date(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, green = disseminate(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, title="Green bulletin")
    _, bolo = disseminate(analyst, audience_agencies=[county_eoc], kind="bolo", title="Stolen truck BOLO")
    _, read = disseminate(analyst, audience_agencies=[county_eoc], title="Already read")
    client = signed_in(coordinator)
    client.get(f"/inbox/{inbox_of(coordinator, read).pk}/open/")
    client.post(f"/inbox/{inbox_of(coordinator, bolo).pk}/acknowledge/")
    Delivery.objects.filter(pk=inbox_of(coordinator, green).pk).update(
        created_at=timezone.now() - timezone.timedelta(days=10)
    )

    def titles(query: str) -> set[str]:
        rows = texts_by_testid(client.get(f"/inbox/?{query}"), "inbox-item")
        return set(rows)

    assert titles("state=unread") == {"Green bulletin"}
    assert titles("state=read") == {"Already read"}
    assert titles("state=acknowledged") == {"Stolen truck BOLO"}
    assert titles("kind=sharing.threatproduct:bolo") == {"Stolen truck BOLO"}
    assert titles("kind=sharing.threatproduct") == {"Green bulletin", "Stolen truck BOLO", "Already read"}
    assert titles("tlp=green") == {"Green bulletin"}
    assert titles("tlp=amber") == {"Stolen truck BOLO", "Already read"}
    since = (timezone.localdate() - timezone.timedelta(days=2)).isoformat()
    assert titles(f"received_from={since}") == {"Stolen truck BOLO", "Already read"}
    assert titles(f"received_to={since}") == {"Green bulletin"}


def test_bad_filters_are_shown_on_the_form_not_a_server_error(analyst, coordinator, county_eoc, disseminate, signed_in):
    disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(coordinator)

    response = client.get("/inbox/?received_from=yesterday&kind=nonsense")

    assert response.status_code == 200
    text = page_text(response)
    assert "Enter a valid date." in text
    assert "Select a valid choice." in text
    assert len(texts_by_testid(response, "inbox-row")) == 1
    reversed_range = client.get("/inbox/?received_from=2026-02-02&received_to=2026-01-01")
    assert "The end of the date range must not come before its start." in page_text(reversed_range)


def test_tearline_only_and_retracted_rows_say_so(analyst, supervisor, coordinator, county_eoc, disseminate, signed_in):
    product, _ = disseminate(analyst, audience_agencies=[county_eoc], caveats=[Caveat.LES], tearline="Police activity")
    product_services.retract_product(product=product, by=supervisor, reason="The source withdrew it")

    response = signed_in(coordinator).get("/inbox/")

    [row] = texts_by_testid(response, "inbox-row")
    assert "You received the tearline only" in row
    assert "Retracted" in row
    assert "LES" in row


def test_inbox_is_paginated(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    # Further deliveries of the same dispatch to the same person cannot exist; earlier dispatches can.
    for number in range(26):
        extra = Dispatch.objects.create(
            item_type=dispatch.item_type,
            item_id=dispatch.item_id,
            action=Dispatch.Action.PUBLISH,
            originating_agency=dispatch.originating_agency,
            created_by=analyst,
        )
        Delivery.objects.create(
            dispatch=extra,
            recipient=coordinator,
            channel=Delivery.Channel.INBOX,
            state=Delivery.State.SENT,
            created_at=delivery.created_at - timezone.timedelta(minutes=number + 1),
        )
    client = signed_in(coordinator)

    first = client.get("/inbox/")
    second = client.get("/inbox/?page=2")

    assert len(texts_by_testid(first, "inbox-row")) == 25
    assert len(texts_by_testid(second, "inbox-row")) == 2
    assert "Page 2 of 2" in page_text(second)


# --- The unread count in the header ----------------------------------------------------------------


def test_header_shows_the_unread_count_on_every_page(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, first = disseminate(analyst, audience_agencies=[county_eoc])
    disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(coordinator)

    for path in ("/", "/inbox/", "/products/", "/notifications/"):
        assert texts_by_testid(client.get(path), "inbox-unread") == ["2 unread"], path

    client.get(f"/inbox/{inbox_of(coordinator, first).pk}/open/")
    assert texts_by_testid(client.get("/"), "inbox-unread") == ["1 unread"]


def test_a_new_delivery_shows_in_the_header_count_at_once(analyst, coordinator, county_eoc, disseminate, signed_in):
    """The count is kept in the cache, but a fan-out makes every kept count stale."""
    disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(coordinator)
    assert texts_by_testid(client.get("/"), "inbox-unread") == ["1 unread"]
    disseminate(analyst, audience_agencies=[county_eoc])
    assert texts_by_testid(client.get("/"), "inbox-unread") == ["2 unread"]


def test_opening_a_product_on_its_own_page_reads_its_inbox_delivery(
    analyst, coordinator, county_eoc, disseminate, signed_in
):
    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(coordinator)
    assert texts_by_testid(client.get("/"), "inbox-unread") == ["1 unread"]
    assert client.get(f"/products/{product.pk}/").status_code == 200
    delivery = Delivery.objects.get(dispatch=dispatch, recipient=coordinator, channel="inbox")
    assert delivery.read_at is not None
    assert delivery.state == Delivery.State.READ
    assert texts_by_testid(client.get("/"), "inbox-unread") == []


def test_header_shows_no_count_when_nothing_is_unread(analyst, coordinator, signed_in):
    response = signed_in(coordinator).get("/")
    assert "Inbox" in page_text(response)
    assert texts_by_testid(response, "inbox-unread") == []


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=/inbox/")


# --- The dissemination record ----------------------------------------------------------------------


@pytest.fixture
def liaison(liaison_officer):
    return liaison_officer


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("analyst", 200),  # the author
        ("supervisor", 200),  # the author's supervisor, who approved it
        ("center_admin", 200),  # the originating agency's admin
        ("system_admin", 200),
        ("liaison", 404),  # of the originating agency, but neither analyst, supervisor nor admin
        ("coordinator", 404),  # a recipient
        ("agency_admin", 404),  # the admin of a recipient agency
        ("outsider", 404),
    ],
)
def test_record_page_is_for_the_originating_agency_and_system_admins(
    request, persona, status, analyst, coordinator, county_eoc, disseminate, signed_in
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(request.getfixturevalue(persona))
    item_path = f"/records/sharing.threatproduct/{dispatch.item_id}/"

    for path in (f"/dispatches/{dispatch.pk}/", f"/dispatches/{dispatch.pk}/progress/", item_path):
        assert client.get(path).status_code == status, path
    assert client.get(f"/dispatches/{dispatch.pk}/?format=csv").status_code == status


def test_record_of_no_such_dispatch_or_item_is_404(analyst, signed_in):
    client = signed_in(analyst)
    assert client.get("/dispatches/999999/").status_code == 404
    assert client.get("/records/sharing.threatproduct/999999/").status_code == 404
    assert client.get("/records/agencies.user/1/").status_code == 404
    assert client.get("/records/no.such/1/").status_code == 404
    assert client.get("/records/nonsense/1/").status_code == 404


def test_record_shows_totals_recipients_reason_and_text_received(
    analyst, supervisor, coordinator, county_eoc, disseminate, signed_in
):
    officer = UserFactory(
        agency=county_eoc, first_name="Lee", last_name="Law", roles=[Role.EOC_COORDINATOR], is_law_enforcement=True
    )
    NotificationPreference.objects.create(person=officer, email_mode="off")
    _, dispatch = disseminate(
        analyst,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        tearline="Police activity near the substations.",
        release_reason="Partners protecting the substations need to know.",
    )

    response = signed_in(supervisor).get(f"/dispatches/{dispatch.pk}/")

    assert texts_by_testid(response, "release-reason") == ["Partners protecting the substations need to know."]
    # Columns: pending, sent, failed, read, acknowledged, total. The officer wants no email.
    assert texts_by_testid(response, "totals-inbox") == ["Inbox 0 2 0 0 0 2"]
    assert texts_by_testid(response, "totals-email") == ["Email 1 0 0 0 0 1"]
    assert texts_by_testid(response, "totals-webhook") == ["Webhook 0 0 0 0 0 0"]
    rows = texts_by_testid(response, "record-row")
    assert len(rows) == 3
    [officer_row] = [row for row in rows if row.startswith("Lee Law")]
    assert re.fullmatch(rf"Lee Law {county_eoc.name} Inbox Sent Full text \d{{4}}-\d\d-\d\d \d\d:\d\d — —", officer_row)
    coordinator_rows = [row for row in rows if row.startswith(str(coordinator))]
    assert sorted(row.split(county_eoc.name)[1].split("Tearline")[0].strip() for row in coordinator_rows) == [
        "Email Pending",
        "Inbox Sent",
    ]
    assert "Recipients recorded: 2 recipients" in page_text(response)
    assert "hx-get" not in response.content.decode()


def test_the_originator_sees_who_acknowledged(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    recipient = signed_in(coordinator)
    recipient.post(f"/inbox/{inbox_of(coordinator, dispatch).pk}/acknowledge/")

    response = signed_in(analyst).get(f"/dispatches/{dispatch.pk}/")

    [people] = texts_by_testid(response, "acknowledged-people")
    assert str(coordinator) in people
    assert county_eoc.name in people
    [row] = [row for row in texts_by_testid(response, "record-row") if str(coordinator) in row and "Inbox" in row]
    assert "Acknowledged" in row
    acknowledged = signed_in(analyst).get(f"/dispatches/{dispatch.pk}/?state=acknowledged")
    assert len(texts_by_testid(acknowledged, "record-row")) == 1


def test_record_filters_narrow_the_recipients(analyst, coordinator, county_eoc, disseminate, signed_in):
    UserFactory(agency=county_eoc, first_name="Quinn", last_name="Other", roles=[Role.EOC_COORDINATOR])
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = signed_in(analyst)

    def rows(query):
        return texts_by_testid(client.get(f"/dispatches/{dispatch.pk}/?{query}"), "record-row")

    assert len(rows("")) == 4
    assert len(rows("channel=inbox")) == 2
    assert len(rows("channel=email&state=pending")) == 2
    assert [row.split(" ")[0:2] for row in rows("q=quinn")] == [["Quinn", "Other"], ["Quinn", "Other"]]
    assert rows("access=tearline") == []
    bad = client.get(f"/dispatches/{dispatch.pk}/?channel=carrier-pigeon")
    assert bad.status_code == 200
    assert "Select a valid choice." in page_text(bad)


def test_csv_export_streams_every_delivery(analyst, coordinator, county_eoc, disseminate, signed_in):
    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    signed_in(coordinator).post(f"/inbox/{inbox_of(coordinator, dispatch).pk}/acknowledge/")
    Delivery.objects.filter(dispatch=dispatch, channel="email").update(
        state=Delivery.State.FAILED, last_error="=HYPERLINK(evil)"
    )

    response = signed_in(analyst).get(f"/dispatches/{dispatch.pk}/?format=csv&page=3")

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="dissemination-record-{dispatch.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    inbox_row = next(row for row in rows if row["channel"] == "inbox")
    assert inbox_row["item"] == product.display_number
    assert inbox_row["action"] == "Published"
    assert inbox_row["person"] == str(coordinator)
    assert inbox_row["username"] == coordinator.username
    assert inbox_row["agency"] == county_eoc.name
    assert inbox_row["state"] == "acknowledged"
    assert inbox_row["text received"] == "full text"
    assert inbox_row["acknowledged at"]
    email_row = next(row for row in rows if row["channel"] == "email")
    assert email_row["state"] == "failed"
    assert email_row["last error"] == "'=HYPERLINK(evil)"


def test_csv_export_streams_chunk_by_chunk_under_asgi(analyst, county_eoc, disseminate):
    """Under the ASGI server the rows come from an asynchronous iterator; a synchronous one would be
    read whole into memory before the first byte is sent."""
    for _ in range(3):
        UserFactory(agency=county_eoc, roles=[Role.PARTNER])
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = AsyncClient()
    client.force_login(analyst)

    async def download():
        response = await client.get(f"/dispatches/{dispatch.pk}/?format=csv")
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = async_to_sync(download)()

    assert response.is_async
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 6
    assert {row["channel"] for row in rows} == {"inbox", "email"}


def test_csv_export_keeps_the_filters(analyst, coordinator, county_eoc, disseminate, signed_in):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    response = signed_in(analyst).get(f"/dispatches/{dispatch.pk}/?channel=email&format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["channel"] for row in rows] == ["email"]


def test_progress_polls_while_the_fan_out_runs_and_stops_when_done(
    analyst, coordinator, county_eoc, publish, signed_in
):
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
    Dispatch.objects.filter(pk=dispatch.pk).update(
        state=Dispatch.State.FANNING_OUT, recipients_total=1200, recipients_done=300
    )
    client = signed_in(analyst)

    running = client.get(f"/dispatches/{dispatch.pk}/progress/")

    html = running.content.decode()
    assert running.status_code == 200
    assert f'hx-get="/dispatches/{dispatch.pk}/progress/"' in html
    assert 'hx-trigger="every 2s"' in html
    assert '<progress id="dispatch-progress-bar" class="fh-progress" max="1200" value="300">' in html
    assert "Recording recipients: 300 of 1200" in page_text(running)
    assert "<html" not in html  # a fragment, not a page
    page = client.get(f"/dispatches/{dispatch.pk}/")
    assert 'hx-trigger="every 2s"' in page.content.decode()
    assert "/static/js/dispatch_progress.js" in page.content.decode()

    Dispatch.objects.filter(pk=dispatch.pk).update(state=Dispatch.State.PENDING)
    assert fan_out(dispatch_id=dispatch.pk)
    done = client.get(f"/dispatches/{dispatch.pk}/progress/")

    assert "hx-get" not in done.content.decode()
    assert 'data-finished="true"' in done.content.decode()
    assert "Recipients recorded: 1 recipient" in page_text(done)


def test_item_record_lists_the_dispatches_of_every_version(
    analyst, supervisor, coordinator, county_eoc, disseminate, signed_in
):
    first, first_dispatch = disseminate(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN)
    signed_in(coordinator).post(f"/inbox/{inbox_of(coordinator, first_dispatch).pk}/acknowledge/")
    draft = product_services.start_update(product=first, by=analyst)
    product_services.submit_for_review(product=draft, by=analyst)
    second = product_services.approve_product(product=draft, reviewer=supervisor)
    fan_out(dispatch_id=Dispatch.objects.get(item_id=second.pk).pk)

    response = signed_in(supervisor).get(f"/records/sharing.threatproduct/{second.pk}/")

    rows = texts_by_testid(response, "item-dispatch")
    assert len(rows) == 2
    assert rows[0].startswith("Updated")
    assert second.display_number in rows[0]
    assert rows[1].startswith("Published")
    # recipients, read, acknowledged, failed
    assert rows[1].endswith("1 1 1 0")
    html = response.content.decode()
    assert f'href="/dispatches/{first_dispatch.pk}/"' in html
    # The earlier version's record does not list the later one.
    older = signed_in(supervisor).get(f"/records/sharing.threatproduct/{first.pk}/")
    assert len(texts_by_testid(older, "item-dispatch")) == 1


def test_item_record_costs_the_same_queries_however_many_versions(
    analyst, supervisor, county_eoc, disseminate, signed_in
):
    product, _ = disseminate(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN)
    client = signed_in(supervisor)

    def update(product):
        draft = product_services.start_update(product=product, by=analyst)
        product_services.submit_for_review(product=draft, by=analyst)
        return product_services.approve_product(product=draft, reviewer=supervisor)

    def record(product):
        cache.clear()  # the unread count, cached: the same cost each time
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/records/sharing.threatproduct/{product.pk}/")
        assert response.status_code == 200
        return len(texts_by_testid(response, "item-dispatch")), len(captured)

    second = update(product)
    rows, queries = record(second)
    fourth = update(update(second))

    assert record(fourth) == (rows + 2, queries)


def test_the_product_page_links_to_its_record_for_those_who_may_see_it(
    analyst, supervisor, liaison_officer, coordinator, county_eoc, disseminate, signed_in
):
    product, _ = disseminate(analyst, audience_agencies=[county_eoc])
    record = f"/records/sharing.threatproduct/{product.pk}/"

    for person in (analyst, supervisor):
        page = signed_in(person).get(f"/products/{product.pk}/")
        assert f'href="{record}" data-testid="dissemination-record"' in page.content.decode()
    for person in (liaison_officer, coordinator):
        page = signed_in(person).get(f"/products/{product.pk}/")
        assert page.status_code == 200
        assert 'data-testid="dissemination-record"' not in page.content.decode()


# --- Queries: fixed whatever the number of rows ----------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_inbox_costs_a_fixed_number_of_queries(
    count, analyst, coordinator, county_eoc, disseminate, signed_in, django_assert_max_num_queries
):
    for number in range(count):
        disseminate(
            analyst,
            audience_agencies=[county_eoc],
            title=f"Bulletin {number}",
            caveats=[Caveat.LES] if number % 2 else [],
            tearline="Tearline.",
        )
    client = signed_in(coordinator)
    client.get("/")  # the session's first request writes its idle clock; measure the ones after

    # Session, person, roles, unread count, page count, page of deliveries, one query per type of item.
    with django_assert_max_num_queries(7):
        response = client.get("/inbox/")
    assert len(texts_by_testid(response, "inbox-row")) == min(count, 25)
    with django_assert_max_num_queries(7):
        response = client.get("/inbox/?state=unread&tlp=amber&kind=sharing.threatproduct:intelligence_bulletin")
    assert len(texts_by_testid(response, "inbox-row")) == min(count, 25)


@pytest.mark.parametrize("count", [3, 30])
def test_record_page_costs_a_fixed_number_of_queries(
    count, analyst, county_eoc, disseminate, signed_in, django_assert_max_num_queries
):
    people = [UserFactory(agency=county_eoc, roles=[Role.PARTNER]) for _ in range(count)]
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    for person in people:
        signed_in(person).post(f"/inbox/{inbox_of(person, dispatch).pk}/acknowledge/")
    client = signed_in(analyst)
    client.get("/")

    # Session, person, roles, dispatch, item, totals, acknowledgements (and their count), page count,
    # page of deliveries, unread count.
    with django_assert_max_num_queries(11):
        response = client.get(f"/dispatches/{dispatch.pk}/")
    assert len(texts_by_testid(response, "record-row")) == min(2 * count, 50)
    with django_assert_max_num_queries(5):
        client.get(f"/dispatches/{dispatch.pk}/progress/")
    with django_assert_max_num_queries(8):
        response = client.get(f"/records/sharing.threatproduct/{dispatch.item_id}/")
    assert len(texts_by_testid(response, "item-dispatch")) == 1


# --- Email preferences and agency channels ---------------------------------------------------------


def test_a_person_chooses_how_they_get_email(coordinator, signed_in):
    client = signed_in(coordinator)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert checked_choice(page, "email_mode") == "immediate"

    response = client.post("/notifications/", {"email_mode": "digest"})

    assert response.status_code == 302
    assert NotificationPreference.objects.get(person=coordinator).email_mode == "digest"
    saved = client.get(response["Location"])
    assert "Your email preference is saved." in page_text(saved)
    assert checked_choice(saved, "email_mode") == "digest"
    client.post("/notifications/", {"email_mode": "off"})
    assert NotificationPreference.objects.get(person=coordinator).email_mode == "off"


def test_a_bad_preference_is_refused_on_the_form(coordinator, signed_in):
    response = signed_in(coordinator).post("/notifications/", {"email_mode": "carrier-pigeon"})
    assert response.status_code == 200
    assert "Select a valid choice." in page_text(response)
    assert not NotificationPreference.objects.filter(person=coordinator).exists()


def test_the_preference_decides_the_next_fan_out(analyst, coordinator, county_eoc, disseminate, signed_in):
    signed_in(coordinator).post("/notifications/", {"email_mode": "off"})
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    assert not Delivery.objects.filter(dispatch=dispatch, recipient=coordinator, channel="email").exists()
    assert Delivery.objects.filter(dispatch=dispatch, recipient=coordinator, channel="inbox").exists()


def test_an_agency_admin_switches_email_off_for_their_agency(
    analyst, agency_admin, coordinator, county_eoc, disseminate, signed_in
):
    client = signed_in(agency_admin)
    assert "Email for the agency's people" in page_text(client.get("/notifications/"))
    assert client.get(f"/agencies/{county_eoc.pk}/channels/").status_code == 200

    response = client.post(f"/agencies/{county_eoc.pk}/channels/", {})

    assert response.status_code == 302
    assert AgencyChannels.objects.get(agency=county_eoc).email_enabled is False
    assert "Your agency has switched email off" in page_text(signed_in(coordinator).get("/notifications/"))
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    assert not dispatch.deliveries.filter(channel="email").exists()
    client.post(f"/agencies/{county_eoc.pk}/channels/", {"email_enabled": "on"})
    assert AgencyChannels.objects.get(agency=county_eoc).email_enabled is True


@pytest.mark.parametrize(
    ("persona", "status"),
    [("agency_admin", 200), ("system_admin", 200), ("coordinator", 404), ("center_admin", 404), ("outsider", 404)],
)
def test_only_the_agencys_admins_and_system_admins_reach_its_channels(request, persona, status, county_eoc, signed_in):
    client = signed_in(request.getfixturevalue(persona))
    assert client.get(f"/agencies/{county_eoc.pk}/channels/").status_code == status
    assert client.post(f"/agencies/{county_eoc.pk}/channels/", {}).status_code in (status, 302)
    assert AgencyChannels.objects.filter(agency=county_eoc).exists() == (status == 200)


def test_people_who_are_not_admins_see_no_agency_settings(coordinator, signed_in):
    assert "Email for the agency's people" not in page_text(signed_in(coordinator).get("/notifications/"))


# --- Webhook endpoints -----------------------------------------------------------------------------


@pytest.fixture
def endpoint(agency_admin, county_eoc, webhook_receiver):
    from dissemination.services import create_webhook_endpoint

    created, _secret = create_webhook_endpoint(agency=county_eoc, url=webhook_receiver.url(), by=agency_admin)
    return created


def test_an_agency_admin_adds_an_endpoint_and_sees_its_secret_once(
    agency_admin, county_eoc, webhook_receiver, signed_in
):
    client = signed_in(agency_admin)
    assert client.get("/webhooks/new/").status_code == 200

    response = client.post("/webhooks/new/", {"url": webhook_receiver.url("/fusionhub"), "payload_format": "stix"})

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(agency=county_eoc)
    assert response["Location"] == f"/webhooks/{endpoint.pk}/"
    assert endpoint.payload_format == "stix"
    first = client.get(response["Location"])
    assert texts_by_testid(first, "secret-value") == [endpoint.secret]
    assert endpoint.secret.startswith("whsec_")
    again = client.get(response["Location"])
    assert texts_by_testid(again, "secret-value") == []
    assert endpoint.secret not in again.content.decode()
    listing = client.get("/webhooks/")
    assert [row.split(" ")[0] for row in texts_by_testid(listing, "webhook-row")] == [endpoint.url]


def test_a_bad_webhook_url_is_shown_on_the_form(agency_admin, signed_in, settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = signed_in(agency_admin)

    plain_http = client.post("/webhooks/new/", {"url": "http://hooks.example.gov/in", "payload_format": "json"})
    internal = client.post("/webhooks/new/", {"url": "https://127.0.0.1/in", "payload_format": "json"})
    not_a_url = client.post("/webhooks/new/", {"url": "not a url", "payload_format": "json"})
    bad_format = client.post("/webhooks/new/", {"url": "https://127.0.0.1/in", "payload_format": "xml"})

    assert plain_http.status_code == internal.status_code == not_a_url.status_code == bad_format.status_code == 200
    assert "Webhook URLs must use https." in page_text(plain_http)
    assert "resolves to an internal address" in page_text(internal)
    assert "Enter a valid URL." in page_text(not_a_url)
    assert "Select a valid choice." in page_text(bad_format)
    assert not WebhookEndpoint.objects.exists()


def test_a_system_admin_adds_an_endpoint_for_any_agency(system_admin, county_eoc, webhook_receiver, signed_in):
    client = signed_in(system_admin)
    assert "Agency" in page_text(client.get("/webhooks/new/"))
    missing = client.post("/webhooks/new/", {"url": webhook_receiver.url(), "payload_format": "json"})
    assert "This field is required." in page_text(missing)

    client.post("/webhooks/new/", {"agency": county_eoc.pk, "url": webhook_receiver.url(), "payload_format": "json"})

    assert WebhookEndpoint.objects.get().agency == county_eoc


def test_the_agency_field_is_not_offered_to_agency_admins(agency_admin, fusion_center, webhook_receiver, signed_in):
    client = signed_in(agency_admin)
    client.post("/webhooks/new/", {"agency": fusion_center.pk, "url": webhook_receiver.url(), "payload_format": "json"})
    assert WebhookEndpoint.objects.get().agency == agency_admin.agency


@pytest.mark.parametrize(
    ("persona", "list_status", "endpoint_status"),
    [
        ("agency_admin", 200, 200),
        ("system_admin", 200, 200),
        ("center_admin", 200, 404),  # an admin, of another agency
        ("coordinator", 403, 404),
        ("outsider", 403, 404),
    ],
)
def test_webhook_pages_are_for_the_agencys_admins(request, persona, list_status, endpoint_status, endpoint, signed_in):
    client = signed_in(request.getfixturevalue(persona))
    assert client.get("/webhooks/").status_code == list_status
    assert client.get("/webhooks/new/").status_code == list_status
    assert client.get(f"/webhooks/{endpoint.pk}/").status_code == endpoint_status
    for action in ("active", "format", "test"):
        assert client.post(f"/webhooks/{endpoint.pk}/{action}/", {"is_active": "false"}).status_code in (
            (302, 200) if endpoint_status == 200 else (404,)
        )
    if endpoint_status == 404:
        endpoint.refresh_from_db()
        assert endpoint.is_active
    listing = client.get("/webhooks/")
    if list_status == 200:
        assert len(texts_by_testid(listing, "webhook-row")) == (1 if endpoint_status == 200 else 0)


def test_switching_an_endpoint_off_and_on(agency_admin, endpoint, signed_in):
    client = signed_in(agency_admin)

    client.post(f"/webhooks/{endpoint.pk}/active/", {"is_active": "false"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    page = client.get(f"/webhooks/{endpoint.pk}/")
    assert texts_by_testid(page, "webhook-status")[0].startswith("Off")
    assert 'data-testid="switch-on"' in page.content.decode()

    client.post(f"/webhooks/{endpoint.pk}/active/", {"is_active": "true"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    assert endpoint.disabled_reason == ""


def test_changing_the_format(agency_admin, endpoint, signed_in):
    client = signed_in(agency_admin)
    client.post(f"/webhooks/{endpoint.pk}/format/", {"payload_format": "cap"})
    endpoint.refresh_from_db()
    assert endpoint.payload_format == "cap"
    bad = client.post(f"/webhooks/{endpoint.pk}/format/", {"payload_format": "xml"})
    assert bad.status_code == 200
    assert "Select a valid choice." in page_text(bad)


def test_send_test_queues_a_signed_test_message_after_commit(
    agency_admin, endpoint, webhook_receiver, signed_in, django_capture_on_commit_callbacks
):
    from dissemination import sending

    client = signed_in(agency_admin)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.state == Delivery.State.PENDING
    assert len(callbacks) == 1

    assert sending.send_webhook(delivery_id=delivery.pk)

    [received] = webhook_receiver.received()
    assert received.headers["webhook-signature"].startswith("v1,")
    assert b'"type": "webhook_test"' in received.body
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.dispatch.recipients_total == 0
    assert not Delivery.objects.filter(channel="inbox").exists()


def test_a_test_message_has_a_record_of_its_own_for_the_agency(agency_admin, coordinator, endpoint, signed_in):
    client = signed_in(agency_admin)
    client.post(f"/webhooks/{endpoint.pk}/test/")
    dispatch = Delivery.objects.get(endpoint=endpoint).dispatch

    response = client.get(f"/dispatches/{dispatch.pk}/")

    assert response.status_code == 200
    text = page_text(response)
    assert f"TEST-{endpoint.pk}: Test message to {endpoint.url} (Webhook test)" in text
    assert "Test message from the webhook endpoint's page." in texts_by_testid(response, "release-reason")
    assert 'data-testid="marking-banner"' not in response.content.decode()
    assert signed_in(coordinator).get(f"/dispatches/{dispatch.pk}/").status_code == 404
    assert client.get(f"/records/dissemination.webhookendpoint/{endpoint.pk}/").status_code == 404


def test_a_switched_off_endpoint_is_not_tested(agency_admin, endpoint, signed_in):
    client = signed_in(agency_admin)
    client.post(f"/webhooks/{endpoint.pk}/active/", {"is_active": "false"})
    response = client.post(f"/webhooks/{endpoint.pk}/test/", follow=True)
    assert "switch it on before testing it" in page_text(response)
    assert not Delivery.objects.filter(endpoint=endpoint).exists()


def test_failed_deliveries_show_their_last_error_and_can_be_retried(
    analyst,
    agency_admin,
    county_eoc,
    coordinator,
    endpoint,
    webhook_receiver,
    disseminate,
    signed_in,
    django_capture_on_commit_callbacks,
):
    from dissemination import sending

    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = Delivery.objects.get(dispatch=dispatch, endpoint=endpoint)
    webhook_receiver.answer("/hook", 503)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=len(sending.WEBHOOK_RETRY_DELAYS))
    sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED
    client = signed_in(agency_admin)

    page = client.get(f"/webhooks/{endpoint.pk}/")

    [row] = texts_by_testid(page, "failure-row")
    assert product.display_number in row
    assert "HTTP 503" in row
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 302
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 0
    assert sending.send_webhook(delivery_id=delivery.pk)
    assert texts_by_testid(client.get(f"/webhooks/{endpoint.pk}/"), "failure-row") == []
    again = client.post(f"/deliveries/{delivery.pk}/retry/", follow=True)
    assert "there is nothing to retry" in page_text(again)


def test_nobody_else_retries_an_endpoints_delivery(
    analyst, coordinator, outsider, county_eoc, endpoint, disseminate, signed_in
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = Delivery.objects.get(dispatch=dispatch, endpoint=endpoint)
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED)
    inbox_delivery = inbox_of(coordinator, dispatch)

    for person in (coordinator, outsider):
        assert signed_in(person).post(f"/deliveries/{delivery.pk}/retry/").status_code == 404
    assert signed_in(coordinator).post(f"/deliveries/{inbox_delivery.pk}/retry/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED


# --- The admin: the record for operators -----------------------------------------------------------


def test_system_admins_read_the_record_in_the_admin_and_nobody_edits_it(
    analyst, coordinator, county_eoc, agency_admin, system_admin, disseminate, signed_in
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    operator = signed_in(system_admin)

    listing = operator.get("/admin/dissemination/delivery/?channel__exact=inbox")
    assert listing.status_code == 200
    assert f'name="_selected_action" value="{delivery.pk}"' in listing.content.decode()
    assert str(coordinator) in page_text(listing)
    change = operator.get(f"/admin/dissemination/delivery/{delivery.pk}/change/")
    assert change.status_code == 200
    assert 'name="state"' not in change.content.decode()  # read-only
    assert operator.post(f"/admin/dissemination/delivery/{delivery.pk}/change/", {"state": "failed"}).status_code == 403
    assert operator.get(f"/admin/dissemination/delivery/{delivery.pk}/delete/").status_code == 403
    assert operator.get(f"/admin/dissemination/dispatch/{dispatch.pk}/change/").status_code == 200
    assert signed_in(agency_admin).get("/admin/dissemination/delivery/").status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT


def test_the_admin_retries_failed_deliveries_through_the_service(
    analyst, coordinator, county_eoc, system_admin, disseminate, signed_in, django_capture_on_commit_callbacks
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    email = Delivery.objects.get(dispatch=dispatch, recipient=coordinator, channel="email")
    Delivery.objects.filter(pk=email.pk).update(state=Delivery.State.FAILED, attempts=6, last_error="550 No such user")
    inbox = inbox_of(coordinator, dispatch)

    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(system_admin).post(
            "/admin/dissemination/delivery/",
            {"action": "retry", "_selected_action": [email.pk, inbox.pk]},
            follow=True,
        )

    text = page_text(response)
    assert "1 deliveries queued to be sent again." in text
    assert f"Not retried: delivery {inbox.pk}: Only email and webhook deliveries are sent again." in text
    assert len(callbacks) == 1
    email.refresh_from_db()
    assert email.state == Delivery.State.PENDING
    assert email.attempts == 0
