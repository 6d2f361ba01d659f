"""The dissemination pages: the inbox, notification preferences, dissemination records, agency channels
and webhook endpoints."""

from django.urls import path

from .views import agency, inbox, records

app_name = "dissemination"

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", inbox.inbox_open, name="inbox-open"),
    path("inbox/<int:pk>/acknowledge/", inbox.inbox_acknowledge, name="inbox-acknowledge"),
    path("notifications/", inbox.preferences, name="preferences"),
    path("dispatches/<int:pk>/", records.dispatch_record, name="dispatch-record"),
    path("dispatches/<int:pk>/progress/", records.dispatch_progress, name="dispatch-progress"),
    path("records/<str:item_type>/<int:item_id>/", records.item_record, name="item-record"),
    path("agencies/<int:agency_id>/channels/", agency.agency_channels, name="agency-channels"),
    path("webhooks/", agency.webhook_list, name="webhook-list"),
    path("webhooks/new/", agency.webhook_create, name="webhook-create"),
    path("webhooks/<int:pk>/", agency.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/active/", agency.webhook_set_active, name="webhook-set-active"),
    path("webhooks/<int:pk>/format/", agency.webhook_format, name="webhook-format"),
    path("webhooks/<int:pk>/test/", agency.webhook_test, name="webhook-test"),
    path("deliveries/<int:pk>/retry/", agency.delivery_retry, name="delivery-retry"),
]
