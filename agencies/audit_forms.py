"""The audit trail's search form: person, item, action, outcome and a date range, from the query string."""

from __future__ import annotations

from django import forms

from .audit import AuditFilters
from .audit_models import AuditAction, AuditOutcome


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    person = forms.CharField(label="Person (username)", required=False, max_length=150)
    item = forms.CharField(
        label="Item",
        required=False,
        max_length=200,
        help_text="A product number (SFC-2026-0042), another item's name, or an item id.",
    )
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices])
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any outcome"), *AuditOutcome.choices])
    date_from = forms.DateField(label="From", required=False, widget=DateInput)
    date_to = forms.DateField(label="To", required=False, widget=DateInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "usa-select" if isinstance(field.widget, forms.Select) else "usa-input"
            field.widget.attrs["class"] = css
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-hint"
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] += " usa-input--error"
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"{widget.attrs.get('aria-describedby', '')} id_{name}-error".strip()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end of the date range must not come before its start.")
        return cleaned

    def to_filters(self) -> AuditFilters:
        """The filters from the valid fields; a field with an error narrows nothing (and shows why)."""
        cleaned = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return AuditFilters(
            person=(cleaned.get("person") or "").strip(),
            item=(cleaned.get("item") or "").strip(),
            action=cleaned.get("action") or "",
            outcome=cleaned.get("outcome") or "",
            date_from=cleaned.get("date_from"),
            date_to=cleaned.get("date_to") if "date_to" not in self.errors else None,
        )
