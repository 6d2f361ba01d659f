"""What the liaison pages share: who may open them, and a service's refusal shown as a message."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from agencies.models import User

from ..selectors import is_center_person, uses_liaison


def check_uses_liaison(person: User) -> None:
    if not uses_liaison(person):
        raise PermissionDenied("The liaison pages are for the fusion center and the EOCs' coordinators.")


def check_center_person(person: User) -> None:
    if not is_center_person(person):
        raise PermissionDenied("This page is for the people of the fusion center.")


def refusal_message(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You may not do this."


def show_refusal(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    messages.error(request, refusal_message(error))
