"""`modelops promote MODEL --to ENV`: a promotion pull request, gated by policy (and by
training metrics and the source environment's live health). With `--release VERSION`,
a rollback to an earlier release found in the spec's git history."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from generator.commands._change import (
    add_git_options,
    exit_code,
    print_result,
    request_options,
)
from generator.console import Progress
from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.gitops.promote import PromotionRequest, promote
from generator.spec.load import load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", help="the model to promote (or --all)")
    parser.add_argument("--all", action="store_true", help="every model whose release differs from the source's")
    parser.add_argument("--to", required=True, metavar="ENV", help="target environment")
    parser.add_argument("--from", dest="source", metavar="ENV", help="source (default: what ENV promotes from)")
    parser.add_argument("--release", metavar="VERSION",
                        help="roll back: promote the earlier release VERSION found in the spec's git history")
    parser.add_argument("--force", action="store_true", help="allow skipping an environment in the chain")
    add_git_options(parser)
    parser.add_argument("--metrics", type=Path, metavar="FILE",
                        help="metrics JSON of the candidate's training run, checked against promotion.metrics")
    parser.add_argument("--metrics-from-workflow", metavar="NAME",
                        help="read the candidate's metrics from a finished Argo Workflow (Argo Server API)")
    parser.add_argument("--namespace", metavar="NS", help="namespace of the workflow (default: $ARGO_NAMESPACE, "
                        "else the source environment's namespace)")
    parser.add_argument("--argo-server", metavar="URL", help="Argo Server address (default: $ARGO_SERVER)")
    parser.add_argument("--live", action="store_true",
                        help="require the source's Argo CD Application Synced and Healthy for promotion.soak")


def _models(args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.model):
        raise ModelopsError("name one MODEL or pass --all")
    if args.model:
        return [args.model]
    if args.release:
        raise ModelopsError("--release rolls back one model: name it instead of --all")
    repo = load_repository(args.repo_root)
    target = repo.environment(args.to)
    source = args.source or target.promotes_from
    if source is None:
        raise ModelopsError(f"environment '{args.to}' promotes from nothing; pass --from ENV")
    return [name for name, spec in repo.models.items() if spec.release(source) and spec.release(source) != spec.release(args.to)]


def run(args: argparse.Namespace) -> int:
    models = _models(args)
    if not models:
        print(f"nothing to promote to {args.to}")
        return EXIT_OK
    refused = False
    bar = Progress(len(models), f"promote to {args.to}", quiet=args.quiet or len(models) < 2, verbose=args.verbose)
    with bar:
        for model in models:
            refused = _promote_one(args, model) or refused
            bar.advance()
    sys.stdout.flush()
    return EXIT_FINDINGS if refused else EXIT_OK


def _workflow_metrics(args: argparse.Namespace) -> tuple[dict[str, float | int] | None, str]:
    """The candidate's metrics from a finished training Workflow, when --metrics-from-workflow names one."""
    if not args.metrics_from_workflow:
        return None, ""
    if args.metrics:
        raise ModelopsError("pass --metrics or --metrics-from-workflow, not both")
    from generator.releases.workflow import candidate_from_workflow

    repo = load_repository(args.repo_root)
    source = args.source or repo.environment(args.to).promotes_from or args.to
    namespace = args.namespace or os.environ.get("ARGO_NAMESPACE") or repo.environment(source).namespace
    candidate = candidate_from_workflow(args.metrics_from_workflow, namespace, server=args.argo_server)
    return dict(candidate.metrics), f"workflow {namespace}/{args.metrics_from_workflow}"


def _promote_one(args: argparse.Namespace, model: str) -> bool:
    """Promote one model; True when a gate refused it."""
    metrics, label = _workflow_metrics(args)
    request = PromotionRequest(model=model, target=args.to, source=args.source, force=args.force,
                               metrics_file=args.metrics, metrics=metrics, metrics_label=label, live=args.live,
                               **request_options(args))
    if args.release:
        from generator.commands.rollback import rollback_request

        request = rollback_request(args, request, args.release)
    result = promote(request, Path(args.repo_root))
    print_result(result, args.quiet)
    return exit_code(result) != EXIT_OK
