"""The Django admin of the liaison app, scoped to the fusion center of the person signed in: its
routing rules (saved through the services), and its assignments, duty contacts, relays and
situational-awareness items to read (they are made on the liaison pages and by the handlers)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Agency

from . import services
from .models import AwarenessItem, DutyContact, LiaisonAssignment, Relay, RoutingRule


def _keeps_liaison(request, fusion_center_id: int | None = None) -> bool:
    """System admins, and the fusion center's liaison officers and admins (services.is_center_liaison)."""
    user = request.user
    return bool(getattr(user, "is_authenticated", False) and services.is_center_liaison(user, fusion_center_id))


class CenterScoped(admin.ModelAdmin):
    """Rows of the person's own fusion center; read only unless a subclass says otherwise."""

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows if request.user.is_system_admin else rows.filter(fusion_center_id=request.user.agency_id)

    def has_module_permission(self, request):
        return _keeps_liaison(request)

    def has_view_permission(self, request, obj=None):
        return _keeps_liaison(request, getattr(obj, "fusion_center_id", None))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "fusion_center",
            "target_eoc",
            "target_jurisdiction",
            "direction",
            "product_kinds",
            "tags",
            "information_needs",
            "match_incident_jurisdictions",
            "minimum_priority",
            "mode",
            "when",
            "is_active",
        ]

    def details(self) -> services.RuleDetails:
        data = self.cleaned_data
        return services.RuleDetails(
            name=data.get("name") or "",
            target_eoc=data.get("target_eoc"),
            target_jurisdiction=data.get("target_jurisdiction"),
            direction=data.get("direction") or "",
            product_kinds=list(data.get("product_kinds") or []),
            tags=list(data.get("tags") or []),
            information_needs=list(data.get("information_needs") or []),
            match_incident_jurisdictions=bool(data.get("match_incident_jurisdictions")),
            minimum_priority=data.get("minimum_priority") or "",
            mode=data.get("mode") or "",
            when=data.get("when") or "",
            is_active=bool(data.get("is_active")),
        )

    def clean(self):
        cleaned = super().clean()
        # The service's own check, so that its messages show on the fields before anything is saved.
        try:
            services.validate_rule(self.details())
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(CenterScoped):
    form = RoutingRuleForm
    list_display = ["name", "fusion_center", "target_label", "direction", "mode", "when", "is_active"]
    list_filter = ["direction", "mode", "when", "is_active"]
    search_fields = ["name"]
    list_select_related = ["fusion_center", "target_eoc", "target_jurisdiction"]

    def has_add_permission(self, request):
        return _keeps_liaison(request)

    def has_change_permission(self, request, obj=None):
        return _keeps_liaison(request, getattr(obj, "fusion_center_id", None))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        centers = Agency.objects.filter(kind=Agency.Kind.FUSION_CENTER)
        if not request.user.is_system_admin:
            centers = centers.filter(pk=request.user.agency_id)
        if "fusion_center" in form.base_fields:
            form.base_fields["fusion_center"].queryset = centers
            form.base_fields["fusion_center"].initial = request.user.agency_id
        if "target_eoc" in form.base_fields:
            form.base_fields["target_eoc"].queryset = Agency.objects.filter(kind=Agency.Kind.EOC)
        return form

    def get_readonly_fields(self, request, obj=None):
        return ["fusion_center"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        """Saved through the services (which check who may, and validate as the form already did)."""
        if change:
            rule = services.update_rule(rule=obj, by=request.user, details=form.details())
        else:
            rule = services.create_rule(
                by=request.user, details=form.details(), fusion_center=form.cleaned_data["fusion_center"]
            )
        obj.pk = rule.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The service set the information needs with the rule.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(LiaisonAssignment)
class LiaisonAssignmentAdmin(CenterScoped):
    list_display = ["officer", "eoc", "incident", "starts_at", "ends_at", "phone"]
    list_filter = [("ends_at", admin.EmptyFieldListFilter)]
    list_select_related = ["officer", "eoc", "incident"]
    readonly_fields = [f.name for f in LiaisonAssignment._meta.fields]
    actions = ["end_assignments"]

    @admin.action(description="End the selected assignments now")
    def end_assignments(self, request, queryset):
        ended = 0
        for assignment in queryset:
            try:
                services.end_assignment(assignment=assignment, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{assignment}: {' '.join(getattr(error, 'messages', [str(error)]))}")
            else:
                ended += 1
        self.message_user(request, f"{ended} assignments ended.", messages.SUCCESS)


@admin.register(DutyContact)
class DutyContactAdmin(CenterScoped):
    list_display = ["on_date", "person", "phone", "fusion_center"]
    list_select_related = ["person", "fusion_center"]
    date_hierarchy = "on_date"
    readonly_fields = [f.name for f in DutyContact._meta.fields]


@admin.register(Relay)
class RelayAdmin(CenterScoped):
    list_display = ["source_label", "direction", "eoc", "incident", "state", "created_at", "acknowledged_at"]
    list_filter = ["direction", "state"]
    search_fields = ["source_label"]
    list_select_related = ["eoc", "incident"]
    readonly_fields = [f.name for f in Relay._meta.fields]


@admin.register(AwarenessItem)
class AwarenessItemAdmin(CenterScoped):
    """The queue's items with their metadata; their text is read on the queue's pages, under its markings."""

    list_display = ["title", "kind", "priority", "eoc", "incident", "received_at", "state"]
    list_filter = ["kind", "priority", "state"]
    list_select_related = ["eoc", "incident"]
    exclude = ["body", "tearline"]
    readonly_fields = [f.name for f in AwarenessItem._meta.fields if f.name not in ("body", "tearline")]
