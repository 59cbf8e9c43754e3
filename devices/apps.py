from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        from devices.roles import ensure_roles
        from devices.outbox.tasks import ensure_drain_schedule

        # Runs after auth has created this app's permissions.
        post_migrate.connect(ensure_roles, sender=self)
        post_migrate.connect(ensure_drain_schedule, sender=self)
        # SQLite cannot rebuild a table that a trigger names: the search
        # triggers step aside while migrations run (devices/search_index.py).
        pre_migrate.connect(_drop_search_triggers, sender=self)
        post_migrate.connect(_install_search_triggers, sender=self)


def _drop_search_triggers(using="default", **kwargs) -> None:
    from django.db import connections

    from devices import search_index

    search_index.drop_triggers(connections[using])


def _install_search_triggers(using="default", **kwargs) -> None:
    from django.db import connections

    from devices import search_index

    search_index.install(connections[using])
