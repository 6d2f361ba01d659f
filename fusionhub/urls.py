"""Every URL of the site: pages, the admin, the API under /api/v1/, and /healthz."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

api_v1 = [
    path("", include("agencies.api_urls")),
    path("", include("sharing.api_urls")),
    path("", include("sharing.request_api_urls")),
    path("", include("eoc.api_urls")),
    path("", include("dissemination.api_urls")),
    path("", include("liaison.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("agencies.urls")),
    path("", include("sharing.urls")),
    path("", include("eoc.urls")),
    path("", include("dissemination.urls")),
    path("liaison/", include("liaison.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler403 = "fusionhub.views.permission_denied"
handler404 = "fusionhub.views.page_not_found"
handler500 = "fusionhub.views.server_error"
