"""`modelops rollout MODEL --env ENV`: the next step of a canary as a pull request, gated on
the canary's live metrics in Prometheus; a failed gate (or --abort) opens the abort instead.
The step is planned from your checkout and must match the remote base branch."""
from __future__ import annotations

import argparse
from pathlib import Path

from generator.commands._change import add_git_options, exit_code, print_result, request_options
from generator.errors import EXIT_FINDINGS, EXIT_OK
from generator.gitops.promote import PromotionRequest, promote
from generator.gitops.rollout import RolloutStep, plan_step
from generator.spec.load import load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model whose canary to move")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment the canary runs in")
    parser.add_argument("--abort", action="store_true", help="go back to the previous release without a gate")
    parser.add_argument("--prometheus", metavar="URL",
                        help="Prometheus HTTP API base (default: MODELOPS_PROMETHEUS_URL, "
                             "else the environment's serving.monitoring.prometheusUrl)")
    add_git_options(parser)


def _arrow(step: RolloutStep) -> str:
    return {"advance": f"{step.weight_before}% -> {step.weight_after}%",
            "complete": f"{step.weight_before}% -> 100% (complete)",
            "abort": f"{step.weight_before}% -> abort (previous release restored)"}[step.action]


def run(args: argparse.Namespace) -> int:
    step = plan_step(load_repository(args.repo_root), args.model, args.env, abort=args.abort,
                     prometheus_url=args.prometheus)
    request = PromotionRequest(model=args.model, target=args.env, kind="rollout", step=step,
                               release_source="canary", **request_options(args))
    result = promote(request, Path(args.repo_root))
    print_result(result, args.quiet, arrow=f"{args.env} {_arrow(step)}")
    # An abort the gate forced is a finding (CI should go red); one the user asked for is not.
    forced_abort = step.action == "abort" and not args.abort
    return EXIT_FINDINGS if exit_code(result) != EXIT_OK or forced_abort else EXIT_OK
