"""Data quality: rules registered by each app's `quality.py`, the engine that runs them, and the queries.

Domain apps import the registry from here: `from trial.quality import Hit, Scope, Severity, rule`.
"""

from trial.quality.registry import Hit, Rule, Scope, Severity, rule, rule_by_code, rules

__all__ = ["Hit", "Rule", "Scope", "Severity", "rule", "rule_by_code", "rules"]
