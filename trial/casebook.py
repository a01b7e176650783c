"""What a patient's casebook holds: every CRF model with that patient's records (no CRF named).

A repeating form shows its latest records on the patient page (a patient followed for five years has hundreds of
counts, viral loads and assessments); the form's own list shows them all.
"""

from dataclasses import dataclass

from django.db import connection
from django.utils.text import capfirst

from trial import access
from trial.access import Action
from trial.crf import Crf, Phase, crf_models, entry_refusal


@dataclass
class CasebookSection:
    model: type[Crf]
    records: list[Crf]  # the latest LATEST of a repeating form, oldest first
    can_add: bool
    blocked: str | None = None  # why no new record can be entered now (consent missing, screen failure...)
    total: int = 0  # how many records the patient has of this form

    @property
    def hidden(self) -> int:
        """Earlier records not shown on the patient page (the form's list shows them)."""
        return self.total - len(self.records)

    def numbered(self) -> list[tuple[int, Crf]]:
        """(#n, record) with n counted over all the patient's records of the form, oldest first."""
        return [(self.hidden + i, record) for i, record in enumerate(self.records, 1)]

    @property
    def slug(self) -> str:
        return self.model.crf_slug()

    @property
    def series_url(self) -> str | None:
        return self.model.crf_series_url

    @property
    def title(self) -> str:
        return capfirst(str(self.model._meta.verbose_name_plural if self.model.crf_repeating
                            else self.model._meta.verbose_name))  # "CRS assessments", not "Crs assessments"


LATEST = 5  # records of a repeating form shown on the patient page


def casebook_sections(patient, user) -> list[CasebookSection]:
    """One section per CRF, in casebook order: one query per CRF model for its latest records, and one for the
    numbers of records of every form."""
    may_enter = access.can(user, Action.ENTER_DATA, site=patient.site_id)
    models = crf_models()
    totals = record_counts(patient, models)
    sections = []
    for model in models:
        found = (model.objects.visible_to(user).filter(patient=patient)
                 .select_related("updated_by", *model.crf_summary_related).order_by("-pk"))
        records = list(found[:LATEST])[::-1] if model.crf_repeating else list(found)
        addable = may_enter and model.crf_addable and (model.crf_repeating or not records)
        blocked = entry_refusal(patient, model) if addable else None
        sections.append(CasebookSection(model=model, records=records, can_add=addable and not blocked,
                                        blocked=blocked, total=max(totals.get(model, 0), len(records))))
    return sections


def record_counts(patient, models: list[type[Crf]]) -> dict[type[Crf], int]:
    """How many records the patient has of each form, in one statement (the patient is already visible)."""
    quote = connection.ops.quote_name
    selects = []
    for index, model in enumerate(models):
        table, column = quote(model._meta.db_table), quote(model._meta.get_field("patient").column)
        # identifiers from model metadata, quoted; the patient id is a bound parameter
        selects.append(f"SELECT {index}, COUNT(*) FROM {table} WHERE {column} = %s")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), [patient.pk] * len(selects))
        return {models[index]: count for index, count in cursor.fetchall()}


@dataclass
class CasebookGroup:
    phase: str
    label: str
    sections: list[CasebookSection]

    @property
    def blocked(self) -> str | None:
        """The one reason that keeps every form of this group from being entered, said once for the group."""
        reasons = {s.blocked for s in self.sections if not s.records}
        if len(reasons) == 1 and None not in reasons and all(not s.can_add for s in self.sections):
            return reasons.pop()
        return None


def casebook_groups(patient, user) -> list[CasebookGroup]:
    """The casebook's sections grouped by study phase (enrollment, treatment, transplant, follow-up)."""
    sections = casebook_sections(patient, user)
    groups = []
    for phase in Phase:
        members = [s for s in sections if s.model.crf_phase == phase]
        if members:
            groups.append(CasebookGroup(phase.value, str(phase.label), members))
    return groups
