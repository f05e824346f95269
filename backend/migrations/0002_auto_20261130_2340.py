from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.identity.models import Role
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Account',
            name='role',
            field=fields.CharEnumField(description='CITIZEN: citizen\nSTATION_STAFF: station_staff\nREVIEWER: reviewer\nSUPERVISOR: supervisor\nFINANCE: finance\nADMIN: admin', enum_type=Role, max_length=20),
        ),
    ]
