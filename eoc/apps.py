from django.apps import AppConfig


class EocConfig(AppConfig):
    name = "eoc"
    verbose_name = "EOC"

    def ready(self) -> None:
        from dissemination.registry import register_item_type

        from .dissemination import FEED_ENTRY

        register_item_type(FEED_ENTRY)
