"""Template helpers of the EOC's pages."""

from django import template

from agencies.models import Role

from ..models import local_level_label

register = template.Library()


@register.filter
def posts_to_feeds(person) -> bool:
    """Whether the person's role lets them post to (and correct entries of) feeds they take part in."""
    return bool(
        getattr(person, "is_authenticated", False) and person.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER)
    )


@register.filter
def local_level(level: int, numbering: str) -> str:
    """An activation level as the EOC's jurisdiction numbers it."""
    return local_level_label(level, numbering)
