from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from backend.claims.models import DisbursementStatus
from backend.enrollment.models import ChangeStatus
from backend.family.models import ConsentStatus, GuardianshipBasis
from backend.identity.models import ProofMethod, VerificationStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_auto_20261201_0031')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CategoryChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='category_changes', on_delete=OnDelete.CASCADE)),
                ('category', fields.CharField(null=True, max_length=32)),
                ('valid_from', fields.DateField()),
                ('valid_to', fields.DateField(null=True)),
                ('evidence_number', fields.CharField(max_length=64)),
                ('evidence_key', fields.CharField(max_length=200)),
                ('evidence_type', fields.CharField(max_length=40)),
                ('evidence_sha256', fields.CharField(max_length=64)),
                ('note', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ChangeStatus, max_length=10)),
                ('proposed_by', fields.ForeignKeyField('models.Account', source_field='proposed_by_id', db_constraint=True, to_field='id', related_name='category_proposals', on_delete=OnDelete.CASCADE)),
                ('proposed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('models.Account', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='category_decisions', on_delete=OnDelete.CASCADE)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'category_change', 'app': 'models', 'pk_attr': 'id', 'table_description': "A proposed change of a person's subsidy category: evidence (the civil-affairs document's"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdentityAlert',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='identity_alerts', on_delete=OnDelete.CASCADE)),
                ('previous_account', fields.ForeignKeyField('models.Account', source_field='previous_account_id', null=True, db_constraint=True, to_field='id', related_name='identity_alerts_lost', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='identity_alerts_won', on_delete=OnDelete.CASCADE)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('acknowledged_by', fields.ForeignKeyField('models.Account', source_field='acknowledged_by_id', null=True, db_constraint=True, to_field='id', related_name='identity_alerts_acknowledged', on_delete=OnDelete.CASCADE)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_alert', 'app': 'models', 'pk_attr': 'id', 'table_description': 'For supervision staff: an identity was reclaimed from another account (and what was'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdentityVerification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='identity_verifications', on_delete=OnDelete.CASCADE)),
                ('out_seq_no', fields.CharField(unique=True, max_length=32)),
                ('verify_id', fields.CharField(unique=True, max_length=256)),
                ('name', fields.CharField(max_length=50)),
                ('id_number_enc', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(description='PENDING: pending\nPASSED: passed\nREFUSED: refused', enum_type=VerificationStatus, max_length=10)),
                ('verify_ret', fields.IntField(null=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'identity_verification', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One face verification (人脸核身) started by a citizen for a name and ID number. The'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RealNameProof',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='real_name_proofs', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='real_name_proofs', on_delete=OnDelete.CASCADE)),
                ('method', fields.CharEnumField(description='FACE: face\nSTATION: station', enum_type=ProofMethod, max_length=10)),
                ('verification', fields.ForeignKeyField('models.IdentityVerification', source_field='verification_id', null=True, db_constraint=True, to_field='id', related_name='proofs', on_delete=OnDelete.CASCADE)),
                ('clerk', fields.ForeignKeyField('models.Account', source_field='clerk_id', null=True, db_constraint=True, to_field='id', related_name='witnessed_proofs', on_delete=OnDelete.RESTRICT)),
                ('station', fields.ForeignKeyField('models.Station', source_field='station_id', null=True, db_constraint=True, to_field='id', related_name='real_name_proofs', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_reason', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'real_name_proof', 'app': 'models', 'pk_attr': 'id', 'table_description': "How an account's real-name binding was proven. ``ended_at`` is set once it no longer"},
            bases=['Model'],
        ),
        ops.RemoveField(model_name='Account', name='failed_logins'),
        ops.RemoveField(model_name='Account', name='locked_until'),
        ops.AddField(
            model_name='Claim',
            name='payout_frozen_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Disbursement',
            name='status',
            field=fields.CharEnumField(description='SCHEDULED: scheduled\nPAID: paid\nCANCELLED: cancelled\nFROZEN: frozen', enum_type=DisbursementStatus, max_length=10),
        ),
        ops.AlterField(
            model_name='FamilyMember',
            name='consent_status',
            field=fields.CharEnumField(description='NOT_REQUIRED: not_required\nUNPROVEN: unproven\nFROZEN: frozen\nPENDING: pending\nGRANTED: granted', enum_type=ConsentStatus, max_length=12),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='guardianship_basis',
            field=fields.CharEnumField(null=True, description='REGISTRY: registry\nSTATION: station', enum_type=GuardianshipBasis, max_length=10),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='guardianship_clerk_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='guardianship_document',
            field=fields.CharField(default='', max_length=80),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='guardianship_station_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='objected_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FamilyMember',
            name='objected_by_person_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AlterModelOptions(
            name='InboxMessage',
            options={'table': 'inbox_message', 'app': 'models', 'indexes': [Index(fields=['person_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A message to a citizen (the applicant): one per step of their case. A message about the'},
        ),
        ops.AlterField(
            model_name='InboxMessage',
            name='person',
            field=fields.ForeignKeyField('models.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='inbox', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='InboxMessage',
            name='account',
            field=fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='inbox', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Person',
            name='home_station',
            field=fields.ForeignKeyField('models.Station', source_field='home_station_id', null=True, db_constraint=True, to_field='id', related_name='registered_persons', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='StationAuthorisation',
            name='id_card_checked',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='StationAuthorisation',
            name='scan_key',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='StationAuthorisation',
            name='scan_sha256',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='StationAuthorisation',
            name='scan_type',
            field=fields.CharField(default='', max_length=40),
        ),
        ops.AddField(
            model_name='StationAuthorisation',
            name='withdrawn_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
