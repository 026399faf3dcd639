"""CEL validation rules (`x-kubernetes-validations`) of CRD schemas, as the API server runs them.

kubeconform checks structure only; the API server also evaluates each rule with `self`
bound to the value at the rule's place in the schema, and rejects the object with the
rule's message when the rule is false. Rules are compiled once per schema into a small
plan that holds only the paths leading to a rule, so a document is walked only where a
rule can apply. Transition rules (those naming `oldSelf`) only run on update, never on
create, so they are skipped here, as on a create.

A rule the CEL library cannot evaluate (a Kubernetes library function it lacks, a syntax
it does not parse) never passes silently: it is reported as a violation that says so.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["CelPlan", "CelRule", "CelViolation", "build_plan", "evaluate_plan", "plan_from_paths", "rule_paths"]

Step = tuple[str, ...]  # ("properties", name) | ("items",) | ("additionalProperties",) | ("allOf", "0")
_COMBINERS = ("allOf", "anyOf", "oneOf")

_OLD_SELF = re.compile(r"\boldSelf\b")


@lru_cache(maxsize=1024)
def _compile(rule: str) -> Any:
    """A compiled rule; the same text recurs across a CRD (Argo repeats its template rules)."""
    return _cel_library().compile(rule)


@lru_cache(maxsize=1)
def _cel_library() -> Any:
    """common-expression-language's native module, without its package's REPL.

    `import cel` also loads its command-line REPL (prompt_toolkit and friends): a quarter
    of a second, most of a one-spec `check`. The extension module alone is all we call."""
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if path.is_file():
                native = importlib.util.spec_from_file_location("cel.cel", path)
                if native is not None and native.loader is not None:
                    module = importlib.util.module_from_spec(native)
                    native.loader.exec_module(module)
                    sys.modules["cel.cel"] = module
                    return module
    import cel  # another layout, or already loaded: the package itself

    return cel


_UNDEFINED = "Undefined variable or function"


@dataclass(frozen=True)
class CelViolation:
    path: tuple[str | int, ...]
    message: str
    rule: str
    unevaluable: bool = False


@dataclass(frozen=True)
class CelRule:
    rule: str
    message: str
    field_path: str
    program: Any  # cel.Program, or None when the rule does not compile
    compile_error: str = ""

    @classmethod
    def from_schema(cls, entry: dict[str, Any]) -> CelRule | None:
        rule = str(entry.get("rule", ""))
        if not rule or _OLD_SELF.search(rule):
            return None
        message = str(entry.get("message") or f"failed rule: {rule}")
        try:
            return cls(rule, message, str(entry.get("fieldPath", "")), _compile(rule))
        except (ValueError, RuntimeError, TypeError) as error:
            return cls(rule, message, str(entry.get("fieldPath", "")), None, _one_line(error))


@dataclass
class CelPlan:
    """The rules at one schema node and the child nodes that lead to more rules."""

    rules: list[CelRule] = field(default_factory=list)
    properties: dict[str, CelPlan] = field(default_factory=dict)
    items: CelPlan | None = None
    additional: CelPlan | None = None  # map values (additionalProperties)

    @property
    def empty(self) -> bool:
        return not (self.rules or self.properties or self.items or self.additional)


def build_plan(schema: Any) -> CelPlan | None:
    """The CEL plan of a structural schema, or None when it carries no rule to run."""
    if not isinstance(schema, dict):
        return None
    plan = CelPlan(rules=[r for r in map(CelRule.from_schema, schema.get("x-kubernetes-validations") or []) if r])
    for name, child in (schema.get("properties") or {}).items():
        sub = build_plan(child)
        if sub is not None:
            plan.properties[name] = sub
    plan.items = build_plan(schema.get("items"))
    plan.additional = build_plan(schema.get("additionalProperties"))
    for combined in _COMBINERS:
        for part in schema.get(combined) or []:
            _merge(plan, build_plan(part))
    return None if plan.empty else plan


def rule_paths(schema: Any, here: tuple[Step, ...] = ()) -> list[list[list[str]]]:
    """Where the rules are: the steps from the root to every schema node that carries some.

    A full walk of the schema (0.1 s for an Argo Workflows CRD): done once when vendoring,
    so that `plan_from_paths` builds the plan by visiting only those nodes."""
    if not isinstance(schema, dict):
        return []
    found = [[list(step) for step in here]] if schema.get("x-kubernetes-validations") else []
    for name, child in (schema.get("properties") or {}).items():
        found += rule_paths(child, (*here, ("properties", name)))
    for key in ("items", "additionalProperties"):
        found += rule_paths(schema.get(key), (*here, (key,)))
    for combined in _COMBINERS:
        for index, part in enumerate(schema.get(combined) or []):
            found += rule_paths(part, (*here, (combined, str(index))))
    return found


def plan_from_paths(schema: dict[str, Any], paths: list[list[list[str]]]) -> CelPlan | None:
    """The plan `build_plan` would make, visiting only the nodes `rule_paths` listed."""
    root = CelPlan()
    for path in paths:
        node, plan = schema, root
        for step in path:
            node, plan = _step(node, plan, step)
        plan.rules += [r for r in map(CelRule.from_schema, node.get("x-kubernetes-validations") or []) if r]
    return None if root.empty else root


def _step(node: dict[str, Any], plan: CelPlan, step: list[str]) -> tuple[dict[str, Any], CelPlan]:
    if step[0] == "properties":
        return node["properties"][step[1]], plan.properties.setdefault(step[1], CelPlan())
    if step[0] in _COMBINERS:  # a combined schema applies to the same value: same plan node
        return node[step[0]][int(step[1])], plan
    if step[0] == "items":
        plan.items = plan.items or CelPlan()
        return node["items"], plan.items
    plan.additional = plan.additional or CelPlan()
    return node["additionalProperties"], plan.additional


def _merge(into: CelPlan, other: CelPlan | None) -> None:
    if other is None:
        return
    into.rules += other.rules
    for name, sub in other.properties.items():
        if name in into.properties:
            _merge(into.properties[name], sub)
        else:
            into.properties[name] = sub
    into.items = into.items or other.items
    into.additional = into.additional or other.additional


def evaluate_plan(plan: CelPlan, value: Any, path: tuple[str | int, ...] = ()) -> Iterator[CelViolation]:
    """Every rule of `plan` that `value` breaks, outermost first (as the API server lists them)."""
    if value is None:
        return
    if plan.rules:
        bound = _bound(value, len(plan.rules))
        for rule in plan.rules:
            violation = _run(rule, bound, path)
            if violation is not None:
                yield violation
    if isinstance(value, dict):
        for name, sub in plan.properties.items():
            if name in value:
                yield from evaluate_plan(sub, value[name], (*path, name))
        if plan.additional is not None:
            for key in sorted((k for k in value if k not in plan.properties), key=str):  # YAML keys: any scalar
                yield from evaluate_plan(plan.additional, value[key], (*path, key))
    elif isinstance(value, list) and plan.items is not None:
        for index, item in enumerate(value):
            yield from evaluate_plan(plan.items, item, (*path, index))


def _bound(value: Any, rules: int) -> Any:
    """`self` for the rules at one node. Converting the value is most of a rule's cost
    (Argo's template rules each see the whole template list), so several rules share one
    Context, which converts it on first use and keeps it."""
    if rules == 1:
        return {"self": value}
    context = _cel_library().Context()
    try:
        context.add_variable("self", value)
    except ValueError:  # a key the CEL library cannot take (`null:`): each rule reports it as its error
        return {"self": value}
    return context


def _run(rule: CelRule, bound: Any, path: tuple[str | int, ...]) -> CelViolation | None:
    where = (*path, *_field_path(rule.field_path))
    if rule.program is None:
        return CelViolation(where, f"rule cannot be evaluated ({rule.compile_error}): {rule.rule}", rule.rule, True)
    try:
        result = rule.program.execute(bound)
    except KeyError as error:  # a field the rule reads is absent: the API server rejects too
        return CelViolation(where, f"{rule.message} (rule error: no such key: {error.args[0]})", rule.rule)
    except (RuntimeError, TypeError, ValueError, ArithmeticError) as error:  # ArithmeticError: x / 0, overflow
        text = _one_line(error)
        if _UNDEFINED in text:
            return CelViolation(where, f"rule cannot be evaluated here ({text}): {rule.rule}", rule.rule, True)
        # The API server rejects an object whose rule errors at runtime.
        return CelViolation(where, f"{rule.message} (rule error: {text})", rule.rule)
    if result is True:
        return None
    if result is False:
        return CelViolation(where, rule.message, rule.rule)
    return CelViolation(where, f"rule did not return a bool ({result!r}): {rule.rule}", rule.rule, True)


def _field_path(text: str) -> tuple[str | int, ...]:
    """`.spec.replicas` / `.items[2]` / `['a.b']` -> path parts (the CRD's fieldPath syntax)."""
    parts: list[str | int] = []
    for match in re.finditer(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']*)'\]", text):
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (name if name is not None else quoted))
    return tuple(parts)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:157] + "..."
