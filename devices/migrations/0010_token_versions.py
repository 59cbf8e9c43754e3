# The token path: the token version a call used (so a 401 for a token already replaced is retried, not
# refreshed again), and when a run of failures began (so a pause is capped by how long the cloud has failed).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0009_device_names_one_line'),
    ]

    operations = [
        migrations.AddField(
            model_name='upstreamattempt',
            name='token_version',
            field=models.PositiveIntegerField(blank=True, help_text='The access token version the call was sent with: a 401 for an older one is retried.', null=True),
        ),
        migrations.AddField(
            model_name='upstreamstate',
            name='auth_failed_version',
            field=models.PositiveIntegerField(default=0, help_text='The token version the last counted 401 used: another 401 for it is no new failure.'),
        ),
        migrations.AddField(
            model_name='upstreamstate',
            name='failing_since',
            field=models.DateTimeField(blank=True, help_text='When the current run of failures in a row began (none: the cloud answers).', null=True),
        ),
    ]
