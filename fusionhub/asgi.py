"""ASGI entry point: the whole site on one server (uvicorn), pages and API as fast as on WSGI workers.

Django's ASGI handler runs each synchronous view in a thread made for that request, which opens a
database connection of its own every time: a minimal page answered 51 requests/s that way against
218 on WSGI workers (`make bench`, README "Performance"). So only the asynchronous views (the live
feed's event streams, eoc/streams.py) go to Django's ASGI handler; every other request goes to the
WSGI application, run on a fixed pool of threads that keep their connections (CONN_MAX_AGE), as a
WSGI server's threads do. Each uvicorn worker process has its own pool of `WEB_THREADS` threads.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusionhub.settings")

from a2wsgi import WSGIMiddleware
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

django_application = get_asgi_application()

from eoc.streams import StreamOpenings  # noqa: E402 - once Django is set up

# A worker opens a few event streams at once (eoc/streams.py), so pages reconnecting together wait a moment.
streams = StreamOpenings(django_application)
pages = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)


def is_async_view(path: str) -> bool:
    """Whether the URL names an asynchronous view (an event stream), which needs the ASGI handler."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


async def application(scope, receive, send):
    if scope["type"] == "http" and not is_async_view(scope["path"]):
        await pages(scope, receive, send)
    else:
        await streams(scope, receive, send)


# What is loaded by now (Django, the apps, their URL patterns, serializers and templates) lives as long as
# the process: frozen out of the garbage collector's reach, so that its full collections, which walked
# all of it from any request's thread, no longer do. They had made one feed page in twenty take 40 ms
# longer under load (make bench, scenario 1: p95 77 ms, 37 ms once frozen).
gc.collect()
gc.freeze()
