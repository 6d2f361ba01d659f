"""Forms of the retention review pages: the queue's filters and a supervisor's decision."""

from __future__ import annotations

from django import forms

from agencies.form_kit import DateInput, USWDSForm

from .models import RetentionReview
from .selectors import RetentionFilters


class RetentionFilterForm(USWDSForm):
    state = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[*RetentionReview.State.choices, ("", "Any status")],
    )
    due = forms.ChoiceField(label="Due", required=False, choices=[("", "Any due date"), ("overdue", "Overdue only")])
    number = forms.CharField(label="Product number", required=False, max_length=40)

    def to_filters(self) -> RetentionFilters:
        """The filters asked for; an unknown value falls back to the default rather than failing."""
        data = self.cleaned_data if self.is_valid() else {}
        state = data.get("state", RetentionReview.State.OPEN) if "state" in self.data else RetentionReview.State.OPEN
        return RetentionFilters(state=state, due=data.get("due", ""), number=data.get("number", "").strip())


class RetentionDecisionForm(USWDSForm):
    """Validate for a new period, or purge: both with a justification; a purge with a confirmation."""

    VALIDATE = "validate"
    PURGE = "purge"

    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[
            (VALIDATE, "Validate: the information is still relevant and important; keep it for a new period"),
            (PURGE, "Purge: remove its content and attachments, keeping only a tombstone"),
        ],
        error_messages={"required": "Choose whether to validate or purge the product."},
    )
    new_review_by = forms.DateField(
        label="New review-by date",
        required=False,
        widget=DateInput(),
        help_text="For a validation: in the future, and at most five years ahead.",
        error_messages={"invalid": "Enter the new review-by date as a date (YYYY-MM-DD)."},
    )
    justification = forms.CharField(
        label="Justification",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why the information is still needed, or why it goes. Updating identifiers alone does "
        "not validate criminal intelligence.",
        error_messages={"required": "Give the justification of your decision."},
    )
    confirm_purge = forms.BooleanField(
        label="I understand that a purge removes the text and attachments of every version for good.",
        required=False,
    )

    def clean(self) -> dict:
        data = super().clean()
        decision = data.get("decision")
        if decision == self.VALIDATE and not data.get("new_review_by") and "new_review_by" not in self.errors:
            self.add_error("new_review_by", "Give the new review-by date.")
        if decision == self.PURGE and not data.get("confirm_purge"):
            self.add_error("confirm_purge", "Tick the box to confirm the purge: it cannot be undone.")
        return data
