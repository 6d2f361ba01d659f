"""API routes for threat products, under /api/v1/products/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("products", api.ProductViewSet, basename="product")

urlpatterns = router.urls
