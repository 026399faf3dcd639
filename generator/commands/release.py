"""`modelops release MODEL --env ENV`: record a new release (image, model URI, version and
the metrics it was accepted on) in the spec, through a pull request (or `--commit`).

Sources: flags; `--from-workflow NAME` (a finished Argo Workflows training run);
`--from-registry models:/NAME@ALIAS|/VERSION` (an MLflow model registry). Flags given
alongside a source override what the source says. Running it again with the same source
changes nothing.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from generator.commands._change import add_git_options, request_options, run_request
from generator.errors import ModelopsError
from generator.gitops.gates import read_metrics_file
from generator.gitops.promote import PromotionRequest
from generator.releases.candidate import (
    Candidate,
    numeric_metrics,
    servable_uri_problem,
)
from generator.spec.load import Repository, load_repository

__all__ = ["candidate_for", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model to release")
    parser.add_argument("--env", required=True, metavar="ENV", help="environment that receives the release")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from-registry", metavar="URI",
                        help="MLflow model version: models:/NAME@ALIAS or models:/NAME/VERSION (MLFLOW_TRACKING_URI)")
    source.add_argument("--from-workflow", metavar="NAME", help="a finished training Workflow on the Argo Server")
    parser.add_argument("--namespace", metavar="NS",
                        help="namespace of --from-workflow (default: $ARGO_NAMESPACE, else the environment's)")
    parser.add_argument("--argo-server", metavar="URL", help="Argo Server address (default: $ARGO_SERVER)")
    parser.add_argument("--image", help="serving image (pinned by digest outside dev)")
    parser.add_argument("--training-image", help="training image of the release")
    parser.add_argument("--model-uri", metavar="URI", help="where the model weights are")
    parser.add_argument("--version", dest="model_version", metavar="VERSION", help="model version label")
    parser.add_argument("--metrics", type=Path, metavar="FILE", help="metrics JSON the release was accepted on")
    add_git_options(parser, commit=True)


def _from_flags(args: argparse.Namespace) -> Candidate:
    metrics = numeric_metrics(read_metrics_file(args.metrics)) if args.metrics else {}
    return Candidate(source="flags", model_uri=args.model_uri or "", version=args.model_version or "",
                     image=args.image or "", training_image=args.training_image or "", metrics=metrics)


def candidate_for(args: argparse.Namespace, repo: Repository) -> Candidate:
    """What the named source says, with the flags on top."""
    flags = _from_flags(args)
    if args.from_registry:
        from generator.releases.mlflow_registry import candidate_from_registry

        return candidate_from_registry(args.from_registry).merged(flags)
    if args.from_workflow:
        from generator.releases.workflow import candidate_from_workflow

        namespace = args.namespace or os.environ.get("ARGO_NAMESPACE") or repo.environment(args.env).namespace
        return candidate_from_workflow(args.from_workflow, namespace, server=args.argo_server).merged(flags)
    if not (flags.image or flags.model_uri or flags.version or flags.training_image):
        raise ModelopsError("name what to release: --from-registry URI, --from-workflow NAME, or "
                            "--image/--model-uri/--version")
    return flags


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root)
    spec = repo.model(args.model)
    repo.environment(args.env)
    candidate = candidate_for(args, repo)
    problem = servable_uri_problem(candidate.model_uri) if candidate.model_uri else None
    if problem:
        raise ModelopsError(f"{candidate.source}: the model URI {problem}; pass --model-uri with where the weights "
                            "are stored")
    release = candidate.release(spec.release(args.env), (spec.data.get("serving") or {}).get("image", ""))
    request = PromotionRequest(model=args.model, target=args.env, kind="release", release=release,
                               release_source=candidate.source, **request_options(args))
    return run_request(args, request)
