"""What a patient's casebook holds: every CRF model with that patient's records (no CRF named)."""

from dataclasses import dataclass

from django.utils.text import capfirst

from trial import access
from trial.access import Action
from trial.crf import Crf, Phase, crf_models, entry_refusal


@dataclass
class CasebookSection:
    model: type[Crf]
    records: list[Crf]
    can_add: bool
    blocked: str | None = None  # why no new record can be entered now (consent missing, screen failure...)

    @property
    def slug(self) -> str:
        return self.model.crf_slug()

    @property
    def title(self) -> str:
        return capfirst(str(self.model._meta.verbose_name_plural if self.model.crf_repeating
                            else self.model._meta.verbose_name))  # "CRS assessments", not "Crs assessments"


def casebook_sections(patient, user) -> list[CasebookSection]:
    """One section per CRF, in casebook order; one query per CRF model."""
    may_enter = access.can(user, Action.ENTER_DATA, site=patient.site_id)
    sections = []
    for model in crf_models():
        records = list(model.objects.visible_to(user).filter(patient=patient)
                       .select_related("updated_by", *model.crf_summary_related).order_by("pk"))
        addable = may_enter and model.crf_addable and (model.crf_repeating or not records)
        blocked = entry_refusal(patient, model) if addable else None
        sections.append(CasebookSection(model=model, records=records, can_add=addable and not blocked,
                                        blocked=blocked))
    return sections


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
