from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chatops', '0005_tracked_secrets_uses_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateGate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('blocked_until_ms', fields.BigIntField(default=0)),
                ('next_slot_ms', fields.BigIntField(default=0)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('updated_ms', fields.BigIntField(default=0)),
            ],
            options={'table': 'chatops_rate_gates', 'app': 'chatops', 'pk_attr': 'id', 'table_description': 'A rate-limit gate shared by every replica: one per installation (or token) and route class.'},
            bases=['Model'],
        ),
    ]
