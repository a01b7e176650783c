"""Recompute the stored values of every form under the current rules, after a rule version changed.

Each patient is done in one transaction, under the patient's lock; every record whose values change gets its own
audit record ("Recomputed under the current rule versions", by the system). A patient whose recomputation would
alter a locked form or leave a form invalid is left as it was and named, with the reason.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction

from trial.crf import rederive_patient
from trial.patients import patient_model


class _DryRun(Exception):
    """Rolls a patient back after counting what would change."""


class Command(BaseCommand):
    help = "Recompute stored derived values under the current rules (audited); --dry-run only counts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count the records that would change; write nothing")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        changed = patients = 0
        refused: list[str] = []
        for patient_id, subject_id in patient_model().objects.order_by("pk").values_list("pk", "subject_id"):
            patients += 1
            try:
                with transaction.atomic():
                    count = rederive_patient(patient_id)
                    changed += count
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                pass
            except ValidationError as problem:
                refused.append(f"{subject_id}: {' '.join(problem.messages)}")
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{patients} patients, {changed} records {verb}, {len(refused)} patients left as they were")
        for line in refused:
            self.stdout.write(f"  {line}")
