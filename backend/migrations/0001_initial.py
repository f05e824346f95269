from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.family.models import ConsentStatus, Relation
from backend.identity.models import Role
from backend.stations.models import StationLevel
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(unique=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_id', fields.BigIntField(null=True)),
                ('actor_role', fields.CharField(max_length=20)),
                ('action', fields.CharField(max_length=64)),
                ('subject_type', fields.CharField(max_length=32)),
                ('subject_id', fields.CharField(max_length=64)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id', 'table_description': 'One link of the append-only, HMAC-chained audit log.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditHead',
            fields=[
                ('chain', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16)),
                ('seq', fields.BigIntField()),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_head', 'app': 'models', 'pk_attr': 'chain', 'table_description': "The chain's head: one row, locked to append, so the chain never forks."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=128)),
                ('request_hash', fields.CharField(max_length=64)),
                ('status_code', fields.IntField(null=True)),
                ('response', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_record', 'app': 'models', 'unique_together': (('scope', 'key'),), 'pk_attr': 'id', 'table_description': 'The first answer to a command sent with an ``Idempotency-Key``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=50)),
                ('id_number_enc', fields.CharField(max_length=200)),
                ('id_number_idx', fields.CharField(unique=True, max_length=64)),
                ('birth_date', fields.DateField()),
                ('gender', fields.CharField(max_length=1)),
                ('region_code', fields.CharField(max_length=6)),
                ('phone_enc', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A natural person known to the bureau: an account holder or a family member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FamilyMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.Person', source_field='owner_id', db_constraint=True, to_field='id', related_name='family_links', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Person', source_field='member_id', db_constraint=True, to_field='id', related_name='member_of', on_delete=OnDelete.CASCADE)),
                ('relation', fields.CharEnumField(description='SPOUSE: spouse\nCHILD: child\nPARENT: parent\nGRANDPARENT: grandparent\nGRANDCHILD: grandchild\nSIBLING: sibling\nOTHER: other', enum_type=Relation, max_length=12)),
                ('consent_status', fields.CharEnumField(description='NOT_REQUIRED: not_required\nPENDING: pending\nGRANTED: granted', enum_type=ConsentStatus, max_length=12)),
                ('consent_via', fields.CharField(null=True, max_length=12)),
                ('consented_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'family_member', 'app': 'models', 'unique_together': (('owner', 'member'),), 'pk_attr': 'id', 'table_description': 'A person the account holder may act for (亲情账户).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Station',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('level', fields.CharEnumField(description='DISTRICT: district\nTOWN: town\nVILLAGE: village', enum_type=StationLevel, max_length=10)),
                ('parent', fields.ForeignKeyField('models.Station', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('delegated_items', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'station', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A service station in the district → town/street → village/community hierarchy.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('role', fields.CharEnumField(description='CITIZEN: citizen\nSTATION_STAFF: station_staff\nREVIEWER: reviewer\nSUPERVISOR: supervisor\nADMIN: admin', enum_type=Role, max_length=20)),
                ('display_name', fields.CharField(default='', max_length=50)),
                ('openid', fields.CharField(null=True, unique=True, max_length=128)),
                ('username', fields.CharField(null=True, unique=True, max_length=64)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('person', fields.OneToOneField('models.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='account', on_delete=OnDelete.RESTRICT)),
                ('station', fields.ForeignKeyField('models.Station', source_field='station_id', null=True, db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT)),
                ('categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('failed_logins', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Who logs in: a citizen (mini-program openid) or staff (username and password).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('token_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('family', fields.CharField(db_index=True, max_length=32)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_token', 'app': 'models', 'pk_attr': 'token_hash', 'table_description': 'One refresh token of a login session (a token family). Only its hash is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StationAuthorisation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('station', fields.ForeignKeyField('models.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='authorisations', on_delete=OnDelete.CASCADE)),
                ('clerk', fields.ForeignKeyField('models.Account', source_field='clerk_id', db_constraint=True, to_field='id', related_name='recorded_authorisations', on_delete=OnDelete.CASCADE)),
                ('grantor', fields.ForeignKeyField('models.Person', source_field='grantor_id', db_constraint=True, to_field='id', related_name='authorisations_given', on_delete=OnDelete.CASCADE)),
                ('grantee', fields.ForeignKeyField('models.Person', source_field='grantee_id', db_constraint=True, to_field='id', related_name='authorisations_held', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=32)),
                ('form_number', fields.CharField(max_length=64)),
                ('note', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'station_authorisation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed authorisation form recorded by a station clerk (帮办代办授权登记).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Terminal',
            fields=[
                ('key_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('secret_enc', fields.CharField(max_length=200)),
                ('institution_code', fields.CharField(max_length=32)),
                ('institution_name', fields.CharField(max_length=100)),
                ('city_code', fields.CharField(max_length=6)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'terminal', 'app': 'models', 'pk_attr': 'key_id', 'table_description': 'A pharmacy or hospital terminal that signs its requests with a shared HMAC key.'},
            bases=['Model'],
        ),
    ]
