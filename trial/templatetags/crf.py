from django import template

from trial.audit import display_value

register = template.Library()


@register.simple_tag
def derived_value(crf, name: str) -> str:
    """A derived field's value as a reader wants it (choice label, not code)."""
    return display_value(type(crf), name, getattr(crf, name))


@register.filter
def verbose_name_of(obj) -> str:
    return str(obj._meta.verbose_name)
