from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        from devices.roles import ensure_roles

        # Runs after auth has created this app's permissions.
        post_migrate.connect(ensure_roles, sender=self)
