"""Issue an enrolment code from the command line: how the first system admin of a new site sets up
their second factor, with no admin yet to issue it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agencies.models import User
from agencies.services import enrolment


class Command(BaseCommand):
    help = (
        "Issue USERNAME a one-time enrolment code and print it (stored only hashed and shown once). With it "
        "the person sets up their authenticator app at their next sign-in; without one, a password alone "
        "enrols nothing. For the operator of the site (the first system admin, say); admins issue codes "
        "with the action on people in the admin. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        person = User.objects.select_related("agency").filter(username__iexact=username).first()
        if person is None:
            raise CommandError(f"No person has the username {username!r}.")
        try:
            invitation, code = enrolment.issue_enrolment_invitation(person=person, by=None, delivered="printed")
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(code)
        self.stderr.write(f"Works once, until {invitation.expires_at:%Y-%m-%d %H:%M %Z}.")
