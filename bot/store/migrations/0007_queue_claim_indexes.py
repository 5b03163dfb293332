from tortoise import migrations
from tortoise.migrations import operations as ops
import enum
from tortoise import fields
from tortoise.indexes import PartialIndex

# The enums as this migration knew them, written out: a migration is frozen history and
# imports nothing from the models, which may change or move.
class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DEAD = "dead"
    DROPPED = "dropped"


class Migration(migrations.Migration):
    dependencies = [('chatops', '0006_rate_gates')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='InboxItem',
            name=None,
            fields=['status', 'available_at'],
        ),
        ops.AddIndex(
            model_name='InboxItem',
            index=PartialIndex(fields=['available_at', 'id'], condition={'status': 'pending'}),
        ),
        ops.AddIndex(
            model_name='InboxItem',
            index=PartialIndex(fields=['lease_until'], condition={'status': 'claimed'}),
        ),
        ops.AddIndex(
            model_name='InboxItem',
            index=PartialIndex(fields=['finished_at'], condition={'status': 'done'}),
        ),
        ops.RemoveIndex(
            model_name='OutboxItem',
            name=None,
            fields=['status', 'available_at'],
        ),
        ops.AlterField(
            model_name='OutboxItem',
            name='status',
            field=fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nCLAIMED: claimed\nSENT: sent\nDEAD: dead\nDROPPED: dropped', enum_type=OutboxStatus, max_length=16),
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='priority',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.RunSQL(
            "UPDATE chatops_outbox SET priority = 1 WHERE kind = 'acknowledgement'",
            reverse_sql="SELECT 1",
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=PartialIndex(fields=['platform', 'priority', 'available_at', 'id'], condition={'status': 'pending'}),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=PartialIndex(fields=['lease_until'], condition={'status': 'claimed'}),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=PartialIndex(fields=['sent_at'], condition={'status': 'sent'}),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=PartialIndex(fields=['created_at'], condition={'status': 'dropped'}),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=PartialIndex(fields=['id'], condition={'status': 'dead'}),
        ),
    ]
