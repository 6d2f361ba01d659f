"""The URL-by-role matrix (pretix's way): every URL pattern, enumerated from the resolver, fetched
by every persona of the demo region, answers the status the table in expectations.py gives, and
every HTML page it answers carries the Content-Security-Policy and nothing inline that it would block.

A route without a line in the table fails here, so a new endpoint is covered the day it appears;
a line whose route is gone fails too. Persona sessions come from force_login with a verified second
factor (tests.second_factor): the sign-in form and its second step have their own tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.csp import assert_strict_csp
from tests.fusionhub.expectations import (
    ADMIN_MODELS,
    ANONYMOUS,
    EXPECTATIONS,
    PERSONAS,
    Expect,
    build_world,
    registered_admin_models,
)
from tests.second_factor import VerifiedClient as Client


@dataclass(frozen=True)
class Route:
    key: str  # the URL name with its namespaces, or the pattern when it has no name
    pattern: str  # the whole pattern, as ResolverMatch.route spells it


def _join(prefix: str, pattern: str) -> str:
    # The resolver drops a nested regex's leading "^" when it joins routes; do the same.
    return prefix + pattern.removeprefix("^") if prefix else pattern


def walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from walk(entry.url_patterns, _join(prefix, str(entry.pattern)), inner)
        elif isinstance(entry, URLPattern):
            pattern = _join(prefix, str(entry.pattern))
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            key = name or pattern
            yield Route(key=key, pattern=pattern)
        else:  # pragma: no cover - Django has no third kind
            raise TypeError(f"unknown URL entry {entry!r}")


def all_routes() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for route in walk(get_resolver().url_patterns):
        other = routes.get(route.key)
        assert other is None or other == route, f"two patterns share the key {route.key}: {other} and {route}"
        routes[route.key] = route
    return routes


ROUTES = all_routes()

CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def concrete_path(route: Route, expect: Expect, world) -> str:
    """The route's pattern with every converter and named group filled from the world."""
    names = GROUP.findall(route.pattern) + CONVERTER.findall(GROUP.sub("", route.pattern))
    values = dict(expect.args(world)) if expect.args else {}
    missing = set(names) - set(values)
    assert not missing, f"{route.key}: the table gives no value for {sorted(missing)}"
    path = GROUP.sub(lambda match: str(values[match[1]]), route.pattern)
    path = CONVERTER.sub(lambda match: str(values[match[1]]), path)
    return "/" + path.replace("^", "").replace("$", "")


def close(response) -> None:
    """Release what the response holds (a file, a stream) without ending the test's transaction.

    Closing a response sends request_finished, whose close_old_connections would close the
    connection in the middle of the module's transaction; the test client disconnects it the same way.
    """
    signals.request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        signals.request_finished.connect(close_old_connections)


def cases():
    for key, entry in EXPECTATIONS.items():
        for expect in entry if isinstance(entry, list) else [entry]:
            for persona in PERSONAS:
                label = f"{key}[{expect.label}]" if expect.label else key
                yield pytest.param(key, expect, persona, id=f"{label}-{persona}")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo region and its objects, built once for the module and rolled back after it.

    The blocks are the test case's own (so the services' durable transactions run inside them);
    each test then runs in a savepoint of its own. Uploaded files go to a directory of the run.
    """
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            yield build_world()
        finally:
            TestCase._rollback_atomics(atomics)


def test_every_route_has_an_expectation():
    missing = sorted(set(ROUTES) - set(EXPECTATIONS))
    assert not missing, "Add these routes to tests/fusionhub/expectations.py: " + ", ".join(
        f"{key} ({ROUTES[key].pattern})" for key in missing
    )


def test_every_expectation_names_a_route():
    gone = sorted(set(EXPECTATIONS) - set(ROUTES))
    assert not gone, f"These routes are in the table but no longer exist: {gone}"


def test_every_admin_model_is_in_the_matrix():
    registered = registered_admin_models()
    assert registered == set(ADMIN_MODELS), (
        f"registered in the admin without a line in ADMIN_MODELS: {sorted(registered - set(ADMIN_MODELS))}; "
        f"in ADMIN_MODELS but not registered: {sorted(set(ADMIN_MODELS) - registered)}"
    )


@pytest.fixture(scope="module")
def browser():
    """One client for the whole matrix: a new client loads every middleware again (WhiteNoise indexes
    all the collected static files), which costs far more than the request itself."""
    return Client()


@pytest.mark.parametrize(("key", "expect", "persona"), list(cases()))
def test_route_answers_each_persona(db, browser, world, key, expect, persona):
    route = ROUTES.get(key)
    assert route is not None, f"{key} is in the table but no such route exists"
    path = concrete_path(route, expect, world)
    assert resolve(path).route == route.pattern, f"{path} does not reach {route.pattern}"
    # The previous test's session was rolled back with it; start without one.
    client = browser
    client.cookies.clear()
    if persona != ANONYMOUS:
        client.force_login(world.people[persona])

    response = client.get(path)

    try:
        expected = expect.statuses(persona)
        assert response.status_code in expected, (
            f"GET {path} as {persona}: {response.status_code}, expected {' or '.join(map(str, expected))}"
        )
        if expect.is_json:
            assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
            response.json()
        if response.status_code == 302 and persona == ANONYMOUS and not key.startswith("admin"):
            assert response["Location"].startswith("/sign-in/?next="), response["Location"]
        if not response.streaming and response.get("Content-Type", "").startswith("text/html"):
            # Every page, the admin's and the error pages too, holds under the Content-Security-Policy.
            assert_strict_csp(response)
    finally:
        close(response)
