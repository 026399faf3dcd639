"""What Prometheus's rule loader refuses in a PrometheusRule, which its CRD schema admits.

prometheus-operator validates each PrometheusRule with Prometheus's `rulefmt.Parse`
(`pkg/operator/rules.go`, `ValidateRule`) before it writes the rule files, and leaves a
rule that fails out whole: it logs "invalid rule" and every alert of that object is
silently gone (its admission webhook, where installed, refuses the object instead).
This applies the checks that do not depend on the Prometheus version or its name
validation scheme: group names present and unique, each rule either `record` or
`alert`, an `expr` that parses as PromQL (the promql-parser library), and no
`annotations` or `for` on a recording rule. Label names and annotation templates are
left alone: Prometheus 3 accepts UTF-8 names, and the templates are Go templates.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

__all__ = ["prometheus_rule_problems"]

Where = tuple[str | int, ...]  # a path inside the document, as keys and indexes
# Prometheus's durations (model.ParseDuration) that are zero: `for: 0s` is no `for` at all
_ZERO_DURATION = re.compile(r"0+|(?:0+(?:ms|s|m|h|d|w|y))+")


def prometheus_rule_problems(document: dict[str, Any]) -> list[tuple[Where, str]]:
    """(path, message) for each rule Prometheus would refuse; [] for any other kind."""
    if document.get("kind") != "PrometheusRule" or document.get("apiVersion") != "monitoring.coreos.com/v1":
        return []
    spec = document.get("spec")
    groups = spec.get("groups") if isinstance(spec, dict) else None
    if not isinstance(groups, list):
        return []  # the schema says what is missing
    return list(_group_problems(groups))


def _group_problems(groups: list[Any]) -> Iterator[tuple[Where, str]]:
    seen: set[str] = set()
    for index, group in enumerate(groups):
        if not isinstance(group, dict):
            continue
        name = group.get("name")
        where: Where = ("spec", "groups", index)
        if not name:
            yield (*where, "name"), "a rule group needs a name (Prometheus: Groupname must not be empty)"
        elif isinstance(name, str) and name in seen:
            yield (*where, "name"), f"group name '{name}' is repeated in the same PrometheusRule"
        if isinstance(name, str):
            seen.add(name)
        rules = group.get("rules")
        for position, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict):
                yield from _rule_problems(rule, (*where, "rules", position))


def _rule_problems(rule: dict[str, Any], where: Where) -> Iterator[tuple[Where, str]]:
    record, alert = rule.get("record"), rule.get("alert")
    if record and alert:
        yield where, "only one of 'record' and 'alert' may be set"
    elif not record and not alert:
        yield where, "one of 'record' or 'alert' must be set"
    expr = rule.get("expr")
    if expr is None or expr == "":
        yield (*where, "expr"), "field 'expr' must be set"
    else:
        problem = promql_error(str(expr))
        if problem:
            yield (*where, "expr"), f"PromQL does not parse: {problem}"
    if record and not alert:
        if rule.get("annotations"):
            yield (*where, "annotations"), "a recording rule takes no 'annotations'"
        duration = rule.get("for")
        if duration not in (None, "") and not _ZERO_DURATION.fullmatch(str(duration)):
            yield (*where, "for"), "a recording rule takes no 'for'"


@lru_cache(maxsize=4096)
def promql_error(expression: str) -> str | None:
    """Why `expression` is not PromQL, or None (cached: a one-spec check meets the same
    rules again). promql-parser 0.12 panics, rather than raising, on a few malformed
    durations (`offset NaN`): that is this expression's problem too, and the panic's
    report, which Rust writes straight to file descriptor 2, is kept out of the output."""
    import promql_parser

    try:
        with _stderr_silenced():
            promql_parser.parse(expression)
    except ValueError as error:
        return str(error).strip() or "not a PromQL expression"
    except BaseException as error:  # pyo3's PanicException derives from BaseException
        if type(error).__name__ != "PanicException":
            raise
        return f"the PromQL parser could not read it ({str(error).strip()})"
    return None


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a daemon): nothing to keep clean
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
