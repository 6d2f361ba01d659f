"""ASGI entry point, used for the long-lived event streams (live incident feed)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusionhub.settings")

application = get_asgi_application()
