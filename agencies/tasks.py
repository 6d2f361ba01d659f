"""Celery tasks of the agencies app: archiving the audit trail past its retention period."""

from __future__ import annotations

import logging

from celery import shared_task

from .audit import archive_old_entries

logger = logging.getLogger(__name__)


@shared_task(name="agencies.archive_audit_entries", ignore_result=True)
def archive_audit_entries() -> int:
    """Move audit entries older than AUDIT_RETENTION_DAYS to the archive (run daily by beat)."""
    moved = archive_old_entries()
    if moved:
        logger.info("Archived %s audit entries past retention", moved)
    return moved
