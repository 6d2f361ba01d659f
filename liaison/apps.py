"""Between the fusion center and the EOCs: liaison assignments, routing rules, relays."""

from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"
    verbose_name = "Liaison"

    def ready(self) -> None:
        from dissemination.registry import register_item_type

        from . import handlers, panels
        from .dissemination import AWARENESS_ITEM, NOTICE

        register_item_type(AWARENESS_ITEM)
        register_item_type(NOTICE)
        handlers.register()
        panels.register()
