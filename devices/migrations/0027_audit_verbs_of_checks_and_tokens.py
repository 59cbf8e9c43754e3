# The audit log takes both new kinds of entry: connection checks, and API tokens created, used from a new address, revoked.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0026_api_idempotency_keys'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='auditentry',
            name='audit_verb_valid',
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='verb',
            field=models.CharField(choices=[('queued', 'Queued'), ('bulk_queued', 'Queued in bulk'), ('emailed', 'Emailed a remediation link'), ('cancelled', 'Cancelled'), ('bulk_cancelled', 'Cancelled a bulk job'), ('retried', 'Retried'), ('created', 'Created'), ('edited', 'Edited'), ('imported', 'Imported'), ('synced', 'Synced from the cloud'), ('deleted', 'Deleted'), ('checked_cloud', 'Tested the connection to the cloud'), ('token_created', 'Created an API token'), ('token_new_address', 'Used an API token from a new address'), ('token_revoked', 'Revoked an API token')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='auditentry',
            constraint=models.CheckConstraint(condition=models.Q(('verb__in', ['queued', 'bulk_queued', 'emailed', 'cancelled', 'bulk_cancelled', 'retried', 'created', 'edited', 'imported', 'synced', 'deleted', 'checked_cloud', 'token_created', 'token_new_address', 'token_revoked'])), name='audit_verb_valid'),
        ),
    ]
