from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("incidents", api.IncidentViewSet, basename="incident")
router.register("feed-entries", api.FeedEntryViewSet, basename="feed-entry")
router.register("sitreps", api.SituationReportViewSet, basename="sitrep")
router.register("resource-requests", api.ResourceRequestViewSet, basename="resource-request")
router.register("tasks", api.TaskViewSet, basename="task")

urlpatterns = [
    path("eocs/<int:pk>/activation/", api.ActivationView.as_view(), name="eoc-activation"),
    path("cap/", api.CapImportView.as_view(), name="cap-import"),
    *router.urls,
]
