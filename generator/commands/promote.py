"""`modelops promote MODEL --to ENV`: a promotion pull request, gated by policy (and optionally
by training metrics and the source environment's live health)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from generator.console import Progress
from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.gitops.promote import PromotionRequest, PromotionResult, promote
from generator.spec.load import load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", help="the model to promote (or --all)")
    parser.add_argument("--all", action="store_true", help="every model whose release differs from the source's")
    parser.add_argument("--to", required=True, metavar="ENV", help="target environment")
    parser.add_argument("--from", dest="source", metavar="ENV", help="source (default: what ENV promotes from)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    parser.add_argument("--force", action="store_true", help="allow skipping an environment in the chain")
    parser.add_argument("--rebase", action="store_true",
                        help="if others pushed to the promotion branch, build on top of their commits")
    parser.add_argument("--remote", default="origin", help="git remote to push to (default: origin)")
    parser.add_argument("--forge", choices=["github", "gitlab", "gitea"], help="forge type (default: from the remote URL)")
    parser.add_argument("--forge-url", default=os.environ.get("MODELOPS_FORGE_URL"),
                        help="forge API base for GitHub Enterprise or self-hosted instances (MODELOPS_FORGE_URL)")
    parser.add_argument("--repo", dest="repo_slug", metavar="OWNER/NAME", help="repository on the forge")
    parser.add_argument("--no-pr", action="store_true", help="push the branch only; open no pull request")
    parser.add_argument("--metrics", type=Path, metavar="FILE",
                        help="metrics JSON of the candidate's training run, checked against promotion.metrics")
    parser.add_argument("--live", action="store_true",
                        help="require the source's Argo CD Application Synced and Healthy for promotion.soak")


def _print(result: PromotionResult, quiet: bool) -> None:
    head = {"nothing-to-promote": "nothing to promote", "up-to-date": "up to date", "planned": "plan",
            "created": "opened pull request", "updated": "updated pull request", "pushed": "pushed branch",
            "refused": "REFUSED by the policy gate"}[result.status]
    print(f"{result.model}: {result.source} -> {result.target}: {head}"
          + (f" {result.pull_request}" if result.pull_request else ""))
    if not quiet:
        for key in sorted(set(result.before) | set(result.after)):
            if result.before.get(key) != result.after.get(key):
                print(f"  {key}: {result.before.get(key, '(none)')} -> {result.after.get(key, '(none)')}")
        if result.branch and result.status != "nothing-to-promote":
            print(f"  branch: {result.branch}" + (f" @ {result.commit[:12]}" if result.commit else ""))
        for message in result.messages:
            print("  " + message.replace("\n", "\n  ").rstrip())


def _models(args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.model):
        raise ModelopsError("name one MODEL or pass --all")
    if args.model:
        return [args.model]
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


def _promote_one(args: argparse.Namespace, model: str) -> bool:
    """Promote one model; True when the policy gate refused it."""
    request = PromotionRequest(model=model, target=args.to, source=args.source, force=args.force,
                               rebase=args.rebase, dry_run=args.dry_run, remote=args.remote, forge=args.forge,
                               forge_url=args.forge_url, repo_slug=args.repo_slug, metrics_file=args.metrics,
                               live=args.live, open_pull_request=not args.no_pr)
    result = promote(request, Path(args.repo_root))
    _print(result, args.quiet)
    return result.status == "refused"
