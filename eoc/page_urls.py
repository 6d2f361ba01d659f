"""The EOC's browser pages: incidents and their feeds, reports, requests and tasks; each EOC's
dashboard, feed and activation level."""

from django.urls import path

from .views import eocs, feed, incidents, logistics

urlpatterns = [
    # Incidents
    path("incidents/", incidents.incident_list, name="incident-list"),
    path("incidents/new/", incidents.incident_create, name="incident-create"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/status/", incidents.incident_status, name="incident-status"),
    path("incidents/<int:pk>/periods/", incidents.operational_period_start, name="operational-period-start"),
    path("incidents/<int:pk>/cap/", incidents.cap_upload, name="cap-upload"),
    # The incident feed
    path("incidents/<int:pk>/entries/", incidents.entry_create, name="entry-create"),
    path("incidents/<int:pk>/feed/fragment/", feed.incident_feed_fragment, name="incident-feed-fragment"),
    path("entries/<int:pk>/acknowledge/", feed.entry_acknowledge, name="entry-acknowledge"),
    path("entries/<int:pk>/correct/", feed.entry_correct, name="entry-correct"),
    path(
        "entries/<int:entry_pk>/attachments/<int:pk>/",
        feed.entry_attachment_download,
        name="entry-attachment-download",
    ),
    # Situation reports
    path("incidents/<int:pk>/sitreps/", logistics.sitrep_list, name="sitrep-list"),
    path("incidents/<int:pk>/sitreps/new/", logistics.sitrep_create, name="sitrep-create"),
    path("sitreps/<int:pk>/", logistics.sitrep_detail, name="sitrep-detail"),
    path("sitreps/<int:pk>/edit/", logistics.sitrep_edit, name="sitrep-edit"),
    path("sitreps/<int:pk>/publish/", logistics.sitrep_publish, name="sitrep-publish"),
    path("sitreps/<int:pk>/print/", logistics.sitrep_print, name="sitrep-print"),
    # Resource requests (ICS-213RR)
    path("incidents/<int:pk>/resources/", logistics.resource_board, name="resource-board"),
    path("incidents/<int:pk>/resources/new/", logistics.resource_request_create, name="resource-request-create"),
    path("resource-requests/<int:pk>/move/", logistics.resource_request_transition, name="resource-request-transition"),
    # Tasks
    path("incidents/<int:pk>/tasks/", logistics.task_list, name="task-list"),
    path("incidents/<int:pk>/tasks/new/", logistics.task_create, name="task-create"),
    path("tasks/<int:pk>/status/", logistics.task_status, name="task-status"),
    # Each EOC
    path("eoc/", eocs.own_dashboard, name="own-dashboard"),
    path("eocs/<int:pk>/", eocs.dashboard, name="dashboard"),
    path("eocs/<int:pk>/activation/", eocs.activation, name="eoc-activation"),
    path("eocs/<int:pk>/feed/", feed.eoc_feed, name="eoc-feed"),
    path("eocs/<int:pk>/feed/fragment/", feed.eoc_feed_fragment, name="eoc-feed-fragment"),
    path("eocs/<int:pk>/entries/", feed.eoc_entry_create, name="eoc-entry-create"),
]
