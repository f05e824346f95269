from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_settlement_year')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxJob',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.CharField(max_length=64)),
                ('kwargs', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job_outbox', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A background job staged in the transaction that created its work, waiting to be put'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='AuditEntry',
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id', 'table_description': 'One entry of the append-only, HMAC-chained audit log.'},
        ),
        ops.AlterField(
            model_name='AuditEntry',
            name='hash',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AlterField(
            model_name='AuditEntry',
            name='prev_hash',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AlterField(
            model_name='AuditEntry',
            name='seq',
            field=fields.BigIntField(null=True, unique=True),
        ),
        ops.AlterModelOptions(
            name='AuditHead',
            options={'table': 'audit_head', 'app': 'models', 'pk_attr': 'chain', 'table_description': "The sealed chain's head: one row, written only by the sealer (never by a business"},
        ),
    ]
