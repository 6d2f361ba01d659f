"""Panels that one app adds to another app's pages without the page's app importing it.

An app registers a render function for a named slot (in its `AppConfig.ready()`); a page puts
`{% panels "slot" obj %}` where the panels belong. Each function returns HTML (usually from
`render_to_string(..., request=request)`), or "" when it has nothing to show to that person.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

PanelRender = Callable[[HttpRequest, object], str]

_PANELS: dict[str, list[PanelRender]] = {}


def register_panel(slot: str, render: PanelRender) -> None:
    """Add a panel to a slot; registering the same function twice adds it once."""
    renders = _PANELS.setdefault(slot, [])
    if render not in renders:
        renders.append(render)


def panels_for(slot: str) -> list[PanelRender]:
    return list(_PANELS.get(slot, ()))


def render_panels(slot: str, request: HttpRequest, obj: object) -> str:
    return "".join(render(request, obj) or "" for render in panels_for(slot))
