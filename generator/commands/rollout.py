"""`modelops rollout MODEL --env ENV`: the next step of a canary as a pull request, gated on
the canary's live metrics in Prometheus; a failed gate (or --abort) opens the abort instead."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from generator.errors import EXIT_FINDINGS, EXIT_OK
from generator.gitops.rollout import RolloutRequest, RolloutResult, rollout

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model whose canary to move")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment the canary runs in")
    parser.add_argument("--abort", action="store_true", help="go back to the previous release without a gate")
    parser.add_argument("--prometheus", metavar="URL",
                        help="Prometheus HTTP API base (default: MODELOPS_PROMETHEUS_URL, "
                             "else the environment's serving.monitoring.prometheusUrl)")
    parser.add_argument("--dry-run", action="store_true", help="print the step; change nothing")
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--forge", choices=["github", "gitlab", "gitea"], help="forge type (default: from the remote URL)")
    parser.add_argument("--forge-url", default=os.environ.get("MODELOPS_FORGE_URL"),
                        help="forge API base for GitHub Enterprise or self-hosted instances (MODELOPS_FORGE_URL)")
    parser.add_argument("--repo", dest="repo_slug", metavar="OWNER/NAME", help="repository on the forge")
    parser.add_argument("--no-pr", action="store_true", help="push the branch only; open no pull request")


def _print(result: RolloutResult, quiet: bool) -> None:
    step = {"advance": f"{result.weight_before}% -> {result.weight_after}%",
            "complete": f"{result.weight_before}% -> 100% (complete)",
            "abort": f"{result.weight_before}% -> abort (previous release restored)"}[result.action]
    print(f"{result.model} in {result.env}: {step}: {result.status}"
          + (f" {result.pull_request}" if result.pull_request else ""))
    if not quiet:
        if result.branch:
            print(f"  branch: {result.branch}" + (f" @ {result.commit[:12]}" if result.commit else ""))
        for message in result.messages:
            print("  " + message.replace("\n", "\n  ").rstrip())


def run(args: argparse.Namespace) -> int:
    request = RolloutRequest(model=args.model, env=args.env, abort=args.abort, dry_run=args.dry_run,
                             remote=args.remote, forge=args.forge, forge_url=args.forge_url,
                             repo_slug=args.repo_slug, prometheus_url=args.prometheus,
                             open_pull_request=not args.no_pr)
    result = rollout(request, Path(args.repo_root))
    _print(result, args.quiet)
    # An abort the gate forced is a finding (CI should go red); one the user asked for is not.
    refused = result.status == "refused" or (result.action == "abort" and not args.abort)
    return EXIT_FINDINGS if refused else EXIT_OK
