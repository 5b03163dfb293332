from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chatops', '0002_leases_state_outbox_kind')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppInstallation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('installation_id', fields.BigIntField()),
                ('account', fields.CharField(max_length=255)),
                ('repositories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_app_installations', 'app': 'chatops', 'unique_together': (('platform', 'installation_id'),), 'pk_attr': 'id', 'table_description': 'Where a forge App is installed and which repositories it reaches, from its webhooks.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookSecret',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('hook_id', fields.CharField(max_length=64)),
                ('repo', fields.CharField(max_length=255)),
                ('secret', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_webhook_secrets', 'app': 'chatops', 'unique_together': (('platform', 'hook_id'),), 'pk_attr': 'id', 'table_description': 'The secret of one webhook the bot created on a forge (``chatops github setup-repo``).'},
            bases=['Model'],
        ),
    ]
