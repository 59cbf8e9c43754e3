# A sync's page call names its page in a field of its own, not in the device identifier's column.

from django.conf import settings
from django.db import migrations, models


def page_from_identifier(apps, schema_editor):
    Action = apps.get_model("devices", "Action")
    for action in Action.objects.filter(kind="sync_page").only("pk", "identifier"):
        page = int(action.identifier) if action.identifier.isdigit() and int(action.identifier) >= 1 else 1
        Action.objects.filter(pk=action.pk).update(page=page, identifier="")


def identifier_from_page(apps, schema_editor):
    Action = apps.get_model("devices", "Action")
    for action in Action.objects.filter(kind="sync_page").only("pk", "page"):
        Action.objects.filter(pk=action.pk).update(identifier=str(action.page or 1))


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0020_unreadable_answers_and_countless_syncs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='action',
            name='page',
            field=models.PositiveIntegerField(blank=True, help_text="A sync's page call: the page it asks for.", null=True),
        ),
        migrations.AlterField(
            model_name='action',
            name='identifier',
            field=models.CharField(blank=True, help_text='The device identifier the cloud was called with.', max_length=64),
        ),
        migrations.RunPython(page_from_identifier, identifier_from_page, elidable=True),
        migrations.AddConstraint(
            model_name='action',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'sync_page'), ('page__gte', 1)), models.Q(models.Q(('kind', 'sync_page'), _negated=True), ('page__isnull', True)), _connector='OR'), name='action_page_only_for_sync_pages'),
        ),
    ]
