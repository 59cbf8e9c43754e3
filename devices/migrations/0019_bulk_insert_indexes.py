"""Fewer index entries per queued action: a bulk job's INSERT of 10,000 rows wrote 13 indexes.

The device link's own index goes (action_device_recent_idx starts with the
device); the indexes on links a queued row leaves empty, and on the timeline's
steps a queued row has not taken, hold only the rows that have a value.
The foreign keys stay as they are: only their indexes change, so the
constraints are not dropped and checked again over the whole table (nor, on
SQLite, the table rebuilt).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The names Django gave the foreign keys' indexes (the same on SQLite and PostgreSQL).
FK_INDEXES = {
    "cloud_sync": "devices_action_cloud_sync_id_c0bd7134",
    "current_attempt": "devices_action_current_attempt_id_30c6c497",
    "device": "devices_action_device_id_264e49ae",
    "superseded_by": "devices_action_superseded_by_id_775efb2e",
}


def without_index(name, field):
    """The field loses db_index in the state; the database loses only the index."""
    index = FK_INDEXES[name]
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name="action", name=name, field=field)],
        database_operations=[migrations.RunSQL(
            f'DROP INDEX IF EXISTS "{index}"',
            reverse_sql=f'CREATE INDEX "{index}" ON "devices_action" ("{name}_id")',
        )],
    )


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0018_timeline_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='action',
            name='action_device_sent_idx',
        ),
        migrations.RemoveIndex(
            model_name='action',
            name='action_device_finished_idx',
        ),
        without_index('cloud_sync', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='page_calls', to='devices.cloudsync')),
        without_index('current_attempt', models.ForeignKey(blank=True, db_index=False, help_text='The request that carries it now, or did last.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='devices.upstreamattempt')),
        without_index('device', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='devices.device')),
        without_index('superseded_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='devices.action')),
        migrations.AddIndex(
            model_name='action',
            index=models.Index(condition=models.Q(('first_sent_at__isnull', False)), fields=['device', '-first_sent_at'], name='action_device_sent_idx'),
        ),
        migrations.AddIndex(
            model_name='action',
            index=models.Index(condition=models.Q(('finished_at__isnull', False)), fields=['device', '-finished_at'], name='action_device_finished_idx'),
        ),
        migrations.AddIndex(
            model_name='action',
            index=models.Index(condition=models.Q(('cloud_sync__isnull', False)), fields=['cloud_sync'], name='action_cloud_sync_idx'),
        ),
        migrations.AddIndex(
            model_name='action',
            index=models.Index(condition=models.Q(('superseded_by__isnull', False)), fields=['superseded_by'], name='action_superseded_by_idx'),
        ),
        migrations.AddIndex(
            model_name='action',
            index=models.Index(condition=models.Q(('current_attempt__isnull', False)), fields=['current_attempt'], name='action_current_attempt_idx'),
        ),
    ]
