"""The dissemination pages: the inbox, notification preferences, dissemination records, agency channels
and webhook endpoints."""

from django.urls import path

from . import views

app_name = "dissemination"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", views.inbox_open, name="inbox-open"),
    path("inbox/<int:pk>/acknowledge/", views.inbox_acknowledge, name="inbox-acknowledge"),
    path("notifications/", views.preferences, name="preferences"),
    path("dispatches/<int:pk>/", views.dispatch_record, name="dispatch-record"),
    path("dispatches/<int:pk>/progress/", views.dispatch_progress, name="dispatch-progress"),
    path("records/<str:item_type>/<int:item_id>/", views.item_record, name="item-record"),
    path("agencies/<int:agency_id>/channels/", views.agency_channels, name="agency-channels"),
    path("webhooks/", views.webhook_list, name="webhook-list"),
    path("webhooks/new/", views.webhook_create, name="webhook-create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/active/", views.webhook_set_active, name="webhook-set-active"),
    path("webhooks/<int:pk>/format/", views.webhook_format, name="webhook-format"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook-test"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery-retry"),
]
