"""Dissemination tests publish products the way the fusion center does, and send to real peers on loopback."""

from tests.dissemination.peers import mail_server, webhook_receiver  # noqa: F401 - shared fixtures
from tests.sharing.conftest import publish  # noqa: F401 - the shared fixture
