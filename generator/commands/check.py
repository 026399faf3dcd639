"""`modelops check`: the CI policy gate over everything rendered.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 error (bad input, a policy that
errors, an unreachable OPA server, a chart that fails to render, a missing schema).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from generator.check.gate import default_policy_dirs
from generator.check.incremental import check_incrementally
from generator.check.run import CheckOptions, CheckResult, run_check
from generator.config import load_config
from generator.console import Progress
from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.policy.engines.options import EngineChoice, add_engine_option, engine_choice
from generator.render.committed import read_committed
from generator.render.pipeline import render_repository
from generator.report import FORMATS, render_report
from generator.report.model import ReportInput, summarize
from generator.resources import BUNDLED_ROOT
from generator.spec.load import Repository, load_repository
from generator.writeout import write_output

__all__ = ["configure", "run", "check_repository", "policy_dirs"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", metavar="MODEL", help="only this model (repeatable)")
    parser.add_argument("--rendered", action="store_true", help="check the committed files instead of rendering")
    parser.add_argument("--format", "-f", choices=sorted(FORMATS), default="text")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE (atomically)")
    parser.add_argument("--fail-on", choices=["warn", "deny"], help="weakest level that fails (default: deny)")
    parser.add_argument("--policy", "-p", action="append", metavar="DIR", type=Path,
                        help="policy folder (repeatable; default: the built-in library plus the repo's policies/)")
    parser.add_argument("--no-builtin-policies", action="store_true", help="do not load the built-in policy library")
    add_engine_option(parser)
    parser.add_argument("--gatekeeper", action="append", metavar="DIR", type=Path,
                        help="also evaluate Gatekeeper ConstraintTemplates and Constraints from DIR")
    parser.add_argument("--kubernetes-version", metavar="X.Y", help="schema version (default: per environment)")
    parser.add_argument("--schema-dir", action="append", metavar="DIR", type=Path, default=[],
                        help="extra CRD schemas in kubeconform's layout (repeatable)")
    parser.add_argument("--waivers", metavar="FILE", type=Path, help="waivers file (default: waivers.yaml)")
    parser.add_argument("--today", metavar="YYYY-MM-DD", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes for large runs (default: up to 2)")
    parser.add_argument("--timings", action="store_true", help="print per-stage timings to stderr")
    parser.add_argument("--no-cache", action="store_true",
                        help="re-check every pair (default: reuse findings of unchanged pairs from .modelops-cache/)")


def policy_dirs(repo: Repository, explicit: list[Path] | None, use_builtin: bool) -> list[Path]:
    """Exactly the folders asked for, else the built-in library plus the repository's own."""
    if explicit:
        dirs = list(explicit)
    else:
        dirs = [d for d in default_policy_dirs(repo) if use_builtin or d != BUNDLED_ROOT / "policies"]
    for directory in dirs:
        if not Path(directory).exists():
            raise ModelopsError(f"policy folder {directory} does not exist")
    return dirs


def _gatekeeper_check(dirs: list[Path], choice: EngineChoice) -> Any:
    from generator.check.gatekeeper_findings import gatekeeper_check

    return gatekeeper_check(dirs, engine=choice.name, engine_options=choice.options)


def check_repository(repo: Repository, args: argparse.Namespace) -> CheckResult:
    def files_for() -> list:
        return (read_committed(repo, args.env, args.model) if args.rendered
                else render_repository(repo, args.env, args.model))

    config = load_config(repo.root)
    choice = engine_choice(args, configured=config.engine, configured_network=config.allow_network)
    dirs = policy_dirs(repo, args.policy, not args.no_builtin_policies)
    waivers = args.waivers or (repo.root / config.waivers)
    from generator.planning import plan_for_policy

    options = CheckOptions(
        policy_dirs=dirs,
        kubernetes_version=args.kubernetes_version or config.kubernetes_version,
        schema_dirs=[*args.schema_dir, *(repo.root / d for d in config.schema_dirs)],
        waivers_file=waivers if (args.waivers or waivers.is_file()) else None,
        today=args.today or dt.date.today(),
        workers=max(1, args.workers),
        engine=choice.name, engine_options=choice.options, allow_network=choice.allow_network,
        plan_for=plan_for_policy,
        progress=lambda total: Progress(total, "policies", quiet=args.quiet, verbose=args.verbose),
        extra_checks=[_gatekeeper_check([*(args.gatekeeper or []), *(repo.root / d for d in config.gatekeeper)],
                                        choice)]
        if (args.gatekeeper or config.gatekeeper) else (),
    )
    if args.rendered or choice.name == "opa-server" or options.extra_checks:
        return run_check(repo, files_for(), options)
    return check_incrementally(repo, options, args.env, args.model, use_cache=not args.no_cache)


def _use_color(stream: Any) -> bool:
    try:
        from generator.console import use_color
    except ImportError:  # pragma: no cover - console module always ships
        return False
    return use_color(stream)


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root, cache=not args.no_cache)
    for name in args.env or []:
        repo.environment(name)
    for name in args.model or []:
        repo.model(name)
    result = check_repository(repo, args)
    fail_on = args.fail_on or load_config(repo.root).fail_on
    report = ReportInput(findings=result.findings, checked=result.checked, documents_checked=result.documents_checked,
                         fail_on=fail_on, rules=result.rules, engine=result.engine,
                         color=args.format == "text" and not args.output and _use_color(sys.stdout))
    text = render_report(args.format, report)
    if args.output:
        write_output(Path(args.output), text)
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    if args.timings:
        for stage, value in result.timings.items():
            shown = f"{int(value)}" if stage in ("cached-pairs", "workers") else f"{value:.3f}s"
            print(f"timing: {stage}: {shown}", file=sys.stderr)
    return EXIT_OK if summarize(report).passed else EXIT_FINDINGS
