"""Print the current second-factor code of a demo person: the demo's stand-in for their phone."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.demo import DEMO_DEVICE_NAME, PEOPLE, authenticator_code


class Command(BaseCommand):
    help = "Print the code a demo person enters after their password (seed_demo enrolled them). Refused with DEBUG off."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("demo_code prints sign-in codes of the demo region; it runs only with DEBUG on.")
        username = username.strip().lower()
        if username not in {person[0] for person in PEOPLE}:
            raise CommandError(f"{username!r} is not a person of the demo region (see the README's list).")
        device = TOTPDevice.objects.filter(user__username=username, name=DEMO_DEVICE_NAME, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no demo authenticator: run `manage.py seed_demo` first.")
        self.stdout.write(authenticator_code(device))
