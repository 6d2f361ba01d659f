"""Forms of the liaison pages: filters, decisions on relays, routing rules, assignments, duty contacts,
manual relays and requests raised from an incident. They parse what people type; the services decide
what is allowed."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from agencies.form_kit import DateInput, DateTimeInput, USWDSForm, add_service_errors
from agencies.models import Agency, Jurisdiction, User
from eoc.models import Incident
from sharing.models import InformationNeed, RequestForInformation, ThreatProduct

from .models import AwarenessItem, Direction, Priority, Relay, RoutingRule
from .selectors import AwarenessFilters, RelayFilters, center_people, liaison_officers
from .services import RuleDetails

__all__ = ["add_service_errors"]


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


def _positive(value) -> int | None:
    try:
        number = int(value or "")
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


# --- Filters --------------------------------------------------------------------------------------------


class RelayFilterForm(USWDSForm):
    """The filters of the workspace and of the history, read from the query string."""

    direction = forms.ChoiceField(label="Direction", required=False, choices=[("", "Both"), *Direction.choices])
    eoc = forms.ModelChoiceField(label="EOC", required=False, queryset=Agency.objects.none(), empty_label="Any EOC")
    state = forms.ChoiceField(label="State", required=False, choices=[("", "Any state"), *Relay.State.choices])
    created_from = forms.DateField(label="From", required=False, widget=DateInput)
    created_to = forms.DateField(label="To", required=False, widget=DateInput)

    def __init__(self, *args, eocs=None, with_dates: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if eocs is not None:
            self.fields["eoc"].queryset = eocs
        if not with_dates:
            del self.fields["created_from"]
            del self.fields["created_to"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", "The end of the date range must not come before its start.")
        return cleaned

    def to_filters(self, *, default_state: str = "") -> RelayFilters:
        self.is_valid()  # a mistyped field narrows nothing and is shown with its message
        cleaned = self.cleaned_data
        eoc = cleaned.get("eoc")
        state = cleaned.get("state") if "state" in self.data else default_state
        return RelayFilters(
            state=state or "",
            direction=cleaned.get("direction") or "",
            eoc=eoc.pk if eoc else None,
            created_from=cleaned.get("created_from"),
            created_to=cleaned.get("created_to"),
            before=_positive(self.data.get("before")),
        )


class AwarenessFilterForm(USWDSForm):
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *AwarenessItem.Kind.choices])
    priority = forms.ChoiceField(label="Priority", required=False, choices=[("", "Any priority"), *Priority.choices])
    state = forms.ChoiceField(label="State", required=False, choices=[("", "Any state"), *AwarenessItem.State.choices])
    eoc = forms.ModelChoiceField(label="EOC", required=False, queryset=Agency.objects.none(), empty_label="Any EOC")

    def __init__(self, *args, eocs=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if eocs is not None:
            self.fields["eoc"].queryset = eocs

    def to_filters(self) -> AwarenessFilters:
        self.is_valid()
        cleaned = self.cleaned_data
        eoc = cleaned.get("eoc")
        return AwarenessFilters(
            kind=cleaned.get("kind") or "",
            priority=cleaned.get("priority") or "",
            state=cleaned.get("state") or "",
            eoc=eoc.pk if eoc else None,
            before=_positive(self.data.get("before")),
        )


# --- Decisions --------------------------------------------------------------------------------------------


class ApproveForm(USWDSForm):
    note = forms.CharField(
        label="Note (optional)", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(USWDSForm):
    reason = forms.CharField(
        label="Why is it rejected?",
        required=False,  # the service says what is missing, in its own words
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="It stays in the relay's history.",
    )


# --- Routing rules ----------------------------------------------------------------------------------------


class RuleForm(USWDSForm):
    name = forms.CharField(label="Name", max_length=200, required=False, help_text="Say what flows where.")
    target_eoc = forms.ModelChoiceField(
        label="Target EOC", required=False, queryset=Agency.objects.none(), empty_label="— none —"
    )
    target_jurisdiction = forms.ModelChoiceField(
        label="Or every EOC in a jurisdiction",
        required=False,
        queryset=Jurisdiction.objects.order_by("path"),
        empty_label="— none —",
        help_text="Choose one EOC, or a jurisdiction whose EOCs the rule covers.",
    )
    direction = forms.ChoiceField(label="Direction", choices=RoutingRule.Direction.choices, widget=forms.RadioSelect)
    product_kinds = forms.MultipleChoiceField(
        label="Product kinds",
        required=False,
        choices=ThreatProduct.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every kind.",
    )
    tags = forms.CharField(
        label="Tags", required=False, max_length=500, help_text="Separated by commas. Empty: any tag."
    )
    information_needs = forms.ModelMultipleChoiceField(
        label="Information needs", required=False, queryset=InformationNeed.objects.none()
    )
    match_incident_jurisdictions = forms.BooleanField(
        label="Only products whose audience overlaps the incident's jurisdictions", required=False
    )
    minimum_priority = forms.ChoiceField(label="Minimum priority", choices=Priority.choices)
    mode = forms.ChoiceField(label="Mode", choices=RoutingRule.Mode.choices, widget=forms.RadioSelect)
    when = forms.ChoiceField(label="When", choices=RoutingRule.When.choices, widget=forms.RadioSelect)
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_eoc"].queryset = Agency.objects.filter(kind=Agency.Kind.EOC, is_active=True).order_by(
            "name"
        )
        self.fields["information_needs"].queryset = InformationNeed.objects.filter(is_active=True).select_related(
            "agency"
        )

    @classmethod
    def initial_of(cls, details: RuleDetails) -> dict:
        return {
            "name": details.name,
            "target_eoc": details.target_eoc,
            "target_jurisdiction": details.target_jurisdiction,
            "direction": details.direction,
            "product_kinds": details.product_kinds,
            "tags": ", ".join(details.tags),
            "information_needs": details.information_needs,
            "match_incident_jurisdictions": details.match_incident_jurisdictions,
            "minimum_priority": details.minimum_priority,
            "mode": details.mode,
            "when": details.when,
            "is_active": details.is_active,
        }

    def to_details(self) -> RuleDetails:
        data = self.cleaned_data
        return RuleDetails(
            name=data.get("name") or "",
            target_eoc=data.get("target_eoc"),
            target_jurisdiction=data.get("target_jurisdiction"),
            direction=data["direction"],
            product_kinds=list(data.get("product_kinds") or []),
            tags=[tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()],
            information_needs=list(data.get("information_needs") or []),
            match_incident_jurisdictions=bool(data.get("match_incident_jurisdictions")),
            minimum_priority=data["minimum_priority"],
            mode=data["mode"],
            when=data["when"],
            is_active=bool(data.get("is_active")),
        )


def new_rule_initial() -> dict:
    return RuleForm.initial_of(RuleDetails(name=""))


# --- Assignments and the contact of the day -----------------------------------------------------------------


class AssignmentForm(USWDSForm):
    officer = PersonChoiceField(label="Liaison officer", queryset=User.objects.none())
    eoc = forms.ModelChoiceField(label="EOC", queryset=Agency.objects.none())
    incident = forms.ModelChoiceField(
        label="Incident (optional)",
        required=False,
        queryset=Incident.objects.none(),
        empty_label="EOC-wide",
        help_text="During an activation, the incident the officer supports.",
    )
    starts_at = forms.DateTimeField(label="Starts", required=False, widget=DateTimeInput, help_text="Empty: now.")
    ends_at = forms.DateTimeField(label="Ends (optional)", required=False, widget=DateTimeInput)
    phone = forms.CharField(label="Phone during the assignment", required=False, max_length=40)
    note = forms.CharField(label="Note", required=False, max_length=250)

    def __init__(self, *args, fusion_center_id: int | None, **kwargs) -> None:
        super().__init__(*args, prefix="assignment", **kwargs)
        self.fields["officer"].queryset = liaison_officers(fusion_center_id)
        self.fields["eoc"].queryset = Agency.objects.filter(kind=Agency.Kind.EOC, is_active=True).order_by("name")
        self.fields["incident"].queryset = (
            Incident.objects.exclude(status=Incident.Status.CLOSED).select_related("lead_eoc").order_by("-pk")
        )


class DutyContactForm(USWDSForm):
    person = PersonChoiceField(label="Contact of the day", queryset=User.objects.none())
    on_date = forms.DateField(label="Date", widget=DateInput)
    phone = forms.CharField(label="Phone", required=False, max_length=40)

    def __init__(self, *args, fusion_center_id: int | None, **kwargs) -> None:
        kwargs.setdefault("initial", {"on_date": timezone.localdate()})
        super().__init__(*args, prefix="duty", **kwargs)
        self.fields["person"].queryset = center_people(fusion_center_id)


# --- Manual relays and requests from an incident --------------------------------------------------------------


class ManualRelayForm(USWDSForm):
    """Relay a product to an EOC (or one of its incidents), with a note."""

    eoc = forms.ModelChoiceField(label="Target EOC", queryset=Agency.objects.none())
    incident = forms.ModelChoiceField(
        label="Incident of that EOC (optional)",
        required=False,
        queryset=Incident.objects.none(),
        empty_label="The EOC-wide feed",
    )
    note = forms.CharField(label="Note", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, check_url: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["eoc"].queryset = Agency.objects.filter(kind=Agency.Kind.EOC, is_active=True).order_by("name")
        if check_url:
            # Choosing the EOC shows the marking check at once (htmx); without script, the "Check" button does.
            self.fields["eoc"].widget.attrs.update(
                {
                    "hx-get": check_url,
                    "hx-trigger": "change",
                    "hx-target": "#marking-check",
                    "hx-include": "#relay-source",
                }
            )
        self.fields["incident"].queryset = (
            Incident.objects.exclude(status=Incident.Status.CLOSED)
            .filter(is_exercise=False)
            .select_related("lead_eoc")
            .order_by("lead_eoc__name", "-pk")
        )
        self.fields["incident"].label_from_instance = lambda i: f"{i.lead_eoc.acronym}: {i.number} {i.name}"


class EntryRelayForm(USWDSForm):
    """Relay a feed entry to the officer's fusion center, with a note."""

    note = forms.CharField(label="Note", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class RaiseRequestForm(USWDSForm):
    question = forms.CharField(
        label="Question", required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    due_date = forms.DateField(label="Answer needed by", required=False, widget=DateInput)
    priority = forms.ChoiceField(
        label="Priority", choices=RequestForInformation.Priority.choices, initial=RequestForInformation.Priority.ROUTINE
    )
