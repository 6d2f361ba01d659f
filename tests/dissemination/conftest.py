"""Dissemination tests publish products the way the fusion center does."""

from tests.sharing.conftest import publish  # noqa: F401 - the shared fixture
