"""Move the Death CRF to the patients app, step 3 of 3: forget it here (state only; the tables now belong to
patients.Death, see transplant 0002 and patients 0004)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("transplant", "0002_death_table_to_patients"),
        ("patients", "0004_death_from_transplant"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="HistoricalDeath"),
                migrations.DeleteModel(name="Death"),
            ],
            database_operations=[],
        ),
    ]
