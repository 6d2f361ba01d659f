"""The EOC's pages: incidents, feeds, reports, resource requests, tasks and the dashboard."""

from django.urls import include, path

from . import streams

app_name = "eoc"

urlpatterns = [
    path("incidents/<int:pk>/feed/stream/", streams.incident_feed_stream, name="incident-feed-stream"),
    path("eocs/<int:pk>/feed/stream/", streams.eoc_feed_stream, name="eoc-feed-stream"),
    path("", include("eoc.page_urls")),
]
