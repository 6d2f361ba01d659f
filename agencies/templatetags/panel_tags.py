"""`{% panels "slot" obj %}`: the panels other apps registered for a slot of this page (agencies/panels.py)."""

from django import template
from django.utils.safestring import mark_safe

from ..panels import render_panels

register = template.Library()


@register.simple_tag(takes_context=True)
def panels(context, slot: str, obj) -> str:
    request = context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return ""
    # Each panel renders its own template, which escapes what it shows.
    return mark_safe(render_panels(slot, request, obj))  # nosec B308 B703 # noqa: S308 - each panel template escapes
