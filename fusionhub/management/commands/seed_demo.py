"""Load the demo region: agencies, people of every role, and what each app adds to it."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agencies.demo import DEMO_PASSWORD, PEOPLE, seed_region
from eoc.demo import seed_incidents
from liaison.demo import seed_liaison
from sharing.demo import seed_products


class Command(BaseCommand):
    help = "Create the demo region (North Carolina) and print its sign-ins. Refused with DEBUG off."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates accounts with a published password; it runs only with DEBUG on.")
        region = seed_region()
        products = seed_products(region)
        incidents = seed_incidents(region)
        rules = seed_liaison(region)
        self.stdout.write(
            f"Demo region ready: {len(region.agencies)} agencies, {len(region.people)} people, "
            f"{len(products)} products, {len(incidents)} incidents, {len(rules)} routing rules. "
            f"Every demo password is {DEMO_PASSWORD}; the code asked for next is printed by "
            "`manage.py demo_code USERNAME` (DEBUG on, the same DATABASE_URL)."
        )
        for username, first, last, agency, roles, is_law_enforcement, _title in PEOPLE:
            role_text = ", ".join(role.label for role in roles)
            le = " (law enforcement)" if is_law_enforcement else ""
            self.stdout.write(f"  {username:<18} {first} {last}, {agency}: {role_text}{le}")
