"""The embedded Rego engine: policies compiled once with regopy, evaluated per document.

Every module is upgraded to Rego v1 first (regopy misreads v0), compiled once into a
bundle with one entry point per decision rule, and queried per document through
`query_bundle_entrypoint`. Built-in errors are strict, so an unsupported builtin
(`http.send`, ...) is an error, and any error raises `PolicyError`: a policy that could
not run never reads as a policy that passed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import regopy
import regopy.rego_shared as rs
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from generator.cache import CacheFile
from generator.cache import digest as cache_digest
from generator.policy import PolicyError
from generator.policy.exceptions import EXCEPTION_RULE, RuleException, apply_exceptions
from generator.policy.metadata import Annotation, ModuleMetadata, parse_metadata
from generator.policy.rego_v1 import (
    function_arities,
    package_name,
    rename_function_by_arity,
    rule_definitions,
    rule_names,
    upgrade_to_v1,
)

__all__ = [
    "PolicyModule", "PolicySet", "RuleResult", "DECISION_RULE", "load_modules", "rule_kind",
    "results_from_value", "entrypoint", "rules_by_package", "merge_metadata", "policy_file", "is_decision_rule",
    "input_term", "output_tree_value", "exception_packages", "decision_rule_definitions", "load_data_paths",
]

# conftest's rule-name patterns: deny, deny_foo, violation_bar, warn_baz
DECISION_RULE = re.compile(r"^(deny|violation|warn)(_[a-zA-Z0-9]+)*$")
DATA_FILES = ("data.json", "data.yaml", "data.yml")


def rule_kind(rule: str) -> str:
    match = DECISION_RULE.match(rule)
    if not match:
        raise ValueError(f"{rule} is not a deny/warn/violation rule")
    return match.group(1)


def entrypoint(package: str, rule: str) -> str:
    return f"{package.replace('.', '/')}/{rule}"


@dataclass(frozen=True)
class PolicyModule:
    path: str  # as shown to users (relative where the caller gave a relative path)
    package: str
    source: str  # Rego v1 (upgraded); same line count as the file
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


@lru_cache(maxsize=1)
def _rewriter_digest() -> str:
    """Hash of the code that upgrades modules: a cached upgrade is only ever reused by the
    very code that made it, also between runs of one modelops version under development."""
    here = Path(__file__).resolve().parent
    return cache_digest(*((here / name).read_bytes() for name in ("rego_tokens.py", "rego_v1.py", "regopy_compat.py")))


def _upgraded(original: str, shown: str, upgrades: CacheFile | None) -> tuple[str, str, tuple[str, ...]]:
    """(package, v1 source, rule names) of one module; remembered in `upgrades` by content
    (upgrading the built-in library is about 40 ms of a one-spec check)."""
    key = cache_digest(_rewriter_digest(), original) if upgrades is not None else ""
    hit = upgrades.get(key) if upgrades is not None else None
    if isinstance(hit, dict) and {"package", "source", "rules"} <= hit.keys():
        return hit["package"], hit["source"], tuple(hit["rules"])
    package = package_name(original)
    if not package:
        raise PolicyError(f"{shown}:1:1: no package clause")
    source = upgrade_to_v1(original)
    rules = tuple(rule_names(source))
    if upgrades is not None:
        upgrades.put(key, {"package": package, "source": source, "rules": list(rules)})
    return package, source, rules


def _read_module(path: Path, shown: str, *, is_test: bool, upgrades: CacheFile | None = None) -> PolicyModule:
    try:
        original = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{shown}: cannot read policy: {error}") from error
    package, source, rules = _upgraded(original, shown, upgrades)
    return PolicyModule(path=shown, package=package, source=source, rules=rules,
                        metadata=parse_metadata(original, package, shown), is_test=is_test)


def load_modules(paths: Sequence[str | Path], *, include_tests: bool = False,
                 cache_dir: Path | None = None) -> tuple[list[PolicyModule], dict[str, Any]]:
    """Every .rego module (v1-upgraded) and the merged data documents under `paths`;
    with `cache_dir`, upgrades are remembered there between runs."""
    upgrades = CacheFile.in_directory(Path(cache_dir), "rego-upgrades") if cache_dir is not None else None
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
                    modules.append(_read_module(path, shown, is_test=is_test, upgrades=upgrades))
            elif path.name in DATA_FILES and root.is_dir():
                prefix = path.parent.relative_to(root).parts
                _merge_data(data, prefix, _load_data_file(path), path)
    if not modules:
        raise PolicyError(f"no .rego policies found in {', '.join(str(p) for p in paths)}")
    if upgrades is not None:
        upgrades.save()
    return _split_function_names(modules), data


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


def _split_function_names(modules: list[PolicyModule]) -> list[PolicyModule]:
    """regopy 1.5.2 segfaults compiling two functions of the same name with different
    argument counts (in different packages, e.g. test helpers `wf(x)` and `wf(x, y)`).
    Such functions are renamed `name__<arity>` at definitions and call sites."""
    arities: dict[str, set[int]] = {}
    for module in modules:
        for name, found in function_arities(module.source).items():
            arities.setdefault(name, set()).update(found)
    clashing = sorted(name for name, found in arities.items() if len(found) > 1)
    if not clashing:
        return modules
    renamed = []
    for module in modules:
        source = module.source
        for name in clashing:
            source = rename_function_by_arity(source, name)
        renamed.append(dataclasses.replace(module, source=source, rules=tuple(rule_names(source))))
    return renamed


# -- regopy plumbing ---------------------------------------------------------------------

_LOCATION = re.compile(r"(\d+):([^\s|()]+)\|(\d+)\|(\d+)")
_ERRORMSG = re.compile(r"\(errormsg (\d+):")
_ERRORCODE = re.compile(r"\(rego-errorcode (\d+):")


def _length_prefixed(text: str, match: re.Match[str]) -> str:
    start = match.end()
    return text[start:start + int(match.group(1))]


class _Sources:
    """Module sources by name, to turn regopy byte offsets into line:col."""

    def __init__(self, modules: Sequence[PolicyModule]):
        self._bytes = {m.path: m.source.encode("utf-8") for m in modules}

    def where(self, name: str, offset: int) -> str:
        data = self._bytes.get(name)
        if data is None:
            return name
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        return f"{name}:{line}:{column}"

    def describe(self, sexpr: str) -> str:
        """One line for one regopy `(error ...)` S-expression."""
        messages = [_length_prefixed(sexpr, m) for m in _ERRORMSG.finditer(sexpr)]
        message = messages[0] if messages else sexpr.strip().splitlines()[0]
        codes = [_length_prefixed(sexpr, m) for m in _ERRORCODE.finditer(sexpr)]
        for match in _LOCATION.finditer(sexpr):
            name = match.group(2)
            if len(name) == int(match.group(1)) and name in self._bytes:
                message = f"{self.where(name, int(match.group(3)))}: {message}"
                break
        return f"{message} ({codes[0]})" if codes and codes[0] else message


def _split_errors(text: str) -> list[str]:
    chunks = re.split(r"(?=\(error\b)", text)
    return [c for c in chunks if c.startswith("(error")] or [text]


@dataclass(frozen=True)
class _Outcome:
    defined: bool
    value: Any = None
    error: str = ""


def _bundle_errors(bundle: regopy.Bundle) -> list[str]:
    """The `(error ...)` S-expressions of a bundle that failed to build (regopy prints them
    to standard output and raises nothing)."""
    root = rs.rego_bundle_node(bundle._impl)
    return [rs.rego_node_json(rs.rego_node_get(root, i)) for i in range(rs.rego_node_size(root))] if root else []


def _error_nodes(impl: Any) -> list[str]:
    root = rs.rego_output_node(impl)
    if not root:
        return []
    children = [rs.rego_node_get(root, i) for i in range(rs.rego_node_size(root))]
    return [rs.rego_node_json(child) for child in children] or [rs.rego_node_json(root)]


_ARRAY, _SET, _OBJECT, _INT, _FLOAT, _STRING, _NULL = 1004, 1005, 1006, 1008, 1009, 1010, 1013
_WRAPPERS = {1002, 1003}  # Term, Scalar
_TRUE, _FALSE, _BOOLEAN = 1011, 1012, 1111


def _string_value(text: str) -> str:
    """A string node's text: most strings keep their JSON quotes and escapes in the tree
    (`"yz"`), while built-ins such as `sprintf` store theirs bare."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(decoded, str):
            return decoded
    return text


def _node_value(node: Any) -> Any:
    """A regopy value node as Python data (the fallback when its JSON text is malformed)."""
    kind = int(rs.rego_node_type(node))
    children = [rs.rego_node_get(node, i) for i in range(rs.rego_node_size(node))]
    if kind in _WRAPPERS:
        return _node_value(children[0])
    if kind in {_ARRAY, _SET}:
        return [_node_value(child) for child in children]
    if kind == _OBJECT:
        items = {}
        for item in children:
            key = _node_value(rs.rego_node_get(item, 0))
            items[key if isinstance(key, str) else json.dumps(key)] = _node_value(rs.rego_node_get(item, 1))
        return items
    value = rs.rego_node_value(node)
    if kind == _STRING:
        return _string_value(value)
    if kind == _INT:
        return int(value)
    if kind == _FLOAT:
        return float(value)
    if kind in {_TRUE, _FALSE, _BOOLEAN}:
        return value == "true"
    if kind == _NULL:
        return None
    raise ValueError(f"unexpected regopy node kind {kind}")


def output_tree_value(impl: Any) -> Any:
    """Results > Result > Terms > value, read from the node tree."""
    results = rs.rego_output_node(impl)
    result = rs.rego_node_get(results, 0)
    terms = rs.rego_node_get(result, 0)
    return _node_value(rs.rego_node_get(terms, 0))


def _query(interpreter: regopy.Interpreter, bundle: regopy.Bundle, point: str, sources: _Sources) -> _Outcome:
    impl = rs.rego_bundle_query_entrypoint(interpreter._impl, bundle._impl, point)
    try:
        ok = rs.rego_output_ok(impl)
        text = rs.rego_output_string(impl)
        if not ok:
            details = [sources.describe(s) for s in _error_nodes(impl)] or [text]
            return _Outcome(False, error="; ".join(details))
        if text.startswith("(error"):  # unknown functions come back "ok" with an error tree
            return _Outcome(False, error="; ".join(sources.describe(s) for s in _split_errors(text)))
        if text.strip() == "undefined":
            return _Outcome(False)
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            # regopy 1.5.2 can print strings unescaped (sprintf over concat output): walk the tree
            return _Outcome(True, output_tree_value(impl))
    finally:
        rs.rego_free_output(impl)
    results = parsed if isinstance(parsed, list) else [parsed]
    expressions = results[0].get("expressions", []) if results else []
    return _Outcome(True, expressions[0]) if expressions else _Outcome(False)


BUNDLE_PREFIX = "policies-"


def _save_bundle(bundle: regopy.Bundle, cache_dir: Path, path: Path, checksum: Path) -> None:
    """Write the bundle and its checksum atomically; drop bundles of earlier sources."""
    temp: str | None = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".rbb")
        os.close(fd)
        _new_interpreter().save_bundle(temp, bundle, regopy.BundleFormat.Binary)
        digest_text = hashlib.sha256(Path(temp).read_bytes()).hexdigest()
        os.replace(temp, path)
        temp = None
        fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".sha256")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(digest_text + "\n")
        os.replace(temp, checksum)
        temp = None
        for stale in cache_dir.glob(f"{BUNDLE_PREFIX}*"):
            if stale not in (path, checksum):
                stale.unlink(missing_ok=True)
    except (rs.RegoError, OSError):
        if temp is not None:  # a read-only checkout still checks; it only loses the speed-up
            Path(temp).unlink(missing_ok=True)


def _regopy_version() -> str:
    try:
        return importlib.metadata.version("regopy")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - an unusual install
        return "unknown"


AGGREGATE_PACKAGE = "modelops_internal_aggregate"
AGGREGATE_POINT = f"{AGGREGATE_PACKAGE}/results"


def _aggregate_module(rules: Mapping[str, Sequence[str]], exception_packages: Sequence[str] = ()) -> str:
    """A generated module whose `results` holds every decision rule that is defined, and
    the `exception` rule of the packages that have one.

    One partial-object entry per rule, so an undefined rule leaves its key out instead of
    making the whole object undefined.
    """
    lines = [f"package {AGGREGATE_PACKAGE}", "", "import rego.v1", ""]
    for namespace in sorted(rules):
        for rule in [*rules[namespace], *([EXCEPTION_RULE] if namespace in exception_packages else [])]:
            lines.append(f'results["{namespace}/{rule}"] := value if value := data.{namespace}.{rule}')
    return "\n".join(lines) + "\n" if len(lines) > 4 else ""


def _aggregate_query(interpreter: regopy.Interpreter, bundle: regopy.Bundle) -> dict[str, Any] | None:
    """Every defined decision rule's value, or None when the per-rule path must decide:
    on any error (its message should name the rule) and when regopy printed text that is
    not JSON (its unescaped-string quirk), which only the per-rule path reads correctly."""
    impl = rs.rego_bundle_query_entrypoint(interpreter._impl, bundle._impl, AGGREGATE_POINT)
    try:
        if not rs.rego_output_ok(impl):
            return None
        text = rs.rego_output_string(impl)
    finally:
        rs.rego_free_output(impl)
    if text.startswith("(error") or text.strip() == "undefined":
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    results = parsed if isinstance(parsed, list) else [parsed]
    expressions = results[0].get("expressions", []) if results and isinstance(results[0], dict) else []
    return expressions[0] if expressions and isinstance(expressions[0], dict) else None


def _new_interpreter() -> regopy.Interpreter:
    interpreter = regopy.Interpreter()
    interpreter.log_level = regopy.LogLevel.NONE  # compile errors are reported by us, not printed
    interpreter.strict_built_in_errors = True
    return interpreter


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)  # YAML timestamps and the like, as conftest passes them: text


def input_term(document: Any) -> str:
    return json.dumps(document, default=_json_default, ensure_ascii=False)


# -- results -----------------------------------------------------------------------------

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
    if value is None or value is False:
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

class PolicySet:
    """Policies compiled once; `evaluate` is cheap per document and safe to call from threads.

    `rule_filter` picks which rules get an entry point (deny/warn/violation by default; the
    test runner passes `test_*`).
    """

    def __init__(self, modules: Sequence[PolicyModule], data: Mapping[str, Any] | None = None, *,
                 rule_filter: Callable[[str], bool] = is_decision_rule, cache_dir: Path | None = None):
        self.modules = tuple(modules)
        self.data = dict(data or {})
        self._sources = _Sources(self.modules)
        self.rules = rules_by_package(self.modules, rule_filter)
        self.exception_packages = exception_packages(self.modules, self.rules)
        self._metadata = merge_metadata(self.modules)
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._bundle = self._cached_compile(Path(cache_dir)) if cache_dir is not None else self._compile()
        self._copy_lock = threading.Lock()
        self._copy_dir: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def load(cls, paths: Sequence[str | Path], *, include_tests: bool = False, **kwargs: Any) -> PolicySet:
        modules, data = load_modules(paths, include_tests=include_tests, cache_dir=kwargs.get("cache_dir"))
        return cls(modules, data, **kwargs)

    @property
    def namespaces(self) -> list[str]:
        return sorted(self.rules)

    def _compile(self) -> regopy.Bundle:
        builder = _new_interpreter()
        points = [entrypoint(pkg, rule) for pkg, rules in sorted(self.rules.items()) for rule in rules]
        points += [entrypoint(pkg, EXCEPTION_RULE) for pkg in self.exception_packages]
        aggregate = _aggregate_module(self.rules, self.exception_packages)
        if aggregate:
            points.append(AGGREGATE_POINT)
        try:
            for module in self.modules:
                builder.add_module(module.path, module.source)
            if aggregate:
                builder.add_module("<modelops aggregate>", aggregate)
            if self.data:
                builder.add_data_json(input_term(self.data))
            # a query as well, so a set without decision rules is still compiled and checked
            bundle = builder.build("true", points)
        except rs.RegoError as error:
            raise PolicyError(self._compile_message(str(error))) from error
        if not bundle.ok():
            errors = "".join(_bundle_errors(bundle))
            raise PolicyError(self._compile_message(errors) if errors else
                              "policies failed to compile (regopy gave no details)")
        return bundle

    def _cached_compile(self, cache_dir: Path) -> regopy.Bundle:
        """The compiled bundle, kept in binary form under `cache_dir` between runs.

        Compiling is most of what a one-spec check spends on policies (about 0.1 s for the
        built-in library; loading the saved bundle takes 2 ms). The file name hashes every
        module, the data and the regopy version, so a bundle is only ever read for exactly
        the sources it was built from. A sidecar holds the SHA-256 of the bundle's bytes and
        a file that does not match it is rebuilt, never handed to regopy, which prints its
        complaint about a damaged bundle to standard output, where reports go.
        """
        key = cache_digest(_regopy_version(), json.dumps(sorted(self.rules.items())), input_term(self.data),
                           *(part for m in self.modules for part in (m.path, m.source)))
        path = cache_dir / f"{BUNDLE_PREFIX}{key[:32]}.rbb"
        checksum = path.with_suffix(".sha256")
        try:
            intact = hashlib.sha256(path.read_bytes()).hexdigest() == checksum.read_text().strip()
        except OSError:
            intact = False
        if intact:
            try:
                bundle = self._interpreter().load_bundle(str(path), regopy.BundleFormat.Binary)
                if bundle.ok():
                    return bundle
            except rs.RegoError:
                pass  # rebuilt below
        bundle = self._compile()
        _save_bundle(bundle, cache_dir, path, checksum)
        return bundle

    def _compile_message(self, text: str) -> str:
        problems = sorted({self._sources.describe(chunk) for chunk in _split_errors(text)})
        return "policies failed to compile:\n" + "\n".join(f"  {p}" for p in problems)

    def _interpreter(self) -> regopy.Interpreter:
        # regopy interpreters are not thread-safe: one per thread
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            interpreter = self._local.interpreter = _new_interpreter()
        return interpreter

    def _thread_bundle(self) -> regopy.Bundle:
        """The compiled bundle for this thread.

        Threads sharing one bundle run slower than one thread (measured 0.88x with two:
        contention inside rego-cpp), while a private copy per thread gave 1.33x. Copies are
        loaded from the bundle saved once in binary form: compiled once, never recompiled.
        """
        if threading.get_ident() == self._owner:
            return self._bundle
        bundle = getattr(self._local, "bundle", None)
        if bundle is None:
            with self._copy_lock:
                self._save_copy()
            bundle = self._interpreter().load_bundle(self._bundle_path(), regopy.BundleFormat.Binary)
            self._local.bundle = bundle
        return bundle

    def _save_copy(self) -> None:
        """Save the bundle for other threads' copies, once. Call it before those threads
        start: saving while another thread queries the same bundle crashes rego-cpp (a
        segfault inside `save_bundle`, seen in about half of the runs that did so)."""
        if self._copy_dir is None:
            self._copy_dir = tempfile.TemporaryDirectory(prefix="modelops-rego-")
            _new_interpreter().save_bundle(self._bundle_path(), self._bundle, regopy.BundleFormat.Binary)

    def _bundle_path(self) -> str:
        assert self._copy_dir is not None
        return str(Path(self._copy_dir.name) / "policies.rbb")

    def policy_file(self, namespace: str, rule: str) -> str:
        return policy_file(self.modules, namespace, rule)

    def query(self, namespace: str, rule: str, document: Any = None, *, fresh: bool = False) -> tuple[bool, Any]:
        """(defined, value) of `data.<namespace>.<rule>`; errors raise PolicyError."""
        interpreter = _new_interpreter() if fresh else self._interpreter()
        if document is not None:
            interpreter.set_input_term(input_term(document))
        bundle = self._bundle if fresh else self._thread_bundle()
        outcome = _query(interpreter, bundle, entrypoint(namespace, rule), self._sources)
        if outcome.error:
            raise PolicyError(f"data.{namespace}.{rule}: {outcome.error}")
        return outcome.defined, outcome.value

    def evaluate(self, document: Any, namespaces: Sequence[str] | None = None) -> list[RuleResult]:
        """Results of every decision rule in `namespaces` (all packages when None), less
        those an `exception` rule exempts (conftest's exceptions)."""
        return self.evaluate_detailed(document, namespaces)[0]

    def evaluate_detailed(self, document: Any,
                          namespaces: Sequence[str] | None = None) -> tuple[list[RuleResult], list[RuleException]]:
        """`evaluate`, plus the exceptions that exempted rules (for conftest's report)."""
        wanted = self.namespaces if namespaces is None else [ns for ns in namespaces if ns in self.rules]
        interpreter, bundle = self._interpreter(), self._thread_bundle()
        interpreter.set_input_term(input_term(document))
        if namespaces is None and self.rules:
            # One query for every rule (about 2x faster in rego-cpp than one per rule); on
            # any error, fall through to per-rule queries, whose message names the rule.
            values = _aggregate_query(interpreter, bundle)
            if values is not None:
                return self._aggregate_results(values)
        results: list[RuleResult] = []
        excepting: dict[str, Any] = {}
        for namespace in wanted:
            rules = [*self.rules[namespace], *([EXCEPTION_RULE] if namespace in self.exception_packages else [])]
            for rule in rules:
                outcome = _query(interpreter, bundle, entrypoint(namespace, rule), self._sources)
                if outcome.error:
                    raise PolicyError(f"data.{namespace}.{rule}: {outcome.error}")
                if outcome.defined and rule == EXCEPTION_RULE:
                    excepting[namespace] = outcome.value
                elif outcome.defined:
                    results.extend(results_from_value(namespace, rule, outcome.value,
                                                      metadata=self._metadata.get(namespace),
                                                      policy_file=self.policy_file(namespace, rule)))
        return apply_exceptions(results, self.rules, excepting)

    def _aggregate_results(self, values: Any) -> tuple[list[RuleResult], list[RuleException]]:
        results: list[RuleResult] = []
        values = values if isinstance(values, dict) else {}
        for namespace in self.namespaces:
            for rule in self.rules[namespace]:
                key = f"{namespace}/{rule}"
                if key in values:
                    results.extend(results_from_value(namespace, rule, values[key],
                                                      metadata=self._metadata.get(namespace),
                                                      policy_file=self.policy_file(namespace, rule)))
        excepting = {ns: values[f"{ns}/{EXCEPTION_RULE}"] for ns in self.exception_packages
                     if f"{ns}/{EXCEPTION_RULE}" in values}
        return apply_exceptions(results, self.rules, excepting)

    def evaluate_many(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                      workers: int = 2) -> list[list[RuleResult]]:
        """`evaluate` for each document, in order, on `workers` threads (one interpreter each)."""
        return [results for results, _ in self.evaluate_many_detailed(documents, namespaces, workers=workers)]

    def evaluate_many_detailed(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                               workers: int = 2) -> list[tuple[list[RuleResult], list[RuleException]]]:
        """`evaluate_detailed` for each document, in order, on `workers` threads."""
        documents = list(documents)
        if workers <= 1 or len(documents) < 2:
            return [self.evaluate_detailed(doc, namespaces) for doc in documents]
        size = -(-len(documents) // workers)
        chunks = [documents[i:i + size] for i in range(0, len(documents), size)]

        def run(chunk: list[Any]) -> list[tuple[list[RuleResult], list[RuleException]]]:
            return [self.evaluate_detailed(doc, namespaces) for doc in chunk]

        # the calling thread takes the first chunk with the original bundle; helpers load copies
        with self._copy_lock:
            self._save_copy()
        with ThreadPoolExecutor(max_workers=len(chunks) - 1) as pool:
            futures = [pool.submit(run, chunk) for chunk in chunks[1:]]
            parts = [run(chunks[0])] + [future.result() for future in futures]
        return [result for part in parts for result in part]
