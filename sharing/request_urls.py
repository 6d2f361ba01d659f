"""The request-for-information pages, under /requests/."""

from django.urls import path

from . import request_views as views

urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create, name="request-create"),
    path("<int:pk>/", views.request_detail, name="request-detail"),
    path("<int:pk>/assign/", views.request_assign, name="request-assign"),
    path("<int:pk>/answer/", views.request_answer, name="request-answer"),
    path("<int:pk>/close/", views.request_close, name="request-close"),
]
