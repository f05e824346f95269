from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_auto_20261201_0035')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseUpload',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='case_uploads', on_delete=OnDelete.RESTRICT)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='uploads', on_delete=OnDelete.SET_NULL)),
                ('uploaded_by', fields.ForeignKeyField('models.Account', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name='case_uploads', on_delete=OnDelete.RESTRICT)),
                ('file_key', fields.CharField(max_length=200)),
                ('image_key', fields.CharField(max_length=200)),
                ('content_type', fields.CharField(max_length=40)),
                ('size_bytes', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'case_upload', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A supporting document (材料) uploaded for an applicant, before or after submission.'},
            bases=['Model'],
        ),
    ]
