"""Print a new API token for a person, after their second factor."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_static.models import StaticDevice

from agencies import services
from agencies.audit import record_audit
from agencies.audit_models import AuditAction
from agencies.models import User

VIA = "issue_token command"


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it (it is stored only hashed and shown once). "
        "A token is created only after the person's second factor: give the 6-digit code their "
        "authenticator app shows now with --code (a wrong code counts towards the same lock-out as a "
        "wrong sign-in; a recovery code works too where their agency accepts them). Only with DEBUG on, "
        "for the demo, may --code be left out."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--code",
            default="",
            help="The code the person's authenticator app shows now (required unless DEBUG is on).",
        )

    def handle(self, *args, username, code, **options):
        person = User.objects.select_related("agency").filter(username__iexact=username).first()
        if person is None:
            raise CommandError(f"No person has the username {username!r}.")
        if not person.is_active or not person.agency.is_active:
            raise CommandError(f"{username} cannot sign in (the person or their agency is inactive).")
        if code:
            try:
                device = services.verify_second_factor(person=person, code=code, address=None, via=VIA)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            factor = "recovery code" if isinstance(device, StaticDevice) else "authenticator"
        elif settings.DEBUG:
            factor = "none (DEBUG on, the demo)"
            self.stderr.write("DEBUG is on: the token is issued without a second factor, as for the demo only.")
        else:
            raise CommandError(
                "Give the code the person's authenticator app shows now with --code: an API token is created "
                "only after a multi-factor sign-in."
            )
        instance, token = services.create_api_token(person=person)
        record_audit(action=AuditAction.SIGN_IN, person=person, detail={"via": VIA, "second_factor": factor})
        self.stdout.write(token)
        self.stderr.write(f"Expires {instance.expiry:%Y-%m-%d %H:%M %Z}. Use it as: Authorization: Token {token}")
