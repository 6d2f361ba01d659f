"""API routes for requests for information, under /api/v1/rfis/."""

from rest_framework.routers import SimpleRouter

from . import request_api

router = SimpleRouter()
router.register("rfis", request_api.RfiViewSet, basename="rfi")

urlpatterns = router.urls
