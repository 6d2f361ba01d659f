"""Site-wide pages: the dashboard, the health check and the error pages."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from kombu import pidbox

from .celery import app as celery_app


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html")


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "up"
    except Exception as error:
        return False, f"down: {error.__class__.__name__}"


def _check_redis() -> tuple[bool, str]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
        return True, "up"
    except redis.RedisError as error:
        return False, f"down: {error.__class__.__name__}"
    finally:
        client.close()


def _check_workers() -> tuple[bool, str]:
    # Not celery_app.control.ping: it publishes through the app's producer pool, which stays on
    # the broker it first connected to. This mailbox publishes on the connection opened here.
    mailbox = pidbox.Mailbox(celery_app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            replies = mailbox(conn).multi_call("ping", timeout=1.0, limit=1)
    except Exception as error:
        return False, f"down: {error.__class__.__name__}"
    if not replies:
        return False, "down: no worker answered"
    return True, f"up: {len(replies)} answered"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of PostgreSQL, Redis and the Celery workers; 200 only when all are up."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["celery"] = _check_workers() if checks["redis"][0] else (False, "down: Redis is down")
    healthy = all(ok for ok, _ in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **{name: detail for name, (_, detail) in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", {"reason": str(exception or "")}, status=403)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # An address under /api/ that no route takes (/api/v1/products/abc/) answers in the API's own shape.
    if _is_api(request):
        return JsonResponse({"errors": {"non_field_errors": ["Not found."]}}, status=404)
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"errors": {"non_field_errors": ["Server error."]}}, status=500)
    # No context processors here: the error may have come from one of them.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)
