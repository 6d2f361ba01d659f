"""Template helpers of dissemination for other apps' pages: a link to an item's dissemination record."""

from django import template
from django.db import models
from django.urls import reverse

from ..selectors import may_see_records_of

register = template.Library()


@register.simple_tag(takes_context=True)
def dissemination_record_url(context, item: models.Model) -> str:
    """The address of the item's dissemination record if the person signed in may see it, else ""."""
    request = context.get("request")
    person = getattr(request, "user", None)
    agency_id = getattr(item, "originating_agency_id", None)
    if agency_id is None or not may_see_records_of(person, agency_id):
        return ""
    return reverse("dissemination:item-record", args=[item._meta.label_lower, item.pk])
