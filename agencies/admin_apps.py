"""django.contrib.admin's app config, with the audited site (agencies/admin_site.py) as `admin.site`.

Kept apart from the site itself: an app config is imported before any model can be.
"""

from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    default_site = "agencies.admin_site.AuditedAdminSite"
