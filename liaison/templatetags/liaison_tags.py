"""Template helpers of the liaison pages."""

from django import template

from ..selectors import is_center_person

register = template.Library()


@register.filter
def center_person(person) -> bool:
    """Whether the person works at a fusion center (or runs the system): the center's pages are theirs."""
    return bool(getattr(person, "is_authenticated", False) and is_center_person(person))
