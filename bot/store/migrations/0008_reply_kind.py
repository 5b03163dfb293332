"""Replies queued before the ``reply`` kind existed say so, so connectors need no key rules."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chatops", "0007_queue_claim_indexes")]

    initial = False

    operations = [
        ops.RunSQL(
            "UPDATE chatops_outbox SET kind = 'reply' "
            "WHERE kind = 'message' AND key = 'reply:' || invocation_id",
            reverse_sql="UPDATE chatops_outbox SET kind = 'message' WHERE kind = 'reply'",
        ),
    ]
