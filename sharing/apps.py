from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Threat products"

    def ready(self) -> None:
        from dissemination.registry import register_item_type

        from .dissemination import THREAT_PRODUCT

        register_item_type(THREAT_PRODUCT)
