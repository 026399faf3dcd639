"""`modelops rollback MODEL --env ENV`: back to the release ENV had before its current one
(or `--to-version VERSION`), found in the spec's git history, through the same pull
request flow and policy gate as a promotion; marked as a rollback in trailers and title."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from generator.commands._change import add_git_options, request_options, run_request
from generator.errors import ModelopsError
from generator.gitops.git import open_repo
from generator.gitops.history import (
    PastRelease,
    find_release,
    previous_release,
    release_history,
)
from generator.gitops.promote import PromotionRequest
from generator.spec.load import load_repository

__all__ = ["configure", "rollback_request", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model to roll back")
    parser.add_argument("--env", required=True, metavar="ENV", help="environment to roll back")
    parser.add_argument("--to-version", metavar="VERSION",
                        help="the release to go back to (default: the one before the current release)")
    add_git_options(parser, commit=True)


def _history(args: argparse.Namespace, model: str, target: str) -> tuple[list[PastRelease], dict[str, object]]:
    repo = load_repository(args.repo_root)
    spec = repo.model(model)
    git_repo = open_repo(Path(args.repo_root))
    top = Path(git_repo.working_tree_dir or ".").resolve()
    path = (repo.root.resolve() / spec.path).relative_to(top).as_posix()
    return release_history(git_repo, "HEAD", path), spec.release(target)


def rollback_request(args: argparse.Namespace, request: PromotionRequest, version: str | None) -> PromotionRequest:
    """`request` turned into a rollback of its target to `version` (or to the previous release)."""
    history, current = _history(args, request.model, request.target)
    past = find_release(history, version, request.target) if version else \
        previous_release(history, request.target, current)
    if past is None:
        what = f"release {version}" if version else f"an earlier release of '{request.target}'"
        raise ModelopsError(f"{request.model}: no {what} in the spec's git history")
    return dataclasses.replace(request, kind="rollback", release=past.release, source=None,
                               release_source=f"history@{past.commit[:12]}")


def run(args: argparse.Namespace) -> int:
    request = PromotionRequest(model=args.model, target=args.env, **request_options(args))
    return run_request(args, rollback_request(args, request, args.to_version))
