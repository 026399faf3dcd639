"""Options and output shared by the commands that change a release (promote, release, rollback)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from generator.errors import EXIT_FINDINGS, EXIT_OK
from generator.gitops.promote import PromotionRequest, PromotionResult, promote

__all__ = ["add_git_options", "exit_code", "print_result", "request_options", "run_request"]

HEADS = {"unchanged": "nothing to do", "up-to-date": "up to date", "planned": "plan",
         "created": "opened pull request", "updated": "updated pull request", "pushed": "pushed branch",
         "committed": "committed", "refused": "REFUSED by the policy gate", "frozen": "REFUSED: freeze window"}


def add_git_options(parser: argparse.ArgumentParser, *, commit: bool = False) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    parser.add_argument("--rebase", action="store_true",
                        help="if others pushed to the branch modelops uses, build on top of their commits")
    parser.add_argument("--remote", default="origin", help="git remote to fetch the base from and push to")
    parser.add_argument("--forge", choices=["github", "gitlab", "gitea"],
                        help="forge type (default: from the remote URL; none: push the branch only)")
    parser.add_argument("--forge-url", default=os.environ.get("MODELOPS_FORGE_URL"),
                        help="forge web or API address, for any remote URL (MODELOPS_FORGE_URL)")
    parser.add_argument("--repo", dest="repo_slug", metavar="OWNER/NAME", help="repository on the forge")
    parser.add_argument("--no-pr", action="store_true", help="push the branch only; open no pull request")
    if commit:
        parser.add_argument("--commit", action="store_true",
                            help="commit on the current branch instead (no push, no pull request)")
    parser.add_argument("--bot-author", action="store_true",
                        help="author the commit as the modelops bot (default in CI: CI=true), not as you")
    parser.add_argument("--override-freeze", action="store_true", help="change the environment inside a "
                        "freeze window (recorded in the commit with --reason)")
    parser.add_argument("--reason", metavar="TEXT", help="why the freeze is overridden")


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"dry_run": args.dry_run, "rebase": args.rebase, "remote": args.remote, "forge": args.forge,
            "forge_url": args.forge_url, "repo_slug": args.repo_slug, "open_pull_request": not args.no_pr,
            "commit_here": bool(getattr(args, "commit", False)), "bot_author": args.bot_author,
            "override_freeze": args.override_freeze, "reason": args.reason}


def print_result(result: PromotionResult, quiet: bool, arrow: str | None = None) -> None:
    if arrow is None:
        arrow = f"{result.source} -> {result.target}" if result.kind == "promote" else f"{result.kind} -> {result.target}"
    print(f"{result.model}: {arrow}: {HEADS[result.status]}"
          + (f" {result.pull_request}" if result.pull_request else ""))
    if result.status == "frozen":
        print("  " + result.messages[-1])
        return
    if not quiet:
        for key in sorted(set(result.before) | set(result.after)):
            if result.before.get(key) != result.after.get(key):
                print(f"  {key}: {result.before.get(key, '(none)')} -> {result.after.get(key, '(none)')}")
        if result.branch and result.status not in ("unchanged", "committed"):
            print(f"  branch: {result.branch}" + (f" @ {result.commit[:12]}" if result.commit else ""))
        for message in result.messages:
            print("  " + message.replace("\n", "\n  ").rstrip())


def exit_code(result: PromotionResult) -> int:
    return EXIT_FINDINGS if result.status in ("refused", "frozen") else EXIT_OK


def run_request(args: argparse.Namespace, request: PromotionRequest) -> int:
    result = promote(request, Path(args.repo_root))
    print_result(result, args.quiet)
    return exit_code(result)
