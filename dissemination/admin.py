"""The Django admin of dissemination, for system admins (operators): dispatches and deliveries as a
read-only record, with a retry of failed email and webhook deliveries through the service. Agency
admins use the agency's own pages (channels, webhook endpoints) instead."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from .models import Delivery, Dispatch
from .services import retry_delivery


class OperatorsOnly(admin.ModelAdmin):
    """The record never changes by hand: system admins read it, nobody adds, edits or deletes."""

    def has_module_permission(self, request):
        return getattr(request.user, "is_system_admin", False)

    def has_view_permission(self, request, obj=None):
        return getattr(request.user, "is_system_admin", False)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Dispatch)
class DispatchAdmin(OperatorsOnly):
    list_display = [
        "pk",
        "item_type",
        "item_id",
        "action",
        "state",
        "originating_agency",
        "created_at",
        "recipients_done",
        "recipients_total",
    ]
    list_filter = ["state", "action", "item_type"]
    search_fields = ["=item_id", "originating_agency__acronym"]
    list_select_related = ["originating_agency"]
    readonly_fields = [field.name for field in Dispatch._meta.fields]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(OperatorsOnly):
    list_display = ["pk", "dispatch", "channel", "recipient", "endpoint", "state", "created_at", "attempts"]
    list_filter = ["state", "channel"]
    search_fields = ["=dispatch__id", "recipient__username", "recipient__last_name", "endpoint__url"]
    list_select_related = ["dispatch", "recipient", "endpoint"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["retry"]
    # The deliveries table grows by one row per recipient and channel: no COUNT(*) of all of it per page.
    show_full_result_count = False

    def get_actions(self, request):
        # The only action: no bulk delete of the record.
        actions = super().get_actions(request)
        return {name: action for name, action in actions.items() if name == "retry"}

    @admin.action(description="Send the selected failed email and webhook deliveries again")
    def retry(self, request, queryset):
        retried, refused = 0, []
        for delivery in queryset.select_related("dispatch", "endpoint", "recipient"):
            try:
                retry_delivery(delivery=delivery, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                refused.append(f"{delivery.pk}: {' '.join(getattr(error, 'messages', [str(error)]))}")
            else:
                retried += 1
        if retried:
            self.message_user(request, f"{retried} deliveries queued to be sent again.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, f"Not retried: delivery {reason}", messages.WARNING)
