"""Signing in with the second factor in tests: a person's authenticator, and clients whose force_login
passes the second step as a real sign-in would (a confirmed device, remembered in the session)."""

from __future__ import annotations

from django.conf import settings
from django.test import AsyncClient, Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.demo import authenticator_code
from agencies.services.enrolment import issue_enrolment_invitation


def authenticator(person) -> TOTPDevice:
    """The person's enrolled authenticator, enrolled now if they have none."""
    device = TOTPDevice.objects.filter(user=person, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=person, name="Test authenticator", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the authenticator shows now. Each code signs in once; a test signs in again and again
    within seconds, so the device forgets the step it last accepted first, as 30 seconds later."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    return authenticator_code(device)


def _mark_verified(session, person) -> None:
    session[DEVICE_ID_SESSION_KEY] = authenticator(person).persistent_id


def _keep(client, session) -> None:
    # A signed-cookie session is its own cookie: saving it gives a new value for the client to send.
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


class VerifiedClient(Client):
    """A test client whose force_login is a complete sign-in: password and second factor."""

    def _login(self, user, backend=None):
        super()._login(user, backend)
        session = self.session
        _mark_verified(session, user)
        session.save()
        _keep(self, session)


class VerifiedAsyncClient(AsyncClient):
    """The async test client with the same force_login."""

    def _login(self, user, backend=None):
        super()._login(user, backend)
        session = self.session
        _mark_verified(session, user)
        session.save()
        _keep(self, session)

    async def _alogin(self, user, backend=None):
        from asgiref.sync import sync_to_async

        await super()._alogin(user, backend)
        session = await self.asession()
        await sync_to_async(_mark_verified)(session, user)
        await session.asave()
        _keep(self, session)


def enrolment_invitation(person):
    """An open enrolment invitation for the person and its code, as an admin issues them (here the
    operator's way, `manage.py enrolment_code`)."""
    return issue_enrolment_invitation(person=person, by=None)


def demo_code(username: str) -> str:
    """What `manage.py demo_code USERNAME` prints, for a demo person signing in again within seconds."""
    return current_code(TOTPDevice.objects.get(user__username=username, confirmed=True))
