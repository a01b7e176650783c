"""Steps of the demo study that domain apps contribute (enrollment, treatment, ...), run in order by load_demo.

An app declares "demo" in its config's `contributes` (trial.apps.StudyAppConfig); its demo module registers its
steps with `demo_step` when imported at start-up.

Each step receives the demo patients and the coordinator of each site, adds only what is missing (so the
command can run again) and returns how many patients it completed.
"""

from collections.abc import Callable

DemoStep = Callable[[list, dict], int]
_STEPS: list[tuple[int, str, DemoStep]] = []


def demo_step(order: int, name: str) -> Callable[[DemoStep], DemoStep]:
    def register(step: DemoStep) -> DemoStep:
        if all(existing is not step for _o, _n, existing in _STEPS):
            _STEPS.append((order, name, step))
            _STEPS.sort(key=lambda item: item[0])
        return step

    return register


def demo_steps() -> list[tuple[str, DemoStep]]:
    """The registered steps in order (each app's demo module is imported at start-up: trial.apps.StudyAppConfig)."""
    return [(name, step) for _order, name, step in _STEPS]
