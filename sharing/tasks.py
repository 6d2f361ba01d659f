"""Celery tasks of the fusion center: thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from .services import retention


@shared_task(name="sharing.open_retention_reviews", ignore_result=True)
def open_retention_reviews() -> int:
    """Open the retention reviews of criminal intelligence coming due; run by beat once a day. A
    second run the same day opens nothing more."""
    return retention.open_due_reviews()
