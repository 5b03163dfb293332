from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
import enum
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# The enums as this migration knew them, written out: a migration is frozen history and
# imports nothing from the models, which may change or move.
class RunState(enum.StrEnum):
    REQUESTED = "requested"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Migration(migrations.Migration):
    dependencies = [('chatops', '0003_webhook_secrets_app_installations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChannelDefault',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('channel', fields.CharField(max_length=255)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('set_by', fields.CharField(max_length=255)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_channel_defaults', 'app': 'chatops', 'unique_together': (('platform', 'channel'),), 'pk_attr': 'id', 'table_description': 'The repository a chat channel means when a command names only ``#12``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Run',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('number', fields.IntField(null=True)),
                ('head_sha', fields.CharField(max_length=64)),
                ('state', fields.CharEnumField(default=RunState.REQUESTED, description='REQUESTED: requested\nQUEUED: queued\nIN_PROGRESS: in_progress\nCOMPLETED: completed', enum_type=RunState, max_length=16)),
                ('conclusion', fields.CharField(null=True, max_length=32)),
                ('requested_by', fields.CharField(max_length=255)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=400)),
            ],
            options={'table': 'chatops_runs', 'app': 'chatops', 'indexes': [Index(fields=['forge', 'repo', 'number']), Index(fields=['state', 'updated_at'])], 'pk_attr': 'id', 'table_description': 'CI on one commit of a pull/merge request that the bot started or was asked about.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ForgeRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('chatops.Run', source_field='run_id', db_constraint=True, to_field='id', related_name='forge_runs', on_delete=OnDelete.CASCADE)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('external_id', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=255)),
                ('state', fields.CharEnumField(default=RunState.QUEUED, description='REQUESTED: requested\nQUEUED: queued\nIN_PROGRESS: in_progress\nCOMPLETED: completed', enum_type=RunState, max_length=16)),
                ('conclusion', fields.CharField(null=True, max_length=32)),
                ('url', fields.TextField(default='', unique=False)),
                ('attempt', fields.IntField(default=1)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_forge_runs', 'app': 'chatops', 'unique_together': (('run', 'external_id'),), 'indexes': [Index(fields=['forge', 'repo', 'external_id'])], 'pk_attr': 'id', 'table_description': "One of the forge's runs (a workflow run, a pipeline) that a ``Run`` is waiting on."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RunOrigin',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('chatops.Run', source_field='run_id', db_constraint=True, to_field='id', related_name='origins', on_delete=OnDelete.CASCADE)),
                ('place', fields.CharField(max_length=255)),
                ('target', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('invocation_id', fields.CharField(null=True, max_length=64)),
                ('asked_by', fields.CharField(max_length=255)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_run_origins', 'app': 'chatops', 'unique_together': (('run', 'place'),), 'pk_attr': 'id', 'table_description': 'A place that asked about a ``Run`` and gets its result once (a PR thread, a channel).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Subscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('channel', fields.CharField(max_length=255)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('topics', fields.CharField(max_length=16)),
                ('target', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_subscriptions', 'app': 'chatops', 'unique_together': (('platform', 'channel', 'forge', 'repo'),), 'indexes': [Index(fields=['forge', 'repo'])], 'pk_attr': 'id', 'table_description': "A chat channel that receives a repository's run results and/or alerts."},
            bases=['Model'],
        ),
    ]
