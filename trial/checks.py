"""System checks guarding the engine's invariants. Ids are stable: trial.E001 to trial.E005."""

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
    return errors
