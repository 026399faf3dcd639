"""`modelops policy`: test (opa test), eval (conftest test), verify (gator suites).

Exit codes: `test` 0 all pass, 1 any failure or error, 2 policies fail to load.
`eval` follows conftest: 0 no failures, 1 failures; with --fail-on warn 1 for warnings
only and 2 for failures (conftest's own codes); --no-fail 0 whatever the results. Errors
(unreadable input, policies that do not compile or fail to evaluate) exit 2 and never
pass, --no-fail included, where conftest exits 1.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.policy.conftest_inputs import load_documents
from generator.policy.conftest_results import (
    check,
    exit_code,
    reject_if_without_contains,
    render_github,
    render_json,
    render_stdout,
    render_tap,
)
from generator.policy.engine import PolicyModule, PolicySet, load_data_paths, load_modules
from generator.policy.gator_verify import add_verify_command

__all__ = ["configure", "run"]

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
    ev.add_argument("--fail-on", choices=["warn", "deny"], default="deny",
                    help="warn: exit 1 on warnings and 2 on failures, as conftest --fail-on-warn (default: deny)")
    ev.add_argument("--fail-on-warn", dest="fail_on", action="store_const", const="warn", default=argparse.SUPPRESS,
                    help=argparse.SUPPRESS)  # conftest's spelling, kept as an alias
    ev.add_argument("--no-fail", action="store_true", help="exit 0 even if a policy fails (errors still exit 2)")
    ev.add_argument("--combine", action="store_true", help="evaluate all documents together as one input")
    ev.add_argument("--format", "-f", choices=OUTPUTS, default="stdout",
                    help="stdout, json, tap or github, as conftest writes them")
    ev.add_argument("-o", "--output", dest="format", choices=OUTPUTS, default=argparse.SUPPRESS,
                    help=argparse.SUPPRESS)  # conftest's spelling, kept as an alias
    ev.add_argument("--suppress-exceptions", action="store_true", help="leave EXCP lines out (still counted)")
    ev.add_argument("--no-color", action="store_true", help="accepted for conftest; output is never colored")
    ev.add_argument("--ignore", metavar="REGEX", help="skip files found in directories whose path matches")
    ev.add_argument("--parser", choices=("yaml", "json"), help="parse every file as YAML or JSON")
    ev.add_argument("--workers", type=int, default=2, help="evaluation threads (default: 2)")
    ev.add_argument("--opa-url", dest="opa", metavar="URL",
                    help="evaluate on this OPA server (http://host:port) instead of in-process")
    ev.add_argument("--opa", dest="opa", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the old spelling
    ev.set_defaults(_policy_run=run_eval)

    add_verify_command(sub)


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

def _remote(url: str, modules: Sequence[PolicyModule], data: dict[str, Any]) -> Any:
    from urllib.parse import urlsplit

    from generator.policy.remote import RemotePolicySet

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelopsError(f"--opa-url {url}: expected http(s)://HOST:PORT")
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
    report = {"json": render_json, "tap": render_tap, "github": render_github}.get(args.format)
    text = report(results) if report else render_stdout(results, suppress_exceptions=args.suppress_exceptions)
    if text:
        print(text)
    return 0 if args.no_fail else exit_code(results, fail_on_warn=args.fail_on == "warn")
