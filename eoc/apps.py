from django.apps import AppConfig


class EocConfig(AppConfig):
    name = "eoc"
    verbose_name = "EOC"
