"""The threat product pages, under /products/."""

from django.urls import path

from .views import actions, editing, products, retention

urlpatterns = [
    path("", products.product_list, name="product-list"),
    path("new/", editing.product_create, name="product-create"),
    path("preview/", editing.markdown_preview, name="product-preview"),
    path("audience-preview/", editing.audience_preview, name="audience-preview"),
    path("review/", products.review_queue, name="review-queue"),
    path("retention/", retention.retention_queue, name="retention-queue"),
    path("retention/<int:pk>/", retention.retention_decision, name="retention-decision"),
    path("<int:pk>/", products.product_detail, name="product-detail"),
    path("<int:pk>/print/", products.product_print, name="product-print"),
    path("<int:pk>/compare/<int:other_pk>/", products.product_compare, name="product-compare"),
    path("<int:pk>/edit/", editing.product_edit, name="product-edit"),
    path("<int:pk>/submit/", actions.submit, name="product-submit"),
    path("<int:pk>/approve/", actions.approve, name="product-approve"),
    path("<int:pk>/return/", actions.return_to_author, name="product-return"),
    path("<int:pk>/update/", actions.start_update, name="product-update"),
    path("<int:pk>/retract/", actions.retract, name="product-retract"),
]
