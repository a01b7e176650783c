"""Move the Death CRF to the patients app, step 1 of 3: rename its tables in place.

transplant_death → patients_death and transplant_historicaldeath → patients_historicaldeath. A rename keeps
every row, id, sequence, index and constraint (and, on PostgreSQL, the append-only trigger of the history
table), on SQLite and PostgreSQL alike. Step 2 (patients 0004) takes the model over in the migration state
without touching the database; step 3 (transplant 0003) drops it from this app's state. Reversible.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("transplant", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="death", table="patients_death"),
        migrations.AlterModelTable(name="historicaldeath", table="patients_historicaldeath"),
    ]
