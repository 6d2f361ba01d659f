"""The fusion center's pages: threat products and requests for information."""

from django.urls import include, path

app_name = "sharing"

urlpatterns = [
    path("products/", include("sharing.product_urls")),
    path("products/", include("sharing.attachment_urls")),
    path("requests/", include("sharing.request_urls")),
]
