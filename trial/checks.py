"""System checks guarding the engine's invariants. Ids are stable: trial.E001 to trial.E009."""

from django.core import checks

from trial.access import SiteScopedQuerySet


def check_crfs_are_site_scoped(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from trial.crf import crf_models

    return check_models_are_site_scoped(crf_models())


def check_models_are_site_scoped(crf_model_list) -> list[checks.CheckMessage]:
    from trial.crf import Crf, CrfQuerySet

    errors = []
    for model in crf_model_list:
        manager_qs = model._default_manager.all()
        if not isinstance(manager_qs, SiteScopedQuerySet):
            errors.append(checks.Error(f"{model._meta.label}: default manager is not site-scoped.",
                                       hint="Use CrfQuerySet.as_manager().", obj=model, id="trial.E001"))
        elif not isinstance(manager_qs, CrfQuerySet):
            errors.append(checks.Error(f"{model._meta.label}: default manager allows bulk writes.",
                                       hint="Use CrfQuerySet.as_manager().", obj=model, id="trial.E002"))
        if not hasattr(model, "history") or not issubclass(model, Crf):
            errors.append(checks.Error(f"{model._meta.label}: no audit history.", obj=model, id="trial.E003"))
        declares_phase = any("crf_phase" in vars(klass) for klass in model.__mro__ if klass is not Crf)
        if issubclass(model, Crf) and not declares_phase:
            errors.append(checks.Error(f"{model._meta.label}: no crf_phase.", obj=model, id="trial.E005",
                                       hint="Say where the form belongs (trial.crf.Phase); entry checks use it."))
        known = {m._meta.label for m in crf_model_list}
        for source in getattr(model, "crf_derived_from", ()):
            if source not in known:
                errors.append(checks.Error(
                    f"{model._meta.label}: crf_derived_from names {source!r}, which is not a CRF.",
                    hint="Use the 'app_label.ModelName' label of a CRF model.", obj=model, id="trial.E004"))
        errors += _check_reads(model, {m._meta.label: m for m in crf_model_list})
    return errors


def _check_reads(model, by_label: dict) -> list[checks.CheckMessage]:
    """trial.E009: `crf_reads` names sources in `crf_derived_from`, and fields they have."""
    errors = []
    for source, names in getattr(model, "crf_reads", {}).items():
        if source not in getattr(model, "crf_derived_from", ()) or source not in by_label:
            errors.append(checks.Error(f"{model._meta.label}: crf_reads names {source!r}, which is not in its "
                                       "crf_derived_from.", obj=model, id="trial.E009"))
            continue
        known = {f.name for f in by_label[source]._meta.concrete_fields}
        for name in names:
            if name not in known:
                errors.append(checks.Error(f"{model._meta.label}: crf_reads names {source}.{name}, which is not "
                                           "a field of that form.", obj=model, id="trial.E009"))
    return errors


def check_crf_field_names(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """trial.E006: a CRF field named like one of the engine's own names (reason, version, status, visit, ...)
    would collide with it on the page and in the API (an interruption's `reason` once did)."""
    from trial.crf import crf_models

    return check_field_names(crf_models())


def check_field_names(crf_model_list) -> list[checks.CheckMessage]:
    from trial.crf import BASE_FIELDS, ENGINE_NAMES, Crf

    def redeclared(model) -> list[str]:
        """Base fields a CRF declares again (a chimerism `status` would replace the entry status); a one-per-patient
        form may declare its `patient` again as a one-to-one link."""
        return [name for name in sorted(BASE_FIELDS - {"patient", "id"})
                if model._meta.get_field(name).creation_counter != Crf._meta.get_field(name).creation_counter]

    return [checks.Error(f"{model._meta.label}.{name}: the name collides with the engine's own {name!r}.",
                         hint="Rename the field (e.g. prefix it with what it is about).", obj=model, id="trial.E006")
            for model in crf_model_list
            for name in [*(n for n in model.entry_fields() + model.derived_fields() if n in ENGINE_NAMES),
                         *redeclared(model)]]


def check_crfs_have_visits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """trial.E008: every CRF says which visit its records belong to, and every scheduled form has a date."""
    from trial.crf import crf_models
    from trial.visits import form_rule, study_schedule

    errors = []
    for model in crf_models():
        rule = form_rule(model._meta.label)
        if rule is None:
            errors.append(checks.Error(f"{model._meta.label}: no visit rule.", obj=model, id="trial.E008",
                                       hint="Declare a trial.visits.FormVisit in the app's schedule module."))
            continue
        names = {f.name for f in model._meta.concrete_fields}
        for name in filter(None, (rule.date_field, rule.index_field, rule.key_field)):
            if name not in names:
                errors.append(checks.Error(f"{model._meta.label}: visit rule names {name!r}, not a field.",
                                           obj=model, id="trial.E008"))
    for event in study_schedule().events:
        rule = form_rule(event.form)
        if rule is None or not (rule.date_field or rule.key):  # a key matched by date needs the date
            errors.append(checks.Error(f"Visit {event.key}: form {event.form!r} has no visit rule with a date or "
                                       f"a fixed key.", id="trial.E008"))
    return errors


@checks.register()
def check_contributions(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """trial.E007: every module an app declares in `contributes` (trial.apps.StudyAppConfig) exists and was
    imported at start-up, so nothing it registers (entry checks, forms, API, panels, demo...) goes missing."""
    from django.apps import apps

    return check_contribution_modules(app_configs or apps.get_app_configs())


def check_contribution_modules(app_configs) -> list[checks.CheckMessage]:
    import sys
    from importlib.util import find_spec

    from trial.apps import contribution_modules

    errors = []
    for config in app_configs:
        for name in contribution_modules(config):
            if name in sys.modules:
                continue
            if find_spec(name) is None:
                errors.append(checks.Error(
                    f"{config.label}: declares the contribution module {name!r}, which does not exist.",
                    hint="Create the module or remove it from the app config's `contributes`.", obj=config,
                    id="trial.E007"))
            else:
                errors.append(checks.Error(
                    f"{config.label}: the contribution module {name!r} was not imported at start-up.",
                    hint="An app config that overrides ready() calls super().ready().", obj=config,
                    id="trial.E007"))
    return errors
