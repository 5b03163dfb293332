from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('chatops', '0004_runs_subscriptions_channel_defaults')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SecretAlert',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('name', fields.CharField(max_length=255)),
                ('threshold_days', fields.IntField()),
                ('expires_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_secret_alerts', 'app': 'chatops', 'unique_together': (('forge', 'repo', 'name', 'threshold_days', 'expires_on'),), 'pk_attr': 'id', 'table_description': 'One expiry alert that was sent: the unique key makes each one happen exactly once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SecretUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('name', fields.CharField(max_length=255)),
                ('used_by', fields.CharField(max_length=255)),
                ('url', fields.CharField(null=True, max_length=1024)),
                ('used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('source', fields.CharField(max_length=16)),
            ],
            options={'table': 'chatops_secret_uses', 'app': 'chatops', 'unique_together': (('forge', 'repo', 'name'),), 'pk_attr': 'id', 'table_description': 'The last known use of a CI secret: reported by CI (``api``) or read from runs (``runs``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrackedSecret',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('forge', fields.CharField(max_length=16)),
                ('repo', fields.CharField(max_length=255)),
                ('name', fields.CharField(max_length=255)),
                ('expires_on', fields.DateField(null=True)),
                ('owner', fields.CharField(null=True, max_length=255)),
                ('rotate_url', fields.CharField(null=True, max_length=1024)),
                ('source', fields.CharField(max_length=16)),
                ('set_by', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('acked_expiry', fields.DateField(null=True)),
                ('snoozed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('issue_number', fields.IntField(null=True)),
            ],
            options={'table': 'chatops_tracked_secrets', 'app': 'chatops', 'unique_together': (('forge', 'repo', 'name'),), 'indexes': [Index(fields=['expires_on'])], 'pk_attr': 'id', 'table_description': 'What the bot knows of a CI secret beyond the forge: its expiry, owner and alert state.'},
            bases=['Model'],
        ),
    ]
