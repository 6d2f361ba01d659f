from django.urls import path

from . import audit_views, views

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-in/verify/", views.verify_second_factor, name="sign-in-verify"),
    path("sign-in/enrol/", views.enrol_second_factor, name="sign-in-enrol"),
    path("sign-in/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.create_token, name="create-token"),
    path("profile/tokens/<str:token_key>/revoke/", views.revoke_token, name="revoke-token"),
    path("people/locked/", views.locked_accounts, name="locked-accounts"),
    path("people/<int:pk>/unlock/", views.unlock, name="unlock-account"),
    path("audit/", audit_views.audit_trail, name="audit-trail"),
    path("audit/export.csv", audit_views.audit_export, name="audit-export"),
]
