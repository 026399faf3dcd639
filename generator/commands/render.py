"""`modelops render`: write the GitOps tree from the specs, or `--check` it for drift (CI)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.render.deletions import unpruned_applications
from generator.render.pipeline import render_repository
from generator.render.writer import apply_changes, plan_changes
from generator.spec.load import load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", metavar="MODEL", help="only this model (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; list stale, missing and extra files and exit 1 if any")
    parser.add_argument("--output-dir", metavar="DIR", help="write the tree under DIR instead of the repository")
    parser.add_argument("--out", dest="output_dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # old spelling


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root)
    for name in args.env or []:
        repo.environment(name)
    for name in args.model or []:
        repo.model(name)
    files = render_repository(repo, args.env, args.model)
    out_root = Path(args.output_dir) if args.output_dir else repo.root
    changes = plan_changes(out_root, files, environments=args.env, models=args.model)
    if args.check:
        for change in changes:
            print(f"stale: {change}")
        if changes:
            print(f"{len(changes)} file(s) out of date; run `modelops render` and commit the result", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"up to date: {len(files)} file(s)")
        return 0
    unpruned = unpruned_applications(repo, out_root, changes)
    apply_changes(out_root, files, changes)
    for application in unpruned:  # a step still to take: shown even with --quiet
        print(f"modelops: note: {application}", file=sys.stderr)
    if not args.quiet:
        for change in changes:
            print(change)
        print(f"rendered {len(files)} file(s), {len(changes)} changed")
    return 0
