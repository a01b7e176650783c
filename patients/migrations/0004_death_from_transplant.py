"""Move the Death CRF to the patients app, step 2 of 3: take the model over (the patient's vital status).

transplant 0002 has already renamed the tables to patients_death and patients_historicaldeath, which are the
default names of patients.Death and its history, so the models are only added to the migration state: no row
is copied or lost. The content types (and with them permissions and admin log entries) are relabelled too.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

MOVED = ("death", "historicaldeath")


def _relabel_content_types(apps, schema_editor, source: str, target: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    alias = schema_editor.connection.alias
    for model in MOVED:
        if not content_type.objects.using(alias).filter(app_label=target, model=model).exists():
            content_type.objects.using(alias).filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):
    _relabel_content_types(apps, schema_editor, "transplant", "patients")


def backwards(apps, schema_editor):
    _relabel_content_types(apps, schema_editor, "patients", "transplant")


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0003_frontline_status_label"),
        ("transplant", "0002_death_table_to_patients"),
        ("sites", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Death',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('complete', 'Complete'), ('verified', 'Source-verified'), ('signed', 'Signed'), ('locked', 'Locked')], default='draft', editable=False, max_length=10, verbose_name='status')),
                        ('version', models.PositiveIntegerField(default=0, editable=False, verbose_name='version')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='last changed')),
                        ('death_date', models.DateField(verbose_name='date of death')),
                        ('cause', models.CharField(choices=[('relapse', 'Relapse or progression'), ('gvhd', 'Graft-versus-host disease'), ('infection', 'Infection'), ('toxicity', 'Treatment toxicity'), ('other', 'Other')], max_length=10, verbose_name='primary cause of death')),
                        ('cause_detail', models.TextField(blank=True, help_text='Required when the cause is “Other”; e.g. the infection or toxicity.', verbose_name='cause details')),
                        ('autopsy', models.BooleanField(default=False, verbose_name='autopsy performed')),
                        ('created_by', models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                        ('patient', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='death', to='patients.patient', verbose_name='patient')),
                        ('site', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='sites.site', verbose_name='site')),
                        ('updated_by', models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='last changed by')),
                    ],
                    options={
                        'verbose_name': 'death',
                        'verbose_name_plural': 'deaths',
                    },
                ),
                migrations.CreateModel(
                    name='HistoricalDeath',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('complete', 'Complete'), ('verified', 'Source-verified'), ('signed', 'Signed'), ('locked', 'Locked')], default='draft', editable=False, max_length=10, verbose_name='status')),
                        ('version', models.PositiveIntegerField(default=0, editable=False, verbose_name='version')),
                        ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='created')),
                        ('updated_at', models.DateTimeField(blank=True, editable=False, verbose_name='last changed')),
                        ('history_change_reason', models.TextField(null=True)),
                        ('death_date', models.DateField(verbose_name='date of death')),
                        ('cause', models.CharField(choices=[('relapse', 'Relapse or progression'), ('gvhd', 'Graft-versus-host disease'), ('infection', 'Infection'), ('toxicity', 'Treatment toxicity'), ('other', 'Other')], max_length=10, verbose_name='primary cause of death')),
                        ('cause_detail', models.TextField(blank=True, help_text='Required when the cause is “Other”; e.g. the infection or toxicity.', verbose_name='cause details')),
                        ('autopsy', models.BooleanField(default=False, verbose_name='autopsy performed')),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('created_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('patient', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient', verbose_name='patient')),
                        ('site', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='sites.site', verbose_name='site')),
                        ('updated_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='last changed by')),
                    ],
                    options={
                        'verbose_name': 'historical death',
                        'verbose_name_plural': 'historical deaths',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
