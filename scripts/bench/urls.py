"""Every URL of the site, plus the baseline views that exist only in the bench server."""

from django.urls import path

from fusionhub.urls import handler403, handler404, handler500  # noqa: F401
from fusionhub.urls import urlpatterns as site_urlpatterns

from . import views

urlpatterns = [
    path("bench/baseline/feed/<int:pk>/", views.baseline_feed, name="bench-baseline-feed"),
    *site_urlpatterns,
]
