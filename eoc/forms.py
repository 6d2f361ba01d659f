"""Forms of the EOC's pages: incidents, the feed, activation, situation reports, resource requests,
tasks and CAP upload. They parse what people type; the services decide what is allowed."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from agencies.form_kit import DateTimeInput, MultipleFileField, MultipleFileInput, USWDSForm, add_service_errors
from agencies.markings import TLP, Caveat
from agencies.models import Agency, Jurisdiction, User
from agencies.uploads import ALLOWED_WORDS, max_bytes, megabytes

from .models import ActivationLevel, EocStatus, FeedEntry, Incident, ResourceRequest, Task, local_level_label
from .services.feed import EntryContent
from .services.incidents import IncidentDetails
from .services.logistics import SITREP_SECTIONS, RequestDetails, TaskDetails

__all__ = ["add_service_errors"]


class CoordinateField(forms.DecimalField):
    """Degrees of latitude or longitude, rounded to six decimals (about 10 cm), within range."""

    def __init__(self, *, limit: int, label: str, **kwargs) -> None:
        self.limit = limit
        super().__init__(label=label, required=False, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "step": "any"})

    def to_python(self, value):
        number = super().to_python(value)
        return None if number is None else number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and not -self.limit <= value <= self.limit:
            raise ValidationError(f"{self.label} is between -{self.limit} and {self.limit} degrees.")


class LocationMixin:
    """Latitude and longitude: both or neither (the services' rule, checked here too so that it
    shows with the form's other messages)."""

    def clean(self):
        cleaned = super().clean()
        latitude, longitude = cleaned.get("latitude"), cleaned.get("longitude")
        if (
            "latitude" not in self.errors
            and "longitude" not in self.errors
            and (latitude is None) != (longitude is None)
        ):
            self.add_error("latitude", "Give both latitude and longitude, or neither.")
        return cleaned


class JurisdictionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Jurisdiction) -> str:
        depth = max(len(obj.ancestor_ids) - 1, 0)
        return f"{'— ' * depth}{obj.name}"


class AgencyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return f"{obj.name} ({obj.acronym})"


class AgencyMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return f"{obj.name} ({obj.acronym})"


def active_agencies():
    return Agency.objects.filter(is_active=True).order_by("name")


# --- Incidents -----------------------------------------------------------------------------------


class IncidentFilterForm(USWDSForm):
    """The incident list's filters, from the query string."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Open (not closed)"), *Incident.Status.choices, ("all", "All, closed included")],
    )
    incident_type = forms.ChoiceField(label="Type", required=False, choices=[("", "Any type"), *Incident.Type.choices])
    exercise = forms.ChoiceField(
        label="Exercises",
        required=False,
        choices=[("", "Real incidents and exercises"), ("no", "Real incidents only"), ("yes", "Exercises only")],
    )

    def filters(self) -> dict[str, str]:
        cleaned = self.cleaned_data if self.is_valid() else {}
        return {name: cleaned.get(name) or "" for name in ("status", "incident_type", "exercise")}


class IncidentForm(LocationMixin, USWDSForm):
    """Opening an incident (IncidentDetails)."""

    incident_type = forms.ChoiceField(
        label="Type",
        choices=[("", "- Select -"), *Incident.Type.choices],
        error_messages={"required": "Choose the type of incident."},
    )
    name = forms.CharField(label="Name", max_length=200, error_messages={"required": "Give the incident a name."})
    priority = forms.ChoiceField(
        label="Priority", choices=Incident.Priority.choices, initial=Incident.Priority.MODERATE
    )
    is_exercise = forms.BooleanField(
        label="This is an exercise",
        required=False,
        help_text="Every page, entry and message about an exercise says EXERCISE, and only its participants see it.",
    )
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    address = forms.CharField(label="Address or place", max_length=250, required=False)
    latitude = CoordinateField(label="Latitude", limit=90, help_text="Decimal degrees, e.g. 35.7796.")
    longitude = CoordinateField(label="Longitude", limit=180, help_text="Decimal degrees, e.g. -78.6382.")
    affected_jurisdictions = JurisdictionChoiceField(
        label="Affected jurisdictions",
        required=False,
        queryset=Jurisdiction.objects.all(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    supporting_agencies = AgencyMultipleChoiceField(
        label="Supporting agencies",
        required=False,
        queryset=active_agencies(),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="They take part: they post to the feed and, for an exercise, are its participants.",
    )

    def __init__(self, *args, person: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supporting_agencies"].queryset = active_agencies().exclude(pk=person.agency_id)

    def to_details(self) -> IncidentDetails:
        cleaned = self.cleaned_data
        return IncidentDetails(
            name=cleaned["name"],
            incident_type=cleaned["incident_type"],
            priority=cleaned["priority"],
            is_exercise=cleaned["is_exercise"],
            description=cleaned["description"],
            address=cleaned["address"],
            latitude=cleaned["latitude"],
            longitude=cleaned["longitude"],
            affected_jurisdictions=list(cleaned["affected_jurisdictions"]),
            supporting_agencies=list(cleaned["supporting_agencies"]),
        )


class OperationalPeriodForm(USWDSForm):
    """Starting the next operational period (the current one closes)."""

    starts_at = forms.DateTimeField(label="Starts", widget=DateTimeInput)
    ends_at = forms.DateTimeField(label="Ends", widget=DateTimeInput)
    objectives = forms.CharField(label="Objectives (ICS-202)", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def next_period_initial(cls) -> dict:
        start = timezone.localtime().replace(second=0, microsecond=0)
        return {"starts_at": start, "ends_at": start + timedelta(hours=12)}


class CapUploadForm(USWDSForm):
    document = forms.FileField(
        label="CAP 1.2 alert (XML file)",
        help_text="An alert from the National Weather Service, IPAWS or another sender; it becomes a warning entry.",
        error_messages={"required": "Choose the alert's XML file."},
    )

    def clean_document(self) -> bytes:
        upload = self.cleaned_data["document"]
        # One byte past the limit is enough for the parser to refuse an oversized document.
        return upload.read(settings.CAP_MAX_BYTES + 1)


# --- The feed --------------------------------------------------------------------------------


class FeedFilterForm(USWDSForm):
    """The feed's filters, from the query string (their ids apart from the post form's on the same page)."""

    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *FeedEntry.Kind.choices])
    priority = forms.ChoiceField(
        label="Priority", required=False, choices=[("", "Any priority"), *FeedEntry.Priority.choices]
    )
    agency = AgencyChoiceField(
        label="Posted by", required=False, queryset=Agency.objects.none(), empty_label="Any agency"
    )

    def __init__(self, *args, agencies, **kwargs) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies

    def filters(self) -> dict:
        cleaned = self.cleaned_data if self.is_valid() else {}
        agency = cleaned.get("agency")
        return {
            "kind": cleaned.get("kind") or "",
            "priority": cleaned.get("priority") or "",
            "agency_id": agency.pk if agency else None,
        }

    @property
    def is_filtered(self) -> bool:
        return any(self.filters().values())


class EntryForm(LocationMixin, USWDSForm):
    """Posting (or correcting) an entry of the feed: EntryContent."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=[("", "- Select -"), *[c for c in FeedEntry.Kind.choices if c[0] != FeedEntry.Kind.RELAYED_ITEM]],
        error_messages={"required": "Choose the kind of entry."},
    )
    priority = forms.ChoiceField(
        label="Priority",
        choices=FeedEntry.Priority.choices,
        initial=FeedEntry.Priority.ROUTINE,
        widget=forms.RadioSelect,
        help_text="Flash: act now. Priority: needs attention soon. Routine: for the record.",
    )
    title = forms.CharField(label="Title", max_length=250, error_messages={"required": "Say what happened, in a line."})
    body = forms.CharField(label="Details", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    occurred_at = forms.DateTimeField(
        label="Time of event", required=False, widget=DateTimeInput, help_text="Leave empty for now."
    )
    latitude = CoordinateField(label="Latitude", limit=90)
    longitude = CoordinateField(label="Longitude", limit=180)
    tlp = forms.ChoiceField(
        label="TLP",
        choices=[c for c in TLP.choices if c[0] != TLP.RED],
        initial=TLP.GREEN,
        widget=forms.RadioSelect,
        help_text="TLP:RED items go to named people only and are never posted to a feed.",
    )
    caveats = forms.MultipleChoiceField(
        label="Caveats", required=False, choices=Caveat.choices, widget=forms.CheckboxSelectMultiple
    )
    tearline = forms.CharField(
        label="Tearline",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What those who may not read the details (an LES entry, say) see instead.",
    )
    attachments = MultipleFileField(
        label="Attachments",
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}),
        help_text=f"{ALLOWED_WORDS}.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The limit is read when the form is made: a deployment may change it.
        self.fields["attachments"].help_text = (
            f"{ALLOWED_WORDS}, up to {megabytes(max_bytes())} each; only those who may read the details get "
            "them. If the entry is refused, choose the files again."
        )

    @classmethod
    def initial_of(cls, entry: FeedEntry) -> dict:
        return {
            "kind": entry.kind if entry.kind != FeedEntry.Kind.RELAYED_ITEM else FeedEntry.Kind.SITUATION_UPDATE,
            "priority": entry.priority,
            "title": entry.title,
            "body": entry.body if getattr(entry, "full_access", False) else "",
            "latitude": entry.latitude,
            "longitude": entry.longitude,
            "tlp": entry.tlp if entry.tlp != TLP.RED else TLP.AMBER_STRICT,
            "caveats": entry.caveats,
            "tearline": entry.tearline,
        }

    def to_content(self) -> EntryContent:
        cleaned = self.cleaned_data
        return EntryContent(
            kind=cleaned["kind"],
            title=cleaned["title"],
            body=cleaned["body"],
            priority=cleaned["priority"],
            occurred_at=cleaned["occurred_at"],
            latitude=cleaned["latitude"],
            longitude=cleaned["longitude"],
            tlp=cleaned["tlp"],
            caveats=list(cleaned["caveats"]),
            tearline=cleaned["tearline"],
        )


# --- Activation ------------------------------------------------------------------------------


class ActivationForm(USWDSForm):
    level = forms.TypedChoiceField(
        label="Activation level",
        coerce=int,
        choices=ActivationLevel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose Level 1, 2 or 3."},
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the history and sent to the fusion center with the change.",
        error_messages={"required": "Give the reason for the change of activation level."},
    )
    incident = forms.ModelChoiceField(
        label="For the incident",
        required=False,
        queryset=Incident.objects.none(),
        empty_label="No particular incident",
    )

    def __init__(self, *args, status: EocStatus, incidents, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Shown as the EOC's own jurisdiction numbers them; stored canonically.
        self.fields["level"].choices = [(level, local_level_label(level, status.numbering)) for level in (3, 2, 1)]
        self.fields["incident"].queryset = incidents

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Give the reason for the change of activation level.")
        return reason


# --- Situation reports, resource requests, tasks ------------------------------------------------


def _section(label: str, hint: str = "") -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=hint, widget=forms.Textarea(attrs={"rows": 4}))


class SituationReportForm(USWDSForm):
    """The ICS-209-like sections of a situation report, and (when starting one) its operational period."""

    operational_period = forms.ModelChoiceField(label="Operational period", queryset=None, empty_label=None)
    situation_summary = _section("Situation summary", "What is happening now, in a few sentences. Needed to publish.")
    actions_taken = _section("Actions taken")
    resources = _section("Resources", "Committed, requested and available.")
    casualties_damage = _section("Casualties and damage")
    weather = _section("Weather")
    public_information = _section("Public information", "Warnings, messages and media.")
    next_steps = _section("Next steps", "Planned for the next operational period.")

    def __init__(self, *args, periods=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if periods is None:
            del self.fields["operational_period"]
        else:
            field = self.fields["operational_period"]
            field.queryset = periods
            field.label_from_instance = period_label

    def sections(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in SITREP_SECTIONS}


def period_label(period) -> str:
    starts, ends = timezone.localtime(period.starts_at), timezone.localtime(period.ends_at)
    closed = " (closed)" if period.is_closed else ""
    return f"Period {period.number}: {starts:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M}{closed}"


class ResourceRequestForm(USWDSForm):
    """ICS-213RR: what is needed, how many, by when and where."""

    resource_kind = forms.CharField(
        label="Resource",
        max_length=200,
        help_text="e.g. Swift-water rescue team",
        error_messages={"required": "Say what resource is needed."},
    )
    nims_type = forms.CharField(label="NIMS type", max_length=40, required=False, help_text="e.g. Type 2")
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        initial=1,
        error_messages={
            "required": "The quantity is a whole number, at least 1.",
            "invalid": "The quantity is a whole number, at least 1.",
            "min_value": "The quantity is a whole number, at least 1.",
        },
    )
    priority = forms.ChoiceField(
        label="Priority", choices=ResourceRequest.Priority.choices, initial=ResourceRequest.Priority.ROUTINE
    )
    needed_by = forms.DateTimeField(
        label="Needed by", widget=DateTimeInput, error_messages={"required": "Say when it is needed."}
    )
    deliver_to = forms.CharField(
        label="Deliver to",
        max_length=250,
        help_text="Staging area or address.",
        error_messages={"required": "Say where to deliver it."},
    )

    def to_details(self) -> RequestDetails:
        return RequestDetails(**self.cleaned_data)


class TransitionForm(USWDSForm):
    """Moving a resource request to its next state (assigning needs an agency; denying and
    cancelling need a note)."""

    state = forms.ChoiceField(label="Move to", choices=ResourceRequest.State.choices)
    assigned_agency = AgencyChoiceField(
        label="Agency that fills the request", required=False, queryset=active_agencies(), empty_label="- Select -"
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, next_states: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if next_states:
            self.fields["state"].choices = [(s, ResourceRequest.State(s).label) for s in next_states]


class TaskForm(USWDSForm):
    title = forms.CharField(label="Task", max_length=250, error_messages={"required": "Say what is to be done."})
    description = forms.CharField(label="Details", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    assigned_agency = AgencyChoiceField(
        label="Agency", required=False, queryset=active_agencies(), empty_label="No agency"
    )
    esf = forms.TypedChoiceField(
        label="Emergency Support Function",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "No ESF"), *Task.ESF.choices],
    )
    section = forms.ChoiceField(label="Section", required=False, choices=[("", "No section"), *Task.Section.choices])
    due_at = forms.DateTimeField(label="Due", widget=DateTimeInput, error_messages={"required": "Say when it is due."})

    def to_details(self) -> TaskDetails:
        cleaned = self.cleaned_data
        return TaskDetails(
            title=cleaned["title"],
            description=cleaned["description"],
            assigned_agency=cleaned["assigned_agency"],
            esf=cleaned["esf"],
            section=cleaned["section"],
            due_at=cleaned["due_at"],
        )


def activation_incidents(person: User, eoc: Agency):
    """Open incidents the EOC takes part in (as lead or supporting agency) that the person may see."""
    supported = Incident.supporting_agencies.through.objects.filter(agency_id=eoc.pk).values("incident_id")
    return (
        Incident.objects.visible_to(person)
        .open()
        .filter(Q(lead_eoc=eoc) | Q(pk__in=supported))
        .order_by("-started_at", "-pk")
    )
