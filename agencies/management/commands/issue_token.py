"""Print a new API token for a person."""

from django.core.management.base import BaseCommand, CommandError

from agencies import services
from agencies.models import User


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it is stored only hashed and shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        person = User.objects.filter(username__iexact=username).first()
        if person is None:
            raise CommandError(f"No person has the username {username!r}.")
        if not person.is_active or not person.agency.is_active:
            raise CommandError(f"{username} cannot sign in (the person or their agency is inactive).")
        instance, token = services.create_api_token(person=person)
        self.stdout.write(token)
        self.stderr.write(f"Expires {instance.expiry:%Y-%m-%d %H:%M %Z}. Use it as: Authorization: Token {token}")
