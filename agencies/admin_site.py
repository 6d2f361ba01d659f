"""The admin site, whose every save and deletion also goes into the audit trail.

Every ModelAdmin registered on it (in any app, now or later) is given `AuditedAdminMixin`, so no
admin change escapes the trail however its app's admin is written.
"""

from __future__ import annotations

from django.contrib import admin

from .audit import record_audit
from .audit_models import AuditAction


class AuditedAdminMixin:
    """Record each addition, change and deletion the admin logs, with who, from where and what."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        record_audit(action=AuditAction.ADMIN_CHANGE, item=obj, request=request, detail=_detail("added", entry))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        record_audit(action=AuditAction.ADMIN_CHANGE, item=obj, request=request, detail=_detail("changed", entry))
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record_audit(action=AuditAction.ADMIN_CHANGE, item=obj, request=request, detail={"change": "deleted"})
        return entries


def _detail(change: str, log_entry) -> dict:
    detail = {"change": change}
    message = log_entry.get_change_message() if log_entry is not None else ""
    if message:
        detail["message"] = message
    return detail


class AuditedAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (AuditedAdminMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        return super().register(model_or_iterable, admin_class, **options)
