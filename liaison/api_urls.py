"""API routes of the liaison app: assignments, routing rules and relays, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("liaison-assignments", api.AssignmentViewSet, basename="liaison-assignment")
router.register("routing-rules", api.RuleViewSet, basename="routing-rule")
router.register("relays", api.RelayViewSet, basename="relay")

urlpatterns = router.urls
