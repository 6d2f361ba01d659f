"""The site's own settings, with the bench-only URLs (the baseline views) added; nothing else changes."""

from fusionhub.settings import *  # noqa: F403

ROOT_URLCONF = "scripts.bench.urls"
