"""The liaison pages, under /liaison/: the relay queue and history, routing rules, assignments, the
situational-awareness queue, manual relays and requests raised from an incident."""

from django.urls import path

from .views import assignments, awareness, relaying, relays, rules

app_name = "liaison"

urlpatterns = [
    path("", relays.workspace, name="workspace"),
    # Relays
    path("relays/", relays.history, name="relay-history"),
    path("relays/<int:pk>/", relays.relay_detail, name="relay-detail"),
    path("relays/<int:pk>/approve/", relays.approve, name="relay-approve"),
    path("relays/<int:pk>/reject/", relays.reject, name="relay-reject"),
    path("relays/<int:pk>/acknowledge/", relays.acknowledge, name="relay-acknowledge"),
    # Manual relays
    path("relay/", relaying.relay_form, name="relay-manual"),
    path("relay/check/", relaying.relay_check, name="relay-check"),
    # Routing rules
    path("rules/", rules.rule_list, name="rule-list"),
    path("rules/new/", rules.rule_create, name="rule-create"),
    path("rules/<int:pk>/edit/", rules.rule_edit, name="rule-edit"),
    # Assignments and the contact of the day
    path("assignments/", assignments.assignment_list, name="assignment-list"),
    path("assignments/new/", assignments.assignment_create, name="assignment-create"),
    path("assignments/<int:pk>/end/", assignments.assignment_end, name="assignment-end"),
    path("duty-contact/", assignments.duty_contact_set, name="duty-contact-set"),
    # The situational-awareness queue
    path("awareness/", awareness.awareness_list, name="awareness-list"),
    path("awareness/<int:pk>/", awareness.awareness_detail, name="awareness-detail"),
    path("awareness/<int:pk>/start-product/", awareness.start_product, name="awareness-start-product"),
    path("awareness/<int:pk>/reviewed/", awareness.mark_reviewed, name="awareness-reviewed"),
    # Requests for information raised from an incident
    path("incidents/<int:pk>/request/", relaying.raise_request, name="incident-request"),
]
