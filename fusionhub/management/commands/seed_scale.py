"""Seed a region of realistic size for `make bench` (COPY, with a progress bar), and say how long it took."""

from django.core.management.base import BaseCommand, CommandError

from fusionhub.scale import Sizes, is_seeded, seed_region


class Command(BaseCommand):
    help = (
        "Seed a region of benchmark size straight into the tables: 1,000 agencies, 20,000 people, 200,000 "
        "published products, 2,000 incidents, 2,000,000 feed entries and 2,000,000 deliveries (--scale to shrink)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every size by this (e.g. 0.01).")
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing (and succeed) when the region is already seeded."
        )

    def handle(self, *args, **options):
        if not 0 < options["scale"] <= 1:
            raise CommandError("--scale is a factor above 0 and at most 1.")
        if is_seeded():
            if options["if_missing"]:
                self.stdout.write("The scale region is already seeded.")
                return
            raise CommandError("The scale region is already seeded in this database; use a fresh database.")
        sizes = Sizes().scaled(options["scale"])
        self.stdout.write(
            f"Seeding {sizes.agencies:,} agencies, {sizes.people:,} people, {sizes.products:,} products, "
            f"{sizes.incidents:,} incidents, {sizes.feed_entries:,} feed entries, {sizes.deliveries:,} deliveries"
        )
        seconds = seed_region(sizes, say=self.stdout.write)
        self.stdout.write(f"Seeding took {seconds:.0f} s ({seconds / 60:.1f} min).")
