"""API routes of dissemination: /api/v1/inbox/, /api/v1/dispatches/{id}/deliveries/, /api/v1/webhooks/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("inbox", api.InboxViewSet, basename="inbox")
router.register("dispatches", api.DispatchViewSet, basename="dispatch")
router.register("webhooks", api.WebhookViewSet, basename="webhook")

urlpatterns = router.urls
