"""The Django admin for agencies and people, scoped so an agency admin manages only their own agency."""

from __future__ import annotations

import logging
import smtplib

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .models import (
    AccountLockout,
    Agency,
    ArchivedAuditEntry,
    AuditEntry,
    Jurisdiction,
    Role,
    User,
    site_idle_timeout_minutes,
    site_session_max_hours,
)
from .services import enrolment

logger = logging.getLogger(__name__)

admin.site.site_header = "FusionHub administration"
admin.site.site_title = "FusionHub admin"
admin.site.index_title = "Agencies, people and settings"


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "fips_code", "parent"]
    list_select_related = ["parent"]
    list_filter = ["kind"]
    search_fields = ["name", "fips_code"]
    autocomplete_fields = ["parent"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "kind", "level", "discipline", "jurisdiction", "is_active"]
    list_filter = ["kind", "level", "discipline", "is_active"]
    search_fields = ["name", "acronym"]
    autocomplete_fields = ["jurisdiction"]
    list_select_related = ["jurisdiction"]
    actions = ["deactivate", "activate"]

    def get_queryset(self, request):
        agencies = super().get_queryset(request)
        return agencies if request.user.is_system_admin else agencies.filter(pk=request.user.agency_id)

    def get_fieldsets(self, request, obj=None):
        rules = list(services.SIGN_IN_RULE_FIELDS)
        others = [name for name in self.get_fields(request, obj) if name not in rules]
        description = (
            f"The site signs everyone out after {site_idle_timeout_minutes()} minutes without activity, asks "
            f"for a new sign-in every {site_session_max_hours()} hours, and accepts an authenticator app's "
            "code or a recovery code as the second factor. An agency may be stricter for its people, "
            "never looser."
        )
        return [(None, {"fields": others}), ("Sign-in rules", {"fields": rules, "description": description})]

    def save_model(self, request, obj, form, change):
        # The sign-in rules go through their service, which checks who may set them and audits the
        # change with before and after; the rest is saved (and audited) as any admin change.
        rules = {name: form.cleaned_data[name] for name in services.SIGN_IN_RULE_FIELDS if name in form.cleaned_data}
        for name in rules:
            setattr(obj, name, form.initial.get(name, Agency._meta.get_field(name).get_default()))
        super().save_model(request, obj, form, change)
        if rules:
            services.set_agency_sign_in_rules(agency=obj, by=request.user, **rules)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_system_admin:
            return ["is_active"] if obj else []
        return ["name", "acronym", "level", "kind", "discipline", "jurisdiction", "is_active"]

    def has_add_permission(self, request):
        return request.user.is_system_admin

    def has_delete_permission(self, request, obj=None):
        # Agencies are deactivated, never deleted: their people's records stay.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_system_admin:
            actions.pop("deactivate", None)
            actions.pop("activate", None)
        return actions

    @admin.action(description="Deactivate the selected agencies (sign their people out, keep records)")
    def deactivate(self, request, queryset):
        for agency in queryset:
            services.set_agency_active(agency=agency, is_active=False, by=request.user)
        self.message_user(request, f"{queryset.count()} agencies deactivated.", messages.SUCCESS)

    @admin.action(description="Activate the selected agencies")
    def activate(self, request, queryset):
        for agency in queryset:
            services.set_agency_active(agency=agency, is_active=True, by=request.user)
        self.message_user(request, f"{queryset.count()} agencies activated.", messages.SUCCESS)


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class PersonAdminForm(UserChangeForm):
    roles = RolesField(choices=Role.choices, required=False)

    class Meta(UserChangeForm.Meta):
        model = User
        fields = [
            "password",
            "username",
            "first_name",
            "last_name",
            "email",
            "title",
            "phone",
            "agency",
            "is_law_enforcement",
            "is_active",
        ]


@admin.register(User)
class PersonAdmin(UserAdmin):
    form = PersonAdminForm
    list_display = ["username", "first_name", "last_name", "agency", "is_law_enforcement", "is_active"]
    list_filter = ["agency", "is_law_enforcement", "is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    list_select_related = ["agency"]
    autocomplete_fields = ["agency"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "title", "phone"]}),
        ("Agency and roles", {"fields": ["agency", "roles", "is_law_enforcement", "is_active"]}),
        ("History", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "usable_password", "password1", "password2"]}),
        ("Agency and roles", {"fields": ["agency", "is_law_enforcement"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["unlock_accounts", "reset_second_factors", "issue_enrolment_codes", "email_enrolment_codes"]

    def get_queryset(self, request):
        people = super().get_queryset(request)
        return people if request.user.is_system_admin else people.filter(agency_id=request.user.agency_id)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_system_admin:
            if "agency" in form.base_fields:
                form.base_fields["agency"].queryset = Agency.objects.filter(pk=request.user.agency_id)
                form.base_fields["agency"].initial = request.user.agency_id
            if "roles" in form.base_fields:
                form.base_fields["roles"].choices = [c for c in Role.choices if c[0] != Role.SYSTEM_ADMIN]
        if obj is not None and "roles" in form.base_fields:
            form.base_fields["roles"].initial = [role.value for role in obj.roles]
        return form

    def get_autocomplete_fields(self, request):
        return self.autocomplete_fields if request.user.is_system_admin else []

    def has_change_permission(self, request, obj=None):
        if obj is not None and not request.user.is_system_admin and obj.agency_id != request.user.agency_id:
            return False
        return super().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        if obj is not None and not request.user.is_system_admin and obj.agency_id != request.user.agency_id:
            return False
        return super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # People are deactivated, never deleted: what they wrote and received stays on record.
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "roles" in form.cleaned_data:
            roles = {Role(value) for value in form.cleaned_data["roles"]}
            if not request.user.is_system_admin:
                # An agency admin can neither grant nor take away system-admin rights.
                roles.discard(Role.SYSTEM_ADMIN)
                if form.instance.pk and Role.SYSTEM_ADMIN in form.instance.roles:
                    roles.add(Role.SYSTEM_ADMIN)
            services.set_roles(person=form.instance, roles=roles, by=request.user)

    @admin.action(description="Unlock the selected accounts")
    def unlock_accounts(self, request, queryset):
        for person in queryset:
            services.unlock_account(person=person, by=request.user)
        self.message_user(request, f"{queryset.count()} accounts unlocked.", messages.SUCCESS)

    @admin.action(description="Reset the second factor of the selected people (they enrol again at sign-in)")
    def reset_second_factors(self, request, queryset):
        reset = 0
        for person in queryset:
            try:
                services.reset_second_factor(person=person, by=request.user)
            except PermissionDenied as error:
                self.message_user(request, f"{person.username}: {error}", messages.ERROR)
            else:
                reset += 1
        self.message_user(
            request,
            f"Second factor reset for {reset} people. To set up an authenticator app again each needs an "
            "enrolment code: issue one with the action on people.",
            messages.SUCCESS,
        )

    @admin.action(description="Issue an enrolment code to the selected people (shown to you once)")
    def issue_enrolment_codes(self, request, queryset):
        """The codes on a page of their own, shown once, for the admin to give each person in person or
        by phone; nothing keeps them in clear."""
        issued = []
        for person in queryset.select_related("agency"):
            try:
                invitation, code = enrolment.issue_enrolment_invitation(person=person, by=request.user, request=request)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, f"{person.username}: {_reason(error)}", messages.ERROR)
            else:
                issued.append({"person": person, "code": code, "expires_at": invitation.expires_at})
        if not issued:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Enrolment codes",
            "opts": self.model._meta,
            "issued": issued,
        }
        # The admin's pages are never cached (no-store), this one included.
        return TemplateResponse(request, "admin/agencies/user/enrolment_codes.html", context)

    @admin.action(description="Email an enrolment code to the selected people")
    def email_enrolment_codes(self, request, queryset):
        sent = 0
        for person in queryset.select_related("agency"):
            try:
                enrolment.email_enrolment_invitation(person=person, by=request.user, request=request)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, f"{person.username}: {_reason(error)}", messages.ERROR)
            except (smtplib.SMTPException, OSError):
                logger.warning("Enrolment code email to %s not sent", person.username, exc_info=True)
                self.message_user(
                    request,
                    f"{person.username}: the mail server did not take the email, so no code was issued. Try "
                    "again later, or issue a code to give them yourself.",
                    messages.ERROR,
                )
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                f"Enrolment code emailed to {sent} people; each code works once, within "
                f"{int(settings.ENROLMENT_CODE_TTL.total_seconds() // 3600)} hours.",
                messages.SUCCESS,
            )


def _reason(error: PermissionDenied | ValidationError) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@admin.register(AccountLockout)
class AccountLockoutAdmin(admin.ModelAdmin):
    list_display = ["username", "failure_count", "last_failure_at", "last_failure_address", "locked_at"]
    list_filter = [("locked_at", admin.EmptyFieldListFilter)]
    search_fields = ["username"]
    readonly_fields = [f.name for f in AccountLockout._meta.fields]

    def has_module_permission(self, request):
        return getattr(request.user, "is_system_admin", False)

    def has_view_permission(self, request, obj=None):
        return getattr(request.user, "is_system_admin", False)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return getattr(request.user, "is_system_admin", False)


class AuditRecordAdmin(admin.ModelAdmin):
    """The audit trail, for system admins to read: no one adds, changes or deletes an entry (and the
    database refuses it anyway)."""

    list_display = ["at", "username", "agency", "action", "item_type", "item_label", "outcome", "address"]
    list_filter = ["action", "outcome"]
    search_fields = ["username", "item_label"]
    list_select_related = ["agency"]
    show_full_result_count = False
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def get_actions(self, request):
        return {}

    def has_module_permission(self, request):
        return getattr(request.user, "is_system_admin", False)

    def has_view_permission(self, request, obj=None):
        return getattr(request.user, "is_system_admin", False)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(AuditEntry, AuditRecordAdmin)
admin.site.register(ArchivedAuditEntry, AuditRecordAdmin)

admin.site.unregister(Group)
# Authenticator secrets and recovery codes are never shown in the admin; an admin resets a person's
# second factor with the action on people.
for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)
