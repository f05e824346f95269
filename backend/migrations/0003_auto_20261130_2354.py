from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_auto_20261130_2340')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TerminalNonce',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=130)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'terminal_nonce', 'app': 'models', 'pk_attr': 'key', 'table_description': "A terminal request's nonce, spent: the durable replay guard (Redis is the fast first"},
            bases=['Model'],
        ),
    ]
