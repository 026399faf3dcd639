"""`modelops report [--output FILE]`: a self-contained HTML page about the repository.

The report is informational: it exits 0 even when the policy findings it shows would
fail `modelops check`; CI gates on `check`, people read the report.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import EXIT_OK
from generator.report_html import build_report, render_page
from generator.spec.load import load_repository
from generator.writeout import write_output

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default="report.html", metavar="FILE",
                        help="where to write the HTML page (default: report.html; '-' for stdout)")
    parser.add_argument("--out", dest="output", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # old spelling
    parser.add_argument("--title", help="page title (default: 'modelops report: <repository folder>')")
    parser.add_argument("--generated-at", metavar="TEXT",
                        help="a timestamp to print on the page; without it the output is byte-for-byte reproducible")
    parser.add_argument("--pull-requests", action="store_true",
                        help="list open promotions from the forge's pull requests (their provenance blocks) "
                        "instead of local promote/* branches")
    parser.add_argument("--remote", default="origin", help="git remote whose forge holds the pull requests")
    parser.add_argument("--forge", choices=["github", "gitlab", "gitea"], help="forge type (default: from the remote)")
    parser.add_argument("--forge-url", help="forge web or API address (default: $MODELOPS_FORGE_URL)")
    parser.add_argument("--repo", dest="repo_slug", metavar="OWNER/NAME", help="repository on the forge")


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root)
    pulls = None
    if args.pull_requests:
        from generator.gitops.open_pulls import forge_for_status, open_changes

        pulls = open_changes(forge_for_status(args.repo_root, args.remote, args.forge, args.forge_url, args.repo_slug))
    html = render_page(build_report(repo, generated_at=args.generated_at, title=args.title, pull_requests=pulls))
    write_output(Path(args.output), html)
    if args.output != "-" and not args.quiet:
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK
