"""Attachment routes, under /products/: download, upload and removal."""

from django.urls import path

from . import attachment_views

urlpatterns = [
    path("<int:product_pk>/attachments/", attachment_views.attachment_upload, name="attachment-upload"),
    path("<int:product_pk>/attachments/<int:pk>/", attachment_views.attachment_download, name="attachment-download"),
    path(
        "<int:product_pk>/attachments/<int:pk>/delete/",
        attachment_views.attachment_delete,
        name="attachment-delete",
    ),
]
