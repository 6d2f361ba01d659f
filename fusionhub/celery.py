"""The Celery application: Redis broker, queues per kind of work, beat schedule from settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusionhub.settings")

app = Celery("fusionhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
