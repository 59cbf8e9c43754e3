from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        # The features with upstream calls of their own register their call kinds with the outbox.
        from devices import remediation  # noqa: F401
        from devices.cloudsync.schedule import ensure_sync_schedule
        from devices.outbox.tasks import ensure_drain_schedule
        from devices.roles import ensure_roles

        # Runs after auth has created this app's permissions.
        post_migrate.connect(ensure_roles, sender=self)
        post_migrate.connect(ensure_drain_schedule, sender=self)
        post_migrate.connect(ensure_sync_schedule, sender=self)
        # SQLite cannot rebuild a table that a trigger names: the search
        # triggers step aside while migrations run (devices/search_index.py).
        pre_migrate.connect(_drop_search_triggers, sender=self)
        post_migrate.connect(_install_search_triggers, sender=self)
        # The login and password-reset throttle counts in a cache table (gearsdash/throttle.py).
        post_migrate.connect(_create_cache_tables, sender=self)


def _drop_search_triggers(using="default", **kwargs) -> None:
    from django.db import connections

    from devices import search_index

    search_index.drop_triggers(connections[using])


def _install_search_triggers(using="default", **kwargs) -> None:
    from django.db import connections

    from devices import search_index

    search_index.install(connections[using])


def _create_cache_tables(using="default", verbosity=1, **kwargs) -> None:
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=verbosity)
