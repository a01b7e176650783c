"""Every route of the URLconf and the API router, found by walking them (so new routes are covered)."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    params: tuple[str, ...]


def walk(patterns=None, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            params = tuple((entry.pattern.regex.groupindex or {}).keys())
            yield Route(name, prefix + str(entry.pattern), params)


def study_routes() -> list[Route]:
    """Everything but the administration site and the language switch (tested on their own)."""
    return [r for r in walk() if not r.name.startswith("admin:") and r.name not in {"set_language"}]
