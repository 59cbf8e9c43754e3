from django.db import migrations
from django.db.models import Exists, OuterRef

PENDING = ("queued", "retrying")


def fill_opt(apps, schema_editor):
    """Waiting actions queued before this release get their identifier type, as new ones do."""
    Action = apps.get_model("devices", "Action")
    Device = apps.get_model("devices", "Device")
    waiting = Action.objects.filter(status__in=PENDING, opt__isnull=True)
    with_hwid = Exists(Device.objects.filter(pk=OuterRef("device_id"), hwid__isnull=False))
    waiting.filter(with_hwid).update(opt=1)
    waiting.update(opt=0)


class Migration(migrations.Migration):
    dependencies = [("devices", "0014_batches")]

    operations = [migrations.RunPython(fill_opt, migrations.RunPython.noop)]
