"""The production entry point (fusionhub/asgi.py): one uvicorn server for the whole site, pages and API
on a fixed pool of threads that keep their database connections, event streams on the event loop."""

import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.signals import request_started
from django.db.backends.signals import connection_created

from fusionhub.asgi import application, is_async_view

# A token that does not exist: the API looks it up in the database, then answers 401.
UNKNOWN_TOKEN = b"Token " + b"0123456789abcdef" * 4


async def get(path: str, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    return start["status"], body


def test_only_the_event_streams_are_served_as_async_views():
    assert is_async_view("/incidents/1/feed/stream/")
    assert is_async_view("/eocs/1/feed/stream/")
    assert not is_async_view("/incidents/1/")
    assert not is_async_view("/api/v1/incidents/")
    assert not is_async_view("/no/such/page/")


@pytest.mark.django_db(transaction=True)
async def test_pages_run_on_a_pool_of_threads_that_keep_their_database_connections():
    served_on: list[str] = []
    connected_on: list[str] = []

    def on_request(**kwargs):
        served_on.append(threading.current_thread().name)

    def on_connection(**kwargs):
        connected_on.append(threading.current_thread().name)

    request_started.connect(on_request)
    connection_created.connect(on_connection)
    try:
        for _ in range(3 * settings.WEB_THREADS):
            status, body = await get("/api/v1/incidents/", [(b"authorization", UNKNOWN_TOKEN)])
            assert status == 401, body
    finally:
        request_started.disconnect(on_request)
        connection_created.disconnect(on_connection)
    assert len(served_on) == 3 * settings.WEB_THREADS
    assert all(name.startswith("WSGI") for name in served_on), set(served_on)
    # Each thread of the pool connects once at most, then keeps its connection for the next requests.
    assert len(connected_on) == len(set(connected_on)) <= settings.WEB_THREADS


@pytest.mark.django_db(transaction=True)
async def test_an_event_stream_is_answered_by_the_async_view():
    status, body = await get("/incidents/1/feed/stream/")
    assert status == 401
    assert body == b"Sign in to follow the feed."
