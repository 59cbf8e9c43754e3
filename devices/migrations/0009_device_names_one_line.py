"""Device and owner names are one line: existing names have their line breaks made spaces, then the database refuses them."""

import re

from django.db import migrations, models

import devices.validators

ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def names_on_one_line(apps, schema_editor):
    Device = apps.get_model("devices", "Device")
    for field in ("name", "owner_name"):
        for device in Device.objects.exclude(**{f"{field}__regex": ONE_LINE}).only("pk", field):
            value = " ".join(NOT_ONE_LINE.sub(" ", getattr(device, field)).split())
            Device.objects.filter(pk=device.pk).update(**{field: value or ("unnamed" if field == "name" else "")})


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0008_action_page_view_priority'),
    ]

    operations = [
        migrations.AlterField(
            model_name='device',
            name='name',
            field=models.CharField(help_text="The device's hostname.", max_length=253, validators=[devices.validators.validate_one_line], verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='device',
            name='owner_name',
            field=models.CharField(blank=True, max_length=200, validators=[devices.validators.validate_one_line], verbose_name='owner'),
        ),
        migrations.RunPython(names_on_one_line, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='device',
            constraint=models.CheckConstraint(condition=models.Q(('name__regex', '^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$')), name='device_name_one_line'),
        ),
        migrations.AddConstraint(
            model_name='device',
            constraint=models.CheckConstraint(condition=models.Q(('owner_name__regex', '^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$')), name='device_owner_name_one_line'),
        ),
    ]
