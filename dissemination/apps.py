from django.apps import AppConfig


class DisseminationConfig(AppConfig):
    name = "dissemination"
    verbose_name = "Dissemination"

    def ready(self) -> None:
        from .inbox import WEBHOOK_TEST
        from .registry import register_item_type

        register_item_type(WEBHOOK_TEST)
