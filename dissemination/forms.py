"""Forms of the dissemination pages: inbox and record filters, email preference, agency channels and
webhook endpoints."""

from __future__ import annotations

from django import forms

from agencies.form_kit import DateInput, USWDSForm, add_service_errors
from agencies.markings import TLP
from agencies.models import Agency

from .models import Delivery, NotificationPreference, WebhookEndpoint
from .selectors import InboxFilters, InboxState, RecordFilters, kind_choices

__all__ = ["add_service_errors"]


class InboxFilterForm(USWDSForm):
    """The inbox filters, read from the query string; a mistyped value narrows nothing and is shown."""

    state = forms.ChoiceField(label="Status", required=False, choices=[("", "All"), *InboxState.CHOICES])
    kind = forms.ChoiceField(label="Kind", required=False)
    tlp = forms.ChoiceField(label="TLP", required=False, choices=[("", "Any TLP level"), *TLP.choices])
    received_from = forms.DateField(label="Received from", required=False, widget=DateInput)
    received_to = forms.DateField(label="Received to", required=False, widget=DateInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any kind"), *kind_choices()]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("received_from"), cleaned.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", "The end of the date range must not come before its start.")
        return cleaned

    def to_filters(self) -> InboxFilters:
        cleaned = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return InboxFilters(
            state=cleaned.get("state") or "",
            kind=cleaned.get("kind") or "",
            tlp=cleaned.get("tlp") or "",
            received_from=cleaned.get("received_from"),
            received_to=cleaned.get("received_to"),
        )


class RecordFilterForm(USWDSForm):
    """The filters of a dissemination record's recipient table."""

    q = forms.CharField(label="Person or agency", required=False, max_length=100)
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *Delivery.Channel.choices]
    )
    state = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *Delivery.State.choices])
    access = forms.ChoiceField(
        label="Text received",
        required=False,
        choices=[("", "Full text or tearline"), ("full", "Full text"), ("tearline", "Tearline only")],
    )

    def to_filters(self) -> RecordFilters:
        cleaned = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return RecordFilters(
            q=(cleaned.get("q") or "").strip(),
            channel=cleaned.get("channel") or "",
            state=cleaned.get("state") or "",
            access=cleaned.get("access") or "",
        )


class NotificationPreferenceForm(USWDSForm):
    email_mode = forms.ChoiceField(
        label="Email about new items",
        choices=NotificationPreference.EmailMode.choices,
        widget=forms.RadioSelect,
        help_text="Your inbox on this site always receives every item, whatever you choose here.",
    )


class AgencyChannelsForm(USWDSForm):
    email_enabled = forms.BooleanField(
        label="Send email to our people about new items",
        required=False,
        help_text="Off: nobody in the agency gets email about new items, whatever they chose; "
        "the inbox on this site still receives everything.",
    )


class WebhookEndpointForm(USWDSForm):
    """A new endpoint: its URL and format, and for a system admin the agency it belongs to."""

    agency = forms.ModelChoiceField(
        label="Agency", queryset=Agency.objects.filter(is_active=True), empty_label="Choose the agency"
    )
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where the agency's system receives signed webhooks: a public https address.",
    )
    payload_format = forms.ChoiceField(
        label="Format",
        choices=WebhookEndpoint.Format.choices,
        widget=forms.RadioSelect,
        help_text="JSON for most systems; CAP 1.2 for alerting systems; STIX 2.1 for threat intelligence platforms.",
    )

    def __init__(self, *args, for_all_agencies: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not for_all_agencies:
            del self.fields["agency"]


class WebhookFormatForm(USWDSForm):
    payload_format = forms.ChoiceField(label="Format", choices=WebhookEndpoint.Format.choices, widget=forms.RadioSelect)
