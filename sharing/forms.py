"""Forms of the product pages: the list filters, the product form and the review and retraction forms."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from agencies.form_kit import DateInput, DateTimeInput, USWDSForm, add_service_errors
from agencies.markings import TLP, Caveat
from agencies.models import Agency, Jurisdiction, User

from .models import InformationNeed, ThreatProduct
from .selectors import ProductFilters
from .services.products import ProductContent

__all__ = ["DateInput", "DateTimeInput", "USWDSForm", "add_service_errors"]


class ProductFilterForm(USWDSForm):
    """The filters and search of the product list, read from the query string."""

    q = forms.CharField(label="Search words", required=False, max_length=200)
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *ThreatProduct.Kind.choices])
    tlp = forms.ChoiceField(label="TLP", required=False, choices=[("", "Any TLP level"), *TLP.choices])
    tag = forms.CharField(label="Tag", required=False, max_length=60)
    state = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Current (published and retracted)"), *ThreatProduct.State.choices],
    )
    originator = forms.ModelChoiceField(
        label="Originator",
        required=False,
        queryset=Agency.objects.filter(kind=Agency.Kind.FUSION_CENTER),
        empty_label="Any originator",
    )
    published_from = forms.DateField(label="Published from", required=False, widget=DateInput)
    published_to = forms.DateField(label="Published to", required=False, widget=DateInput)
    include_expired = forms.BooleanField(label="Include expired products", required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("published_from"), cleaned.get("published_to")
        if start and end and end < start:
            self.add_error("published_to", "The end of the date range must not come before its start.")
        return cleaned

    def to_filters(self) -> ProductFilters:
        """The filters from the valid fields: a mistyped date narrows nothing and is shown as an error."""
        cleaned = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        originator = cleaned.get("originator")
        return ProductFilters(
            q=(cleaned.get("q") or "").strip(),
            kind=cleaned.get("kind") or "",
            tlp=cleaned.get("tlp") or "",
            tag=(cleaned.get("tag") or "").strip(),
            state=cleaned.get("state") or "",
            originator=originator.pk if originator else None,
            published_from=cleaned.get("published_from"),
            published_to=cleaned.get("published_to"),
            include_expired=bool(cleaned.get("include_expired")),
        )


class JurisdictionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Jurisdiction) -> str:
        depth = max(len(obj.ancestor_ids) - 1, 0)
        return f"{'— ' * depth}{obj.name}"


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj} ({obj.agency.acronym})"


class AudienceForm(USWDSForm):
    """Markings, tearline and audience: what decides who receives a product and how much of it."""

    tlp = forms.ChoiceField(
        label="TLP",
        choices=TLP.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a TLP level."},
        help_text="TLP:RED goes to the named people only; TLP:AMBER+STRICT to the named agencies.",
    )
    caveats = forms.MultipleChoiceField(
        label="Caveats", required=False, choices=Caveat.choices, widget=forms.CheckboxSelectMultiple
    )
    tearline = forms.CharField(
        label="Tearline",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The releasable part, for those who may not read the full text: the essential facts "
        "without sensitive sources or details. Markdown.",
    )
    audience_agencies = forms.ModelMultipleChoiceField(
        label="Agencies",
        required=False,
        queryset=Agency.objects.filter(is_active=True),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    audience_levels = forms.MultipleChoiceField(
        label="Agency levels", required=False, choices=Agency.Level.choices, widget=forms.CheckboxSelectMultiple
    )
    audience_disciplines = forms.MultipleChoiceField(
        label="Disciplines", required=False, choices=Agency.Discipline.choices, widget=forms.CheckboxSelectMultiple
    )
    audience_jurisdictions = JurisdictionChoiceField(
        label="Jurisdictions",
        required=False,
        queryset=Jurisdiction.objects.all(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="A jurisdiction includes every jurisdiction under it.",
    )
    audience_people = PersonChoiceField(
        label="Named people",
        required=False,
        queryset=User.objects.filter(is_active=True, agency__is_active=True).select_related("agency"),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Required for TLP:RED, which goes to them alone.",
    )

    def audience_content(self) -> ProductContent | None:
        """The markings and audience typed so far (valid fields only), or None without a TLP level."""
        self.is_valid()
        cleaned = self.cleaned_data
        if not cleaned.get("tlp"):
            return None
        return ProductContent(
            kind="",
            title="",
            tlp=cleaned["tlp"],
            caveats=cleaned.get("caveats") or [],
            tearline=cleaned.get("tearline") or "",
            audience_agencies=list(cleaned.get("audience_agencies") or []),
            audience_levels=cleaned.get("audience_levels") or [],
            audience_disciplines=cleaned.get("audience_disciplines") or [],
            audience_jurisdictions=list(cleaned.get("audience_jurisdictions") or []),
            audience_people=list(cleaned.get("audience_people") or []),
        )


class ProductForm(AudienceForm):
    """Everything an author writes in a product (ProductContent)."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=[("", "- Select -"), *ThreatProduct.Kind.choices],
        error_messages={"required": "Choose the kind of product."},
    )
    title = forms.CharField(label="Title", max_length=250, error_messages={"required": "Give the product a title."})
    summary = forms.CharField(label="Summary", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(
        label="Body",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Markdown: **bold**, _italic_, lists, tables and links. The preview shows how it will read.",
    )
    tags = forms.CharField(label="Tags", required=False, help_text="Separate tags with commas.")
    information_needs = forms.ModelMultipleChoiceField(
        label="Information needs it serves",
        required=False,
        queryset=InformationNeed.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )
    release_reason = forms.CharField(
        label="Reason for release",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the audience goes beyond your agency: who needs to know, and why.",
    )
    is_criminal_intelligence = forms.BooleanField(label="Criminal intelligence (28 CFR Part 23)", required=False)
    criminal_predicate = forms.CharField(
        label="Criminal predicate",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The reasonable suspicion of criminal conduct this intelligence rests on.",
    )
    effective_at = forms.DateTimeField(label="Effective from", required=False, widget=DateTimeInput)
    expires_at = forms.DateTimeField(label="Expires at", required=False, widget=DateTimeInput)

    field_order = [
        "kind",
        "title",
        "summary",
        "body",
        "tearline",
        "tlp",
        "caveats",
        "audience_agencies",
        "audience_levels",
        "audience_disciplines",
        "audience_jurisdictions",
        "audience_people",
        "tags",
        "information_needs",
        "release_reason",
        "is_criminal_intelligence",
        "criminal_predicate",
        "effective_at",
        "expires_at",
    ]

    MARKDOWN_FIELDS = ("body", "tearline")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Live preview (htmx): the sanitised HTML of what is typed, half a second after typing stops.
        for name in self.MARKDOWN_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    "hx-post": reverse("sharing:product-preview"),
                    "hx-trigger": "keyup changed delay:500ms",
                    "hx-target": f"#{name}-preview",
                    "hx-vals": json.dumps({"preview": name}),
                    "hx-sync": "this:queue last",
                }
            )

    @classmethod
    def initial_of(cls, content: ProductContent) -> dict:
        initial = {name: getattr(content, name) for name in ProductContent.SCALAR_FIELDS}
        initial.update({name: getattr(content, name) for name in ProductContent.RELATION_FIELDS})
        initial["tags"] = ", ".join(content.tags)
        return initial

    def clean_tags(self) -> list[str]:
        tags: list[str] = []
        for raw in self.cleaned_data["tags"].split(","):
            tag = raw.strip()
            if tag and tag not in tags:
                tags.append(tag)
        too_long = [tag for tag in tags if len(tag) > 60]
        if too_long:
            raise ValidationError(f"A tag has at most 60 characters: {too_long[0][:60]}…")
        return tags

    def to_content(self) -> ProductContent:
        cleaned = self.cleaned_data
        return ProductContent(
            **{name: cleaned[name] for name in ProductContent.SCALAR_FIELDS},
            **{name: list(cleaned[name]) for name in ProductContent.RELATION_FIELDS},
        )


class CommentForm(USWDSForm):
    comment = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReturnForm(USWDSForm):
    comment = forms.CharField(
        label="What should the author change?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say what the author should change."},
    )


class RetractForm(USWDSForm):
    reason = forms.CharField(
        label="Reason for retraction",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Every recipient reads it on the product's page.",
        error_messages={"required": "Say why the product is retracted: recipients will read it."},
    )


class ConfirmForm(USWDSForm):
    """A confirmation without fields."""
