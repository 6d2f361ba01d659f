"""Forms of the request-for-information pages: the list filters, the request, and the assign, answer and close forms."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from agencies.models import Agency, Jurisdiction, User

from .models import RequestForInformation, ThreatProduct
from .request_selectors import RequestFilters, answerable_products, assignable_analysts
from .services.requests import default_fusion_center

RFI = RequestForInformation


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class USWDSForm(forms.Form):
    """A form whose widgets carry the USWDS classes, hint and error references."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                base = "usa-checkbox__input"
            elif isinstance(widget, forms.Textarea):
                base = "usa-textarea"
            elif isinstance(widget, forms.Select):
                base = "usa-select"
            else:
                base = "usa-input"
            widget.attrs["class"] = base
            if field.help_text:
                widget.attrs["aria-describedby"] = f"{self.auto_id % name}-hint"

    def add_service_error(self, error: ValidationError) -> None:
        """A service's refusal on the form: each message on its field, the rest above the form."""
        if hasattr(error, "error_dict"):
            for name, messages in error.error_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error)

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            if attrs.get("class") in ("usa-input", "usa-select", "usa-textarea"):
                attrs["class"] = f"{attrs['class']} usa-input--error"
            error_id = f"{self.auto_id % name}-error"
            described = attrs.get("aria-describedby", "")
            if error_id not in described:
                attrs["aria-describedby"] = f"{described} {error_id}".strip()


class RequestFilterForm(USWDSForm):
    """The filters of a request list, read from the query string."""

    state = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *RFI.State.choices])
    priority = forms.ChoiceField(
        label="Priority", required=False, choices=[("", "Any priority"), *RFI.Priority.choices]
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def to_filters(self) -> RequestFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return RequestFilters(
            state=data.get("state", ""), priority=data.get("priority", ""), overdue=data.get("overdue", False)
        )


class FusionCenterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return obj.name


class RequestForm(USWDSForm):
    """A new request for information."""

    question = forms.CharField(
        label="Question",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text="What you need to know, and why: the fusion center answers what you ask here.",
    )
    priority = forms.ChoiceField(label="Priority", choices=RFI.Priority.choices, initial=RFI.Priority.ROUTINE)
    due_date = forms.DateField(label="Answer needed by", widget=DateInput(), help_text="Today or later.")
    jurisdiction = forms.ModelChoiceField(
        label="Jurisdiction",
        required=False,
        queryset=Jurisdiction.objects.order_by("path"),
        empty_label="Not about one jurisdiction",
        help_text="The place the question is about, if any.",
    )
    fusion_center = FusionCenterChoiceField(
        label="Fusion center",
        queryset=Agency.objects.filter(kind=Agency.Kind.FUSION_CENTER, is_active=True).order_by("name", "pk"),
        empty_label=None,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        default = default_fusion_center()
        if default is not None:
            self.fields["fusion_center"].initial = default.pk


class AnalystChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class AssignForm(USWDSForm):
    """A supervisor gives the request to an analyst of the center."""

    assignee = AnalystChoiceField(label="Analyst", queryset=User.objects.none(), empty_label="Choose an analyst")
    note = forms.CharField(
        label="Note to the analyst", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, rfi: RequestForInformation, **kwargs) -> None:
        kwargs.setdefault("auto_id", "assign_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_analysts(rfi)
        self.fields["assignee"].error_messages["invalid_choice"] = "Choose an active analyst of the fusion center."


class ProductChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: ThreatProduct) -> str:
        return f"{obj.display_number} {obj.title}"


class AnswerForm(USWDSForm):
    """The assigned analyst answers in text and/or with products the requester may see."""

    answer = forms.CharField(label="Answer", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 6}))
    products = ProductChoiceField(
        label="Products that answer the question",
        required=False,
        queryset=ThreatProduct.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Only published products that the requester may see are offered.",
    )

    def __init__(self, *args, rfi: RequestForInformation, person: User, **kwargs) -> None:
        kwargs.setdefault("auto_id", "answer_%s")
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = answerable_products(rfi, person=person)
        self.fields["products"].error_messages["invalid_choice"] = (
            "The requester may not see product #%(value)s: choose products released to them, or answer in text."
        )


class CloseForm(USWDSForm):
    note = forms.CharField(label="Note", required=False, max_length=2000, help_text="Why it is closed (optional).")

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)
