from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("agencies", api.AgencyViewSet, basename="agency")
router.register("jurisdictions", api.JurisdictionViewSet, basename="jurisdiction")
router.register("users", api.PersonViewSet, basename="user")

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    *router.urls,
]
