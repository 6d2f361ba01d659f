"""Values every page needs: the region's name and the navigation for the person signed in."""

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

# (label, url name, who sees it): pages appear in the navigation once their app provides them.
NAVIGATION = [
    ("Dashboard", "dashboard", "all"),
    ("Products", "sharing:product-list", "all"),
    ("Requests", "sharing:request-list", "all"),
    ("Incidents", "eoc:incident-list", "all"),
    ("Liaison", "liaison:workspace", "liaison"),
    ("Inbox", "dissemination:inbox", "all"),
    ("Locked accounts", "locked-accounts", "admin"),
    ("Audit trail", "audit-trail", "admin"),
    ("Admin", "admin:index", "admin"),
]


def _uses_liaison(user) -> bool:
    from liaison.selectors import uses_liaison

    return uses_liaison(user)


def _liaison_badge(user) -> SimpleLazyObject:
    """Relays waiting for a liaison officer's decision, counted only when a page shows the navigation."""
    from liaison.selectors import header_proposed_count

    return SimpleLazyObject(lambda: header_proposed_count(user))


def _navigation(request: HttpRequest) -> list[dict]:
    user = request.user
    is_admin = user.is_system_admin or user.is_agency_admin
    items = []
    for label, name, audience in NAVIGATION:
        if audience == "admin" and not is_admin:
            continue
        # The liaison pages are for the fusion center's people and the EOCs' coordinators and admins.
        if audience == "liaison" and not _uses_liaison(user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": label,
                "url": url,
                "current": request.path == url or (url != "/" and request.path.startswith(url)),
                "badge": _liaison_badge(user) if audience == "liaison" else None,
            }
        )
    return items


def site(request: HttpRequest) -> dict:
    context = {"region_name": settings.FUSIONHUB_REGION_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["navigation"] = _navigation(request)
    return context


def inbox(request: HttpRequest) -> dict:
    """The number of unread inbox items for the header, looked up only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from dissemination.selectors import header_unread_count

    return {"inbox_unread_count": SimpleLazyObject(lambda: header_unread_count(user))}
