"""conftest's exceptions: an `exception` rule exempts an input from named decision rules.

    exception contains rules if {
        input.metadata.name == "can-run-as-root"
        rules := ["run_as_root"]
    }

exempts the input from `deny_run_as_root`, `violation_run_as_root` and `warn_run_as_root`
in the same package. The rule's messages are dropped and each matching entry is reported
as an exception instead, as `conftest test` does (its `exception[_][_] == "<name>"`
query, one exception per matching entry). The listed name is the rule's name without its
`violation_`, `deny_` or `warn_` prefix, removed in that order; the plain `deny`,
`violation` and `warn` rules are all exempted by listing the empty string "" (conftest's
documented rule: listing "deny" exempts only a rule named `deny_deny`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine imports this module
    from generator.policy.engine import RuleResult

__all__ = ["EXCEPTION_RULE", "RuleException", "exception_name", "apply_exceptions"]

EXCEPTION_RULE = "exception"


@dataclass(frozen=True)
class RuleException:
    namespace: str
    rule: str  # the decision rule exempted, e.g. deny_run_as_root
    name: str  # the name the exception listed, e.g. run_as_root

    @property
    def msg(self) -> str:
        """conftest's text for an exception: the query that matched."""
        return f'data.{self.namespace}.{EXCEPTION_RULE}[_][_] == "{self.name}"'


def exception_name(rule: str) -> str:
    if rule in ("deny", "violation", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        rule = rule.removeprefix(prefix)
    return rule


def _listed(value: Any) -> Counter[str]:
    """How often each name appears across the exception set's arrays."""
    names: Counter[str] = Counter()
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, list):
            names.update(item for item in entry if isinstance(item, str))
    return names


def apply_exceptions(results: Sequence[RuleResult], rules: Mapping[str, Sequence[str]],
                     exception_values: Mapping[str, Any]) -> tuple[list[RuleResult], list[RuleException]]:
    """Drop the results of exempted rules; one RuleException per matching listed entry.

    `rules`: package -> its decision rule names; `exception_values`: package -> the value of
    its `exception` rule for this input (packages without one are absent).
    """
    exempted: set[tuple[str, str]] = set()
    exceptions: list[RuleException] = []
    for namespace, value in sorted(exception_values.items()):
        listed = _listed(value)
        for rule in rules.get(namespace, ()):
            name = exception_name(rule)
            if listed[name]:
                exempted.add((namespace, rule))
                exceptions += [RuleException(namespace, rule, name)] * listed[name]
    kept = [r for r in results if (r.namespace, r.rule) not in exempted]
    return kept, exceptions
