"""FusionHub: where a fusion center and the EOCs of its region share information."""

from .celery import app as celery_app

__all__ = ("celery_app",)
