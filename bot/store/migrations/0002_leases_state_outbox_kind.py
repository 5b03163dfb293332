from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chatops', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('holder', fields.CharField(max_length=128)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_leases', 'app': 'chatops', 'pk_attr': 'name', 'table_description': 'A named, expiring lock held by one process (say, the one Discord gateway session).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StateEntry',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('value', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chatops_state', 'app': 'chatops', 'pk_attr': 'name', 'table_description': 'One small named JSON value that must survive restarts (a recovery cursor, say).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OutboxItem',
            name='kind',
            field=fields.CharField(default='message', max_length=16),
        ),
    ]
