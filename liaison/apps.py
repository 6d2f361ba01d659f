from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"
    verbose_name = "Liaison"
