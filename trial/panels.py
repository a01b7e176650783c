"""Panels of the patient page that domain apps contribute (e.g. the treatment summary), without trial or
patients importing them: an app registers a function that returns the panel's template and context."""

from collections.abc import Callable

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

Panel = Callable[[object, object], tuple[str, dict] | None]
_PANELS: list[tuple[int, Panel]] = []


def patient_panel(order: int) -> Callable[[Panel], Panel]:
    """Decorator: `panel(patient, user)` returns (template, context) to show on the patient page, or None."""

    def register(panel: Panel) -> Panel:
        if all(existing is not panel for _order, existing in _PANELS):
            _PANELS.append((order, panel))
            _PANELS.sort(key=lambda item: item[0])
        return panel

    return register


def render_patient_panels(request: HttpRequest, patient) -> list[SafeString]:
    """The registered panels, rendered for this user (each panel reads only what the user may see)."""
    rendered = []
    for _order, panel in _PANELS:
        found = panel(patient, request.user)
        if found is not None:
            template, context = found
            rendered.append(render_to_string(template, {"patient": patient, **context}, request=request))
    return rendered
