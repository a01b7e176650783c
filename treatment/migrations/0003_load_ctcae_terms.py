"""Load the CTCAE v5.0 terms (837, with MedDRA LLT codes) shipped in treatment/data/ctcae_v5.0.csv."""

import csv
from pathlib import Path

from django.db import migrations

CSV = Path(__file__).resolve().parent.parent / "data" / "ctcae_v5.0.csv"
EXPECTED_TERMS = 837


def _text(cell: str) -> str:
    cell = (cell or "").strip()
    return "" if cell in ("", "-") else cell  # "-": CTCAE defines no such grade for the term


def load(apps, schema_editor):
    term_model = apps.get_model("treatment", "CtcaeTerm")
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != EXPECTED_TERMS:
        raise RuntimeError(f"{CSV} has {len(rows)} terms, expected {EXPECTED_TERMS}")
    term_model.objects.bulk_create([
        term_model(meddra_code=int(row["MedDRA Code"]), soc=row["MedDRA SOC"].strip(), term=row["CTCAE Term"].strip(),
                   definition=_text(row["Definition"]),
                   **{f"grade_{g}": _text(row[f"Grade {g}"]) for g in range(1, 6)})
        for row in rows
    ])


def unload(apps, schema_editor):
    apps.get_model("treatment", "CtcaeTerm").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("treatment", "0002_treatment_forms")]
    operations = [migrations.RunPython(load, unload)]
