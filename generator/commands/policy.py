"""`modelops policy`: test (opa test), eval (conftest test), verify (gator suites, optional).

Exit codes: `test` 0 all pass, 1 any failure or error, 2 policies fail to load.
`eval` follows conftest: 0 no failures, 1 failures; with --fail-on-warn 1 for warnings
only and 2 for failures (conftest's own codes); --no-fail 0 whatever the results. Errors
(unreadable input, policies that do not compile or fail to evaluate) exit 2 and never
pass, --no-fail included, where conftest exits 1.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode

from generator.errors import ModelopsError
from generator.policy.engine import (PolicyModule, PolicySet, RuleResult, decision_rule_definitions,
                                     is_decision_rule, load_data_paths, load_modules)
from generator.policy.exceptions import RuleException
from generator.policy.rego_tokens import tokenize

__all__ = ["configure", "run", "CheckResult", "load_documents", "check", "exit_code"]

GATEKEEPER = "generator.policy.gatekeeper"
OUTPUTS = ("stdout", "json", "tap", "github")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)
    test = sub.add_parser("test", help="run every test_* rule (like opa test)")
    test.add_argument("paths", nargs="*", metavar="DIR", help="policy directories (default: policies/)")
    test.set_defaults(_policy_run=run_test)

    ev = sub.add_parser("eval", help="evaluate files against policies (like conftest test)")
    ev.add_argument("files", nargs="+", metavar="FILE", help="YAML or JSON files; - reads stdin")
    ev.add_argument("-p", "--policy", action="append", metavar="DIR",
                    help="policy directory or file (repeatable; default: policies/)")
    ev.add_argument("-d", "--data", action="append", metavar="PATH", default=[],
                    help="data files or directories (every .yaml/.yml/.json, merged at the root of data, "
                         "as conftest --data)")
    ev.add_argument("-n", "--namespace", action="append", metavar="NS",
                    help="package to evaluate (repeatable or comma-separated; default: main)")
    ev.add_argument("--all-namespaces", action="store_true", help="evaluate every package")
    ev.add_argument("--fail-on-warn", action="store_true", help="exit 1 on warnings (and 2 on failures)")
    ev.add_argument("--no-fail", action="store_true", help="exit 0 even if a policy fails (errors still exit 2)")
    ev.add_argument("--combine", action="store_true", help="evaluate all documents together as one input")
    ev.add_argument("-o", "--output", choices=OUTPUTS, default="stdout",
                    help="stdout, json, tap or github, as conftest writes them")
    ev.add_argument("--suppress-exceptions", action="store_true", help="leave EXCP lines out (still counted)")
    ev.add_argument("--no-color", action="store_true", help="accepted for conftest; output is never colored")
    ev.add_argument("--ignore", metavar="REGEX", help="skip files found in directories whose path matches")
    ev.add_argument("--parser", choices=("yaml", "json"), help="parse every file as YAML or JSON")
    ev.add_argument("--workers", type=int, default=2, help="evaluation threads (default: 2)")
    ev.add_argument("--opa", metavar="URL", help="evaluate on this OPA server (http://host:port) instead of in-process")
    ev.set_defaults(_policy_run=run_eval)

    # `verify` belongs to generator.policy.gatekeeper, which may not be installed yet
    if importlib.util.find_spec(GATEKEEPER) is not None:
        importlib.import_module(GATEKEEPER).add_verify_command(sub)


def run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] | None = (
        getattr(args, "_policy_run", None) or getattr(args, "func", None))
    if handler is None:
        raise ModelopsError(f"policy {args.policy_command}: no handler registered")
    return int(handler(args))


def _default_policies(args: argparse.Namespace) -> list[str]:
    return [str(Path(args.repo_root) / "policies")]


# -- policy test ----------------------------------------------------------------------------

def run_test(args: argparse.Namespace) -> int:
    from generator.policy.rego_test import run_tests

    report = run_tests(args.paths or _default_policies(args))
    for case in report.cases:
        if case.status != "pass":
            label = "FAIL" if case.status == "fail" else "ERROR"
            print(f"{label}: {case.file}: data.{case.package}.{case.name}: {case.message}")
    print(report.summary())
    return 0 if report.ok else 1


# -- policy eval (conftest test) ---------------------------------------------------------------

@dataclass
class CheckResult:
    """conftest's per file and namespace result."""

    filename: str
    namespace: str
    successes: int = 0
    warnings: list[RuleResult] = field(default_factory=list)
    failures: list[RuleResult] = field(default_factory=list)
    exceptions: list[RuleException] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.successes + len(self.warnings) + len(self.failures) + len(self.exceptions)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"filename": "" if self.filename == "-" else self.filename,
                                "namespace": self.namespace, "successes": self.successes}
        for key, items in (("warnings", self.warnings), ("failures", self.failures)):
            if items:
                data[key] = [{"msg": r.msg, "metadata": _sorted_keys({**r.details, "query": _query(r)})}
                             for r in items]
        if self.exceptions:
            data["exceptions"] = [{"msg": e.msg} for e in self.exceptions]
        return data


def _query(result: RuleResult) -> str:
    """The query conftest adds to every result's metadata (`data.main.deny`)."""
    return f"data.{result.namespace}.{result.rule}"


def _sorted_keys(value: Any) -> Any:
    """Objects with sorted keys, as Go's encoding/json writes maps."""
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def render_json(results: Sequence[CheckResult]) -> str:
    """conftest's `-o json`: tab-indented, UTF-8, and `<`, `>`, `&` escaped as Go escapes them."""
    text = json.dumps([r.to_json() for r in results], indent="\t", ensure_ascii=False, default=str)
    return re.sub("[<>&\u2028\u2029]", lambda m: _GO_ESCAPES[m.group()], text)


class _UntaggedConstructor(SafeConstructor):
    """Local tags (`!Ref`, `!GetAtt`, `!Sub` in CloudFormation) read as their plain value,
    as conftest's YAML parser (go-yaml) reads them: a tagged scalar is its string."""


def _untagged(constructor: SafeConstructor, _suffix: str, node: Any) -> Any:
    if isinstance(node, MappingNode):
        return constructor.construct_mapping(node, deep=True)
    if isinstance(node, SequenceNode):
        return constructor.construct_sequence(node, deep=True)
    return constructor.construct_scalar(node)


_UntaggedConstructor.add_multi_constructor("!", _untagged)


def _yaml() -> YAML:
    loader = YAML(typ="safe", pure=True)
    loader.Constructor = _UntaggedConstructor
    return loader


def _parse_yaml(text: str, name: str) -> list[Any]:
    """Every document of the stream, as conftest's YAML decoder reads them: an empty
    document (`---` with nothing after it) is a null document, checked like any other."""
    try:
        return list(_yaml().load_all(text))
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise ModelopsError(f"{where}: invalid YAML: {getattr(error, 'problem', None) or error}") from error


def _parse_text(text: str, name: str, *, as_json: bool) -> list[Any]:
    if not as_json:
        return _parse_yaml(text, name)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as error:
        raise ModelopsError(f"{name}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error


INPUT_SUFFIXES = (".yaml", ".yml", ".json")


def _expand(files: Sequence[str], ignore: str | None = None) -> list[str]:
    """conftest's file list: blank names skipped, directories walked (in filepath.Walk's
    order) for their YAML/JSON files, less those whose path matches `ignore`."""
    try:
        skip = re.compile(ignore) if ignore else None
    except re.error as error:
        raise ModelopsError(f"--ignore {ignore}: invalid regular expression: {error}") from error
    expanded: list[str] = []
    for name in files:
        if name and name != "-" and Path(name).is_dir():
            found = sorted((p for p in Path(name).rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES),
                           key=lambda p: p.parts)
            expanded += [str(p) for p in found if not (skip and skip.search(str(p)))]
        elif name:
            expanded.append(name)
    if not expanded:
        raise ModelopsError("no files found")
    return expanded


def load_documents(files: Sequence[str], stdin: Any = None, *, parser: str | None = None,
                   ignore: str | None = None) -> dict[str, list[Any]]:
    """File name -> its documents (YAML multi-doc or JSON); '-' reads stdin; directories recurse.

    `parser` forces "yaml" or "json" for every file (conftest's --parser)."""
    configurations: dict[str, list[Any]] = {}
    for name in _expand(files, ignore):
        if name == "-":
            text = (stdin or sys.stdin).read()
            as_json = text.lstrip().startswith(("{", "["))
        else:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except OSError as error:
                raise ModelopsError(f"{name}: cannot read: {error.strerror or error}") from error
            as_json = name.lower().endswith(".json")
        configurations[name] = _parse_text(text, name, as_json=as_json if parser is None else parser == "json")
    return configurations


def _combine(configurations: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """conftest --combine: one entry per document, {path, contents}, stably sorted by path."""
    combined = [{"path": path, "contents": doc} for path, docs in configurations.items() for doc in docs]
    return sorted(combined, key=lambda item: item["path"])


def check(policies: Any, configurations: dict[str, list[Any]], namespaces: Sequence[str], *,
          combine: bool = False, workers: int = 2) -> list[CheckResult]:
    """conftest's results: one CheckResult per file (or "Combined") and namespace.

    Counted as conftest counts: per document, a rule that produced nothing is one success,
    an exempted rule is its exceptions, and successes are topped up to the number of rule
    bodies in the package (two `deny` bodies are two tests). Only strings and objects are
    messages: a rule whose value is `true` (`deny if { ... }`) passes, and other values in
    a set are dropped, as conftest reads query results.
    """
    inputs = {"Combined": [_combine(configurations)]} if combine else configurations
    flat = [(name, doc) for name, docs in inputs.items() for doc in docs]
    outcomes = policies.evaluate_many_detailed([doc for _, doc in flat], namespaces, workers=workers)
    bodies = {ns: decision_rule_definitions(policies.modules, ns) for ns in namespaces}
    results = {(name, ns): CheckResult(name, ns) for name in inputs for ns in namespaces}
    for (name, _), (found, exempted) in zip(flat, outcomes, strict=True):
        for ns in namespaces:
            mine = [r for r in found if r.namespace == ns and isinstance(r.raw, (str, dict))]
            excepted = [e for e in exempted if e.namespace == ns]
            fired = {r.rule for r in mine} | {e.rule for e in excepted}
            successes = sum(1 for rule in policies.rules.get(ns, ()) if rule not in fired)
            counted = successes + len(mine) + len(excepted)
            result = results[(name, ns)]
            result.successes += successes + max(0, bodies[ns] - counted)
            result.warnings += [r for r in mine if not r.failure]
            result.failures += [r for r in mine if r.failure]
            result.exceptions += excepted
    return list(results.values())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_stdout(results: Sequence[CheckResult], *, suppress_exceptions: bool = False) -> str:
    lines = []
    for result in results:
        where = "-" if result.filename == "-" else f"- {result.filename}"
        prefix = f"{where} - {result.namespace} -"
        if not result.total:
            lines.append(f"? {prefix} no policies found")
            continue
        lines += [f"WARN {prefix} {r.msg}" for r in result.warnings]
        lines += [f"FAIL {prefix} {r.msg}" for r in result.failures]
        lines += [] if suppress_exceptions else [f"EXCP {prefix} {e.msg}" for e in result.exceptions]
    return "\n".join([*lines, "", _summary(results)])


def _summary(results: Sequence[CheckResult]) -> str:
    successes = sum(r.successes for r in results)
    warnings = sum(len(r.warnings) for r in results)
    failures = sum(len(r.failures) for r in results)
    exceptions = sum(len(r.exceptions) for r in results)
    total = successes + warnings + failures + exceptions
    return (f"{_plural(total, 'test')}, {successes} passed, {_plural(warnings, 'warning')}, "
            f"{_plural(failures, 'failure')}, {_plural(exceptions, 'exception')}")


def render_tap(results: Sequence[CheckResult]) -> str:
    """conftest's `-o tap`: a plan per file and namespace, failures, warnings, exceptions and
    successes numbered in that order (conftest stops at the first result with no tests)."""
    lines: list[str] = []
    for result in results:
        if not result.total:
            break
        where = "-" if result.filename == "-" else f"- {result.filename}"
        prefix = f"{where} - {result.namespace} -"
        items = [("not ok", r.msg, "") for r in result.failures]
        items += [("not ok", r.msg, "# warnings") for r in result.warnings]
        items += [("ok", e.msg, "# exceptions") for e in result.exceptions]
        items += [("ok", "SUCCESS", "# successes")] * result.successes
        lines.append(f"1..{result.total}")
        for number, (status, msg, heading) in enumerate(items, start=1):
            if heading and (number == 1 or items[number - 2][2] != heading):
                lines.append(heading)
            lines.append(f"{status} {number} {prefix} {msg}")
    return "\n".join(lines)


def render_github(results: Sequence[CheckResult]) -> str:
    """conftest's `-o github`: GitHub Actions workflow commands, one group per file and
    namespace, every message at line 1 of its file, then the summary line."""
    lines: list[str] = []
    for result in results:
        where = f"file={result.filename},line=1"
        lines.append(f"::group::Testing {json.dumps(result.filename, ensure_ascii=False)} against {result.total} "
                     f"policies in namespace {json.dumps(result.namespace, ensure_ascii=False)}")
        lines += [f"::error {where}::{r.msg}" for r in result.failures]
        lines += [f"::warning {where}::{r.msg}" for r in result.warnings]
        lines += [f"::notice {where}::{e.msg}" for e in result.exceptions]
        lines += [f"::notice {where}::Number of successful checks: {result.successes}", "::endgroup::"]
    return "\n".join([*lines, _summary(results)])


def exit_code(results: Sequence[CheckResult], *, fail_on_warn: bool) -> int:
    """conftest: 1 on failures; with --fail-on-warn, 2 on failures and 1 on warnings only."""
    failed = any(r.failures for r in results)
    warned = any(r.warnings for r in results)
    if fail_on_warn:
        return 2 if failed else 1 if warned else 0
    return 1 if failed else 0


def _if_without_contains(source: str) -> int:
    """Line of the first `deny[msg] if { ... }` head in a v1 module, else 0."""
    tokens = [t for t in tokenize(source) if t.kind not in ("ws", "comment")]
    line, depth, line_start = 1, 0, True
    for i, token in enumerate(tokens):
        if token.kind == "nl":
            line, line_start = line + 1, True
            continue
        if depth == 0 and line_start and is_decision_rule(token.text) and i + 1 < len(tokens) \
                and tokens[i + 1].text == "[":
            close, level = i + 1, 0
            for close in range(i + 1, len(tokens)):
                level += {"[": 1, "]": -1}.get(tokens[close].text, 0)
                if level == 0:
                    break
            after = next((t for t in tokens[close + 1:] if t.kind != "nl"), None)
            if after is not None and after.text in ("if", "{"):
                return line
        depth += token.kind == "punct" and token.text in ("(", "[", "{")
        depth -= token.kind == "punct" and token.text in (")", "]", "}")
        line_start = False
    return 0


def reject_if_without_contains(modules: Sequence[PolicyModule]) -> None:
    """conftest refuses `deny[msg] if { ... }`: in Rego v1 it is an object rule
    (`deny[msg] := true`), not a set of messages, and would never report anything."""
    for module in modules:
        line = _if_without_contains(module.source)
        if line:
            raise ModelopsError(f"{module.path}:{line}: rule is using 'if' keyword without 'contains' keyword "
                                f"(write `deny contains msg if {{ ... }}`)")


def _remote(url: str, modules: Sequence[PolicyModule], data: dict[str, Any]) -> Any:
    from urllib.parse import urlsplit

    from generator.policy.remote import RemotePolicySet

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelopsError(f"--opa {url}: expected http(s)://HOST:PORT")
    return RemotePolicySet(modules, data, host=parts.hostname, port=parts.port or 8181,
                           token=os.environ.get("OPA_TOKEN") or None, ssl=parts.scheme == "https")


@contextlib.contextmanager
def _policy_prints_to_stderr() -> Iterator[None]:
    """Rego `print()` writes straight to file descriptor 1 from C++; keep it off stdout so
    the report (JSON especially) stays parseable."""
    try:
        stdout_fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
    except (OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(stdout_fd)
    os.dup2(2, stdout_fd)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)
        os.dup2(saved, stdout_fd)
        os.close(saved)


def run_eval(args: argparse.Namespace) -> int:
    paths = args.policy or _default_policies(args)
    # like conftest's string slices, --namespace a,b equals --namespace a --namespace b
    namespaces = [ns for value in (args.namespace or ["main"]) for ns in value.split(",") if ns]
    configurations = load_documents(args.files, parser=args.parser, ignore=args.ignore)
    with _policy_prints_to_stderr():
        modules, data = load_modules(paths)
        reject_if_without_contains(modules)
        data = load_data_paths(args.data, into=data)
        policies = _remote(args.opa, modules, data) if args.opa else PolicySet(modules, data)
        if args.all_namespaces:
            namespaces = policies.namespaces
        results = check(policies, configurations, namespaces, combine=args.combine, workers=args.workers)
    report = {"json": render_json, "tap": render_tap, "github": render_github}.get(args.output)
    text = report(results) if report else render_stdout(results, suppress_exceptions=args.suppress_exceptions)
    if text:
        print(text)
    return 0 if args.no_fail else exit_code(results, fail_on_warn=args.fail_on_warn)
