"""Site-wide Celery tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone


@shared_task(name="fusionhub.record_worker_heartbeat")
def record_worker_heartbeat(token: str = "") -> str:
    """Write the time a worker last ran a task into the cache; returns the token it was given."""
    cache.set(f"worker-heartbeat:{token}", timezone.now().isoformat(), timeout=3600)
    return token
