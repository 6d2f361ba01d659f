"""WSGI entry point for the page and API workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusionhub.settings")

application = get_wsgi_application()
