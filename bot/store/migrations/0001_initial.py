from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
import enum
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

# The enums as this migration knew them, written out: a migration is frozen history and
# imports nothing from the models, which may change or move.
class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DEAD = "dead"


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('invocation_id', fields.CharField(null=True, max_length=64)),
                ('platform', fields.CharField(max_length=16)),
                ('actor', fields.CharField(max_length=255)),
                ('command', fields.CharField(null=True, max_length=64)),
                ('decision', fields.CharField(max_length=32)),
                ('level', fields.CharField(null=True, max_length=16)),
                ('detail', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'chatops_audit', 'app': 'chatops', 'indexes': [Index(fields=['invocation_id']), Index(fields=['at'])], 'pk_attr': 'id', 'table_description': 'One decision the bot made about an invocation or a delivery.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('delivery_key', fields.CharField(max_length=255)),
                ('invocation', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=InboxStatus.PENDING, description='PENDING: pending\nCLAIMED: claimed\nDONE: done', enum_type=InboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_inbox', 'app': 'chatops', 'unique_together': (('platform', 'delivery_key'),), 'indexes': [Index(fields=['status', 'available_at'])], 'pk_attr': 'id', 'table_description': 'One accepted command, waiting for or done by a worker.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('platform', fields.CharField(max_length=16)),
                ('target', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reply', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('invocation_id', fields.CharField(null=True, max_length=64)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nCLAIMED: claimed\nSENT: sent\nDEAD: dead', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_outbox', 'app': 'chatops', 'indexes': [Index(fields=['status', 'available_at'])], 'pk_attr': 'id', 'table_description': 'One reply to deliver through a connector, with its retry state.'},
            bases=['Model'],
        ),
    ]
