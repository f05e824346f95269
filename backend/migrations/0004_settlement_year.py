from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_auto_20261130_2354')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SettlementYear',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person_id', fields.BigIntField()),
                ('year', fields.IntField()),
                ('in_range_fen', fields.BigIntField(default=0)),
                ('basic_paid_fen', fields.BigIntField(default=0)),
                ('catastrophic_base_fen', fields.BigIntField(default=0)),
                ('catastrophic_paid_fen', fields.BigIntField(default=0)),
                ('assistance_paid_fen', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'settlement_year', 'app': 'models', 'unique_together': (('person_id', 'year'),), 'pk_attr': 'id', 'table_description': "One person's year of settlements (by the year of the care date): the policy-range"},
            bases=['Model'],
        ),
        # Basic-insurance payments made before the person-year table: the payouts of each
        # year (the year they counted against) become that year's basic payments.
        ops.RunSQL(
            "INSERT INTO settlement_year (person_id, year, in_range_fen, basic_paid_fen,"
            " catastrophic_base_fen, catastrophic_paid_fen, assistance_paid_fen, updated_at)"
            " SELECT person_id, year, 0, SUM(amount_fen), 0, 0, 0, MAX(created_at)"
            " FROM disbursement WHERE status <> 'cancelled' GROUP BY person_id, year",
            reverse_sql="DELETE FROM settlement_year",
        ),
    ]
