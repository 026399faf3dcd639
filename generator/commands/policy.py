"""`modelops policy`: test (opa test), eval (conftest test), verify (gator suites).

Exit codes: `test` 0 all pass, 1 any failure or error, 2 policies fail to load.
`eval` follows conftest: 0 no failures, 1 failures; with --fail-on-warn 1 for warnings
only and 2 for failures (conftest's own codes); --no-fail 0 whatever the results. Errors
(unreadable input, policies that do not compile or fail to evaluate) exit 2 and never
pass, --no-fail included, where conftest exits 1.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.policy.conftest_inputs import load_documents
from generator.config import load_config
from generator.policy.conftest_results import (check, exit_code, reject_if_without_contains, render_github,
                                               render_json, render_stdout, render_tap)
from generator.policy.engine import PolicySet, load_data_paths, load_modules
from generator.policy.conftest_builtins import conftest_builtins
from generator.policy.conftest_formats import render_junit, render_table
from generator.policy.conftest_options import add_conftest_options, prepare_conftest_options
from generator.policy.engines.options import EngineChoice, add_engine_option, engine_choice
from generator.policy.gator_verify import add_verify_command

__all__ = ["configure", "run"]

OUTPUTS = ("stdout", "json", "tap", "table", "junit", "github")
TEST_OUTPUTS = ("stdout", "json", "tap", "junit", "github")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)
    test = sub.add_parser("test", help="run every test_* rule (like opa test, conftest verify)")
    test.add_argument("paths", nargs="*", metavar="DIR", help="policy directories (default: policies/)")
    test.add_argument("-p", "--policy", action="append", default=[], metavar="DIR",
                      help="policy directory or file (repeatable; as conftest verify)")
    test.add_argument("-d", "--data", action="append", metavar="PATH", default=[],
                      help="data files or directories, merged at the root of data")
    test.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                      help="only tests in these packages (repeatable; wildcards such as main.*)")
    test.add_argument("-o", "--output", choices=TEST_OUTPUTS, default="stdout", help="report format")
    add_conftest_options(test)
    add_engine_option(test)
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
                    help=f"{', '.join(OUTPUTS)}, as conftest writes them")
    ev.add_argument("--suppress-exceptions", action="store_true", help="leave EXCP lines out (still counted)")
    ev.add_argument("--no-color", action="store_true", help="accepted for conftest; output is never colored")
    ev.add_argument("--ignore", metavar="REGEX", help="skip files found in directories whose path matches")
    ev.add_argument("--parser", choices=("yaml", "json"), help="parse every file as YAML or JSON")
    ev.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)  # accepted; evaluation is sequential
    add_conftest_options(ev)
    add_engine_option(ev)
    ev.set_defaults(_policy_run=run_eval)

    add_verify_command(sub)
    for command in (test, ev):  # conftest.toml fills only what is still at its default
        command.set_defaults(_defaults={a.dest: a.default for a in command._actions if a.dest != "help"},
                             _repeatable=frozenset(a.dest for a in command._actions
                                                   if isinstance(a, argparse._AppendAction)))


def run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] | None = (
        getattr(args, "_policy_run", None) or getattr(args, "func", None))
    if handler is None:
        raise ModelopsError(f"policy {args.policy_command}: no handler registered")
    return int(handler(args))


def _default_policies(args: argparse.Namespace) -> list[str]:
    return [str(Path(args.repo_root) / "policies")]


# -- policy test ----------------------------------------------------------------------------

def _choice(args: argparse.Namespace) -> EngineChoice:
    config = load_config(Path(args.repo_root))
    return engine_choice(args, configured=config.engine, configured_network=config.allow_network)


def _engine_options(choice: EngineChoice, paths: list[str], trace: bool) -> dict[str, Any]:
    """conftest's built-ins (and --trace) for the in-process engines; a server has its own."""
    if choice.name == "opa-server":
        return dict(choice.options)
    return {**choice.options, "builtins": conftest_builtins(paths), **({"trace": True} if trace else {})}


def run_test(args: argparse.Namespace) -> int:
    from generator.policy.rego_test import run_tests
    from generator.policy.test_report import render_test_report

    choice = _choice(args)
    capabilities = prepare_conftest_options(args, args._defaults, choice.name)
    paths = [*args.paths, *args.policy] or _default_policies(args)
    report = run_tests(paths, engine=choice.name, data_paths=args.data,
                       namespaces=[n for v in args.namespace for n in v.split(",") if n],
                       allow_network=choice.allow_network, capabilities=capabilities,
                       engine_options=_engine_options(choice, paths, args.trace))
    for line in report.prints:
        print(line, file=sys.stderr)
    if not (args.quiet and report.ok):
        print(render_test_report(report, args.output))
    return 0 if report.ok else 1


# -- policy eval (conftest test) ---------------------------------------------------------------

def run_eval(args: argparse.Namespace) -> int:
    capabilities = prepare_conftest_options(args, args._defaults, _choice(args).name)
    paths = args.policy or _default_policies(args)
    # like conftest's string slices, --namespace a,b equals --namespace a --namespace b
    namespaces = [ns for value in (args.namespace or ["main"]) for ns in value.split(",") if ns]
    configurations = load_documents(args.files, parser=args.parser, ignore=args.ignore)
    choice = _choice(args)
    modules, data = load_modules(paths)
    reject_if_without_contains(modules)
    data = load_data_paths(args.data, into=data)
    policies = PolicySet(modules, data, engine=choice.name, engine_options=_engine_options(choice, paths, args.trace),
                         allow_network=choice.allow_network, capabilities=capabilities)
    if args.all_namespaces:
        namespaces = policies.namespaces
    results = check(policies, configurations, namespaces, combine=args.combine)
    for line in policies.take_prints():  # conftest shows print() output; keep it off the report's stream
        print(line, file=sys.stderr)
    report = {"json": render_json, "tap": render_tap, "github": render_github, "table": render_table,
              "junit": render_junit}.get(args.output)
    text = report(results) if report else render_stdout(results, suppress_exceptions=args.suppress_exceptions)
    code = 0 if args.no_fail else exit_code(results, fail_on_warn=args.fail_on_warn)
    if text and not (args.quiet and code == 0):
        print(text)
    return code
