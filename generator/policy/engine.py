"""Policies as data: loading, decision rules, results and exceptions, on any engine.

Modules are loaded exactly as written (the engine decides how to read Rego v0 and v1;
see `generator.policy.engines`). Every decision rule is answered by one aggregate query
per document. Built-in errors are strict and any error raises `PolicyError`: a policy
that could not run never reads as a policy that passed.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from generator.policy import PolicyError
from generator.policy.engines import DEFAULT_ENGINE, Engine, create_engine
from generator.policy.engines.base import NO_INPUT, plain_input
from generator.policy.exceptions import EXCEPTION_RULE, RuleException, apply_exceptions
from generator.policy.metadata import Annotation, ModuleMetadata, parse_metadata
from generator.policy.network import refuse_network_builtins, refuse_unlisted_builtins
from generator.policy.rego_tokens import package_name, rule_definitions, rule_names

__all__ = [
    "PolicyModule", "PolicySet", "RuleResult", "DECISION_RULE", "load_modules", "rule_kind",
    "results_from_value", "rules_by_package", "merge_metadata", "policy_file", "is_decision_rule",
    "plain_input", "exception_packages", "decision_rule_definitions", "load_data_paths",
    "NO_INPUT",
]

# conftest's rule-name patterns: deny, deny_foo, violation_bar, warn_baz
DECISION_RULE = re.compile(r"^(deny|violation|warn)(_[a-zA-Z0-9]+)*$")
DATA_FILES = ("data.json", "data.yaml", "data.yml")


def rule_kind(rule: str) -> str:
    match = DECISION_RULE.match(rule)
    if not match:
        raise ValueError(f"{rule} is not a deny/warn/violation rule")
    return match.group(1)



@dataclass(frozen=True)
class PolicyModule:
    path: str  # as shown to users (relative where the caller gave a relative path)
    package: str
    source: str  # as written (v0 or v1)
    rules: tuple[str, ...]
    metadata: ModuleMetadata
    is_test: bool = False


@dataclass(frozen=True)
class RuleResult:
    """One message from one deny/warn/violation rule for one input document."""

    namespace: str  # the Rego package
    rule: str  # the rule name (deny, deny_foo, violation, warn_x)
    kind: str  # deny | warn | violation
    msg: str
    raw: Any = field(default=None, compare=False, hash=False)  # the string or object produced
    id: str = ""
    title: str = ""
    severity: str = ""
    remediation: str = ""
    description: str = ""
    policy_file: str = ""

    @property
    def package(self) -> str:
        return self.namespace

    @property
    def failure(self) -> bool:
        """deny and violation fail; warn only warns."""
        return self.kind != "warn"

    @property
    def details(self) -> dict[str, Any]:
        """The object's keys other than `msg` (conftest's metadata)."""
        return {k: v for k, v in self.raw.items() if k != "msg"} if isinstance(self.raw, dict) else {}


# -- loading ---------------------------------------------------------------------------

def _yaml_load(path: Path) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as error:
        raise PolicyError(f"{path}: invalid YAML data document: {str(error).splitlines()[0]}") from error


def _load_data_file(path: Path) -> Any:
    if path.suffix == ".json":
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            where = f"{path}:{error.lineno}:{error.colno}"
            raise PolicyError(f"{where}: invalid JSON data document: {error.msg}") from error
    return _yaml_load(path)


def _merge_data(target: dict[str, Any], prefix: Sequence[str], value: Any, origin: Path) -> None:
    """Place `value` at `prefix` (OPA bundle layout: the directory is the data path)."""
    if value is None:  # an empty data file
        return
    node = target
    for part in prefix:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PolicyError(f"{origin}: data path {'.'.join(prefix)} conflicts with another data document")
    if not isinstance(value, dict):
        raise PolicyError(f"{origin}: a data document must be a mapping at the top level")
    for key, item in value.items():
        if key in node and isinstance(node[key], dict) and isinstance(item, dict):
            _merge_data(node, [key], item, origin)
        elif key in node:
            raise PolicyError(f"{origin}: data key {'.'.join([*prefix, key])} is defined twice")
        else:
            node[key] = item


def _policy_files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _read_module(path: Path, shown: str, *, is_test: bool) -> PolicyModule:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{shown}: cannot read policy: {error}") from error
    package = package_name(source)
    if not package:
        raise PolicyError(f"{shown}:1:1: no package clause")
    return PolicyModule(path=shown, package=package, source=source, rules=tuple(rule_names(source)),
                        metadata=parse_metadata(source, package, shown), is_test=is_test)


def load_modules(paths: Sequence[str | Path], *,
                 include_tests: bool = False) -> tuple[list[PolicyModule], dict[str, Any]]:
    """Every .rego module, as written, and the merged data documents under `paths`."""
    modules: list[PolicyModule] = []
    data: dict[str, Any] = {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise PolicyError(f"{given}: no such policy file or directory")
        for path in _policy_files(root):
            shown = str(path) if root.is_file() else str(Path(given) / path.relative_to(root))
            if path.suffix == ".rego":
                is_test = path.name.endswith("_test.rego")
                if include_tests or not is_test:
                    modules.append(_read_module(path, shown, is_test=is_test))
            elif path.name in DATA_FILES and root.is_dir():
                prefix = path.parent.relative_to(root).parts
                _merge_data(data, prefix, _load_data_file(path), path)
    if not modules:
        raise PolicyError(f"no .rego policies found in {', '.join(str(p) for p in paths)}")
    return modules, data


def load_data_paths(paths: Sequence[str | Path], into: dict[str, Any] | None = None) -> dict[str, Any]:
    """conftest's `--data`: every .yaml/.yml/.json file under `paths`, whatever its name,
    merged at the root of `data` (a key defined twice is an error, as in OPA's loader)."""
    data = into if into is not None else {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise PolicyError(f"{given}: no such data file or directory")
        files = [root] if root.is_file() else [p for p in _policy_files(root) if p.suffix in (".yaml", ".yml", ".json")]
        for path in files:
            _merge_data(data, (), _load_data_file(path), path)
    return data



def _annotation_value(rule_note: Annotation | None, package_note: Annotation | None, name: str) -> str:
    for note in (rule_note, package_note):
        if note is not None and getattr(note, name):
            return str(getattr(note, name))
    return ""


def results_from_value(namespace: str, rule: str, value: Any, *, metadata: ModuleMetadata | None = None,
                       policy_file: str = "") -> list[RuleResult]:
    """Turn a rule's value into results: strings, objects with `msg`, or `true`."""
    kind = rule_kind(rule)
    where = f"data.{namespace}.{rule}"
    if value is None or value is False or value == []:
        return []
    if value is True:
        items: list[Any] = [f"{where} is true"]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        raise PolicyError(f"{where} produced an object, not a set of messages; write "
                          f"`{rule} contains msg if {{ ... }}` (a Rego v0 rule not upgraded?)")
    else:
        items = [value]
    rule_note = metadata.for_rule(rule) if metadata else None
    package_note = metadata.package_annotation if metadata else None
    common = {name: _annotation_value(rule_note, package_note, name)
              for name in ("title", "severity", "remediation", "description")}
    rule_id = _annotation_value(rule_note, package_note, "id") or namespace
    results = []
    for item in items:
        if isinstance(item, dict):
            msg = item.get("msg")
            if not isinstance(msg, str):
                raise PolicyError(f"{where} produced an object without a string `msg` field: {json.dumps(item)[:200]}")
        else:
            msg = item if isinstance(item, str) else json.dumps(item)
        raw = True if value is True else item  # conftest counts a bare `deny = true` as a pass
        results.append(RuleResult(namespace=namespace, rule=rule, kind=kind, msg=msg, raw=raw, id=rule_id,
                                  policy_file=policy_file, **common))
    return results


def rules_by_package(modules: Sequence[PolicyModule], rule_filter: Callable[[str], bool]) -> dict[str, tuple[str, ...]]:
    """Package -> names of its rules that pass `rule_filter`, in source order."""
    rules: dict[str, tuple[str, ...]] = {}
    for module in modules:
        known = rules.get(module.package, ())
        rules[module.package] = known + tuple(r for r in module.rules if rule_filter(r) and r not in known)
    return rules


def merge_metadata(modules: Sequence[PolicyModule]) -> dict[str, ModuleMetadata]:
    """One ModuleMetadata per package: the first package annotation, every rule annotation."""
    merged: dict[str, ModuleMetadata] = {}
    for module in modules:
        old = merged.get(module.package, ModuleMetadata(package=module.package))
        merged[module.package] = ModuleMetadata(
            package=module.package,
            package_annotation=old.package_annotation or module.metadata.package_annotation,
            rule_annotations=old.rule_annotations + module.metadata.rule_annotations)
    return merged


def policy_file(modules: Sequence[PolicyModule], namespace: str, rule: str) -> str:
    return next((m.path for m in modules if m.package == namespace and rule in m.rules), "")


def is_decision_rule(name: str) -> bool:
    return bool(DECISION_RULE.match(name))


def exception_packages(modules: Sequence[PolicyModule], rules: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Packages with decision rules that also define conftest's `exception` rule."""
    return tuple(sorted({m.package for m in modules if EXCEPTION_RULE in m.rules and rules.get(m.package)}))


def decision_rule_definitions(modules: Sequence[PolicyModule], namespace: str) -> int:
    """How many deny/warn/violation rule bodies `namespace` defines (conftest counts one
    test per body, so two `deny` bodies are two tests)."""
    return sum(count for m in modules if m.package == namespace and not m.is_test
               for name, count in rule_definitions(m.source).items() if is_decision_rule(name))


# -- the policy set ---------------------------------------------------------------------------

def _extra_builtins(engine_options: Mapping[str, Any] | None) -> list[str]:
    return list((engine_options or {}).get("builtins") or ())


class PolicySet:
    """Policies loaded once into one engine; `evaluate` is cheap per document.

    Which engine runs them is a name (`regorus`, `opa`, `opa-server`); everything here is
    engine-neutral, so the same policies give the same results on each. `rule_filter`
    picks the rules that are evaluated (deny/warn/violation by default; the test runner
    passes `test_*`). Policies that call network built-ins are refused before anything
    is evaluated unless `allow_network` is set.
    """

    def __init__(self, modules: Sequence[PolicyModule], data: Mapping[str, Any] | None = None, *,
                 engine: str = DEFAULT_ENGINE, rule_filter: Callable[[str], bool] = is_decision_rule,
                 allow_network: bool = False, engine_options: Mapping[str, Any] | None = None,
                 capabilities: set[str] | None = None):
        self.modules = tuple(modules)
        self.data = dict(data or {})
        if capabilities is not None:
            refuse_unlisted_builtins(self.modules, capabilities | set(_extra_builtins(engine_options)))
        if not allow_network:
            refuse_network_builtins(self.modules, allowed=capabilities or ())
        self.rules = rules_by_package(self.modules, rule_filter)
        self.exception_packages = exception_packages(self.modules, self.rules)
        self._metadata = merge_metadata(self.modules)
        self._files: dict[tuple[str, str], str] = {}
        self._entries_by_kind: dict[str | None, list[tuple[str, str]]] = {}
        self.engine_name = engine
        self.skip_by_kind = True  # METADATA custom.kinds; off only to prove it changes nothing
        self._engine_options = dict(engine_options or {})
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._engine = self._new_engine()
        self.engine_label = f"{engine} {self._engine.version()}"

    @classmethod
    def load(cls, paths: Sequence[str | Path], *, include_tests: bool = False, **kwargs: Any) -> PolicySet:
        modules, data = load_modules(paths, include_tests=include_tests)
        return cls(modules, data, **kwargs)

    @property
    def namespaces(self) -> list[str]:
        return sorted(self.rules)

    def _entries(self, kind: Any = None) -> list[tuple[str, str]]:
        """(package, rule) of every rule to evaluate for an input of `kind`: a package whose
        METADATA lists `custom.kinds` is skipped for other kinds (None: every package)."""
        key = kind if isinstance(kind, str) else None
        if key not in self._entries_by_kind:
            self._entries_by_kind[key] = [
                (namespace, rule) for namespace in self.namespaces if self._applies(namespace, key)
                for rule in (*self.rules[namespace], *self._exception_rule(namespace))]
        return self._entries_by_kind[key]

    def _applies(self, namespace: str, kind: str | None) -> bool:
        note = self._metadata[namespace].package_annotation if namespace in self._metadata else None
        return kind is None or note is None or note.kinds is None or kind in note.kinds

    def _exception_rule(self, namespace: str) -> tuple[str, ...]:
        return (EXCEPTION_RULE,) if namespace in self.exception_packages else ()

    def _new_engine(self) -> Engine:
        engine = create_engine(self.engine_name, **self._engine_options)
        engine.load(self.modules, self.data)
        return engine

    def engine(self) -> Engine:
        """This thread's engine: engines are bound to the thread that loaded them."""
        if threading.get_ident() == self._owner:
            return self._engine
        engine: Engine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self._new_engine()
        return engine

    def policy_file(self, namespace: str, rule: str) -> str:
        key = (namespace, rule)
        if key not in self._files:
            self._files[key] = policy_file(self.modules, namespace, rule)
        return self._files[key]

    def query(self, namespace: str, rule: str, document: Any = NO_INPUT) -> tuple[bool, Any]:
        """(defined, value) of `data.<namespace>.<rule>`; errors raise PolicyError."""
        try:
            outcome = self.engine().evaluate(f"{namespace}.{rule}", document)
        except PolicyError as error:
            raise PolicyError(f"data.{namespace}.{rule}: {error}") from error
        return outcome.defined, outcome.value

    def aggregate(self, document: Any = NO_INPUT) -> dict[str, Any]:
        """Every selected rule's value by `package/rule` (undefined rules left out), the
        engine's fastest way; any error raises PolicyError."""
        return self._values(document)

    def _values(self, given: Any) -> dict[str, Any]:
        entries = self._entries(given.get("kind") if isinstance(given, dict) and self.skip_by_kind else None)
        if not entries:
            return {}
        outcomes = self.engine().evaluate_rules([f"{ns}.{rule}" for ns, rule in entries], given)
        return {f"{ns}/{rule}": outcome.value for ns, rule in entries
                if (outcome := outcomes[f"{ns}.{rule}"]).defined}

    def take_prints(self) -> list[str]:
        """`print()` output of the evaluations so far (conftest shows it)."""
        return self.engine().take_prints()

    def evaluate(self, document: Any, namespaces: Sequence[str] | None = None) -> list[RuleResult]:
        """Results of every decision rule in `namespaces` (all packages when None), less
        those an `exception` rule exempts (conftest's exceptions)."""
        return self.evaluate_detailed(document, namespaces)[0]

    def evaluate_detailed(self, document: Any,
                          namespaces: Sequence[str] | None = None) -> tuple[list[RuleResult], list[RuleException]]:
        """`evaluate`, plus the exceptions that exempted rules (for conftest's report)."""
        wanted = self.namespaces if namespaces is None else [ns for ns in namespaces if ns in self.rules]
        try:
            values = self._values(document)  # the engine's fastest way to answer every rule
        except PolicyError:
            values = self._rule_by_rule(document, wanted)  # its error names the rule
        return self._results(values, wanted)

    def _rule_by_rule(self, document: Any, wanted: Sequence[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for namespace in wanted:
            for rule in (*self.rules[namespace], *self._exception_rule(namespace)):
                defined, value = self.query(namespace, rule, document)
                if defined:
                    values[f"{namespace}/{rule}"] = value
        return values

    def _results(self, values: Mapping[str, Any], wanted: Sequence[str]) -> tuple[list[RuleResult], list[RuleException]]:
        results: list[RuleResult] = []
        for namespace in wanted:
            for rule in self.rules[namespace]:
                key = f"{namespace}/{rule}"
                if key in values:
                    results.extend(results_from_value(namespace, rule, values[key],
                                                      metadata=self._metadata.get(namespace),
                                                      policy_file=self.policy_file(namespace, rule)))
        excepting = {ns: values[f"{ns}/{EXCEPTION_RULE}"] for ns in wanted
                     if ns in self.exception_packages and f"{ns}/{EXCEPTION_RULE}" in values}
        return apply_exceptions(results, self.rules, excepting)

    def evaluate_many(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                      workers: int = 1) -> list[list[RuleResult]]:
        """`evaluate` for each document, in order."""
        return [results for results, _ in self.evaluate_many_detailed(documents, namespaces, workers=workers)]

    def evaluate_many_detailed(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                               workers: int = 1) -> list[tuple[list[RuleResult], list[RuleException]]]:
        """`evaluate_detailed` for each document, in order. On one thread: regorus holds
        the GIL while it evaluates, so threads only add contention (`check` scales over
        processes instead); `workers` is kept for the callers' interface."""
        del workers
        return [self.evaluate_detailed(document, namespaces) for document in documents]
