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
from generator.check.incremental import check_incrementally, gather_findings, tools_digest, with_waivers
from generator.check.memo import memo_key, recall, remember
from generator.check.run import CheckOptions, CheckResult, run_check
from generator.check.shard import Shard, models_of_shard, parse_shard
from generator.config import config_problem, load_config
from generator.console import Progress
from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError, SpecError
from generator.policy.engines.options import EngineChoice, add_engine_option, engine_choice
from generator.render.committed import read_committed
from generator.render.pipeline import render_repository
from generator.report import FORMATS, render_report
from generator.report.merge import shard_document
from generator.report.model import ReportInput, summarize
from generator.resources import BUNDLED_ROOT
from generator.spec.load import Repository, load_repository
from generator.writeout import write_output

__all__ = ["check_options", "check_repository", "configure", "policy_dirs", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", metavar="MODEL", help="only this model (repeatable)")
    parser.add_argument("--rendered", action="store_true", help="check the committed files instead of rendering")
    parser.add_argument("--format", "-f", choices=sorted(FORMATS), default="text", help="report format (default: text)")
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
    parser.add_argument("--shard", metavar="K/N", type=_shard_argument,
                        help="check only slice K of N (by model, balanced by documents) and write its findings "
                        "as JSON for `modelops report merge`")


def _shard_argument(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ModelopsError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix(f"--shard {text!r}: ")) from None


def policy_dirs(root: Path, explicit: list[Path] | None, use_builtin: bool) -> list[Path]:
    """Exactly the folders asked for, else the built-in library plus the repository's own."""
    if explicit:
        dirs = list(explicit)
    else:
        dirs = [d for d in default_policy_dirs(root) if use_builtin or d != BUNDLED_ROOT / "policies"]
    for directory in dirs:
        if not Path(directory).exists():
            raise ModelopsError(f"policy folder {directory} does not exist")
    return dirs


def _gatekeeper_check(dirs: list[Path], choice: EngineChoice) -> Any:
    from generator.check.gatekeeper_findings import gatekeeper_check

    return gatekeeper_check(dirs, engine=choice.name, engine_options=choice.options)


def check_options(root: Path, args: argparse.Namespace) -> tuple[CheckOptions, EngineChoice]:
    """The options the flags and `.modelops.yaml` give, and the engine they choose."""
    config = load_config(root)
    choice = engine_choice(args, configured=config.engine, configured_network=config.allow_network)
    waivers = args.waivers or (root / config.waivers)
    from generator.planning import plan_for_policy

    _refuse_unknown_kubernetes_version(root, args.kubernetes_version, config.kubernetes_version)
    options = CheckOptions(
        policy_dirs=policy_dirs(root, args.policy, not args.no_builtin_policies),
        kubernetes_version=args.kubernetes_version or config.kubernetes_version,
        schema_dirs=[*args.schema_dir, *(root / d for d in config.schema_dirs)],
        waivers_file=waivers if (args.waivers or waivers.is_file()) else None,
        today=args.today or dt.date.today(),
        workers=max(1, args.workers),
        engine=choice.name, engine_options=choice.options, allow_network=choice.allow_network,
        plan_for=plan_for_policy,
        progress=lambda total: Progress(total, "policies", quiet=args.quiet, verbose=args.verbose),
        extra_checks=[_gatekeeper_check([*(args.gatekeeper or []), *(root / d for d in config.gatekeeper)],
                                        choice)]
        if (args.gatekeeper or config.gatekeeper) else (),
    )
    return options, choice


def _refuse_unknown_kubernetes_version(root: Path, flag: str | None, configured: str | None) -> None:
    """A version that has no schema set is an error where it was written, before any work
    (an environment's own `kubernetesVersion` is named by the schema stage)."""
    from generator.validate.kubernetes_versions import kubernetes_schema_version

    try:
        if flag:
            kubernetes_schema_version(flag)
    except ModelopsError as error:
        raise ModelopsError(f"--kubernetes-version: {error}") from None
    try:
        if configured and not flag:
            kubernetes_schema_version(configured)
    except ModelopsError as error:
        raise SpecError([config_problem(root, ("kubernetesVersion",), str(error))]) from None


def _whole_run_cached(args: argparse.Namespace, options: CheckOptions, choice: EngineChoice) -> bool:
    """Whether the result may come from (and go to) the whole-run memo: the incremental
    path over bytes the memo hashes (not committed files, a remote engine or Gatekeeper)."""
    return not (args.no_cache or args.rendered or choice.name == "opa-server" or options.extra_checks)


def check_repository(repo: Repository, args: argparse.Namespace,
                     chosen: tuple[CheckOptions, EngineChoice] | None = None) -> CheckResult:
    """Check a loaded repository as the flags say (`chosen`: `check_options`, if known)."""
    options, choice = chosen or check_options(repo.root, args)
    if args.rendered or choice.name == "opa-server" or options.extra_checks:
        files = (read_committed(repo, args.env, args.model) if args.rendered
                 else render_repository(repo, args.env, args.model))
        return run_check(repo, _shard_files(repo, files, args), options)
    return check_incrementally(repo, options, args.env, args.model, use_cache=not args.no_cache,
                               shard=args.shard)


def _checked(args: argparse.Namespace) -> CheckResult:
    """Load and check, or answer from the whole-run memo when every input is as last time."""
    root = Path(args.repo_root)
    options, choice = check_options(root, args)
    key = tools = None
    if _whole_run_cached(args, options, choice):
        tools = tools_digest(root, options)  # the memo's key and every pair's key hash it
        key = memo_key(root, options, [args.env, args.model, args.shard], tools)
        remembered = recall(root, key) if key else None
        if remembered is not None:
            return with_waivers(remembered, options)
    repo = load_repository(root, cache=not args.no_cache)
    for name in args.env or []:
        repo.environment(name)
    for name in args.model or []:
        repo.model(name)
    if key is None:
        return check_repository(repo, args, (options, choice))
    gathered = gather_findings(repo, options, args.env, args.model, shard=args.shard, tools=tools)
    remember(root, key, gathered)
    return with_waivers(gathered, options)


def _shard_files(repo: Repository, files: list, args: argparse.Namespace) -> list:
    shard: Shard | None = args.shard
    if shard is None:
        return files
    names = [m.name for m in repo.select_models(args.model)]
    environments = len(repo.select_environments(args.env))
    mine = set(models_of_shard({n: repo.models[n].data for n in names}, environments, shard))
    return [f for f in files if (f.model in mine) or (not f.model and shard.index == 1)]


def _use_color(stream: Any) -> bool:
    try:
        from generator.console import use_color
    except ImportError:  # pragma: no cover - console module always ships
        return False
    return use_color(stream)


def _summary_line(report: ReportInput, output: str) -> str:
    """What a CI log shows when the report went to a file: the counts and the verdict."""
    summary = summarize(report)
    verdict = "passed" if summary.passed else "failed"
    return f"modelops check {verdict}: {summary.line()} (fail on {summary.fail_on}); report in {output}"


def run(args: argparse.Namespace) -> int:
    result = _checked(args)
    fail_on = args.fail_on or load_config(Path(args.repo_root)).fail_on
    report = ReportInput(findings=result.findings, checked=result.checked, documents_checked=result.documents_checked,
                         fail_on=fail_on, rules=result.rules, engine=result.engine,
                         color=args.format == "text" and not args.output and _use_color(sys.stdout),
                         brief=args.quiet)
    text = shard_document(report, args.shard) if args.shard else render_report(args.format, report)
    if args.output:
        write_output(Path(args.output), text)
        if args.output != "-":
            print(_summary_line(report, args.output), file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    if args.timings:
        for stage, value in result.timings.items():
            shown = f"{int(value)}" if stage in ("cached-pairs", "pairs", "workers", "answered-whole") else f"{value:.3f}s"
            print(f"timing: {stage}: {shown}", file=sys.stderr)
    return EXIT_OK if summarize(report).passed else EXIT_FINDINGS
