"""`modelops report [--output FILE]`: a self-contained HTML page about the repository;
`modelops report merge SHARD.json...`: the shards of `check --shard K/N` as one report.

The HTML report is informational: it exits 0 even when the policy findings it shows would
fail `modelops check`; CI gates on `check`, people read the report. `report merge` exits
as the unsharded `check` would have: 0 passed, 1 findings at or above --fail-on, 2 bad or
incomplete shards.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.report import FORMATS, render_report
from generator.report.merge import merge_shards
from generator.report.model import summarize
from generator.report_html import build_report, render_page
from generator.spec.load import load_repository
from generator.writeout import write_output

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["merge"],
                        help="merge: join the JSON of `check --shard K/N` runs into one report")
    parser.add_argument("shards", nargs="*", metavar="SHARD.json", help="(merge) every shard's JSON, in any order")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="where to write the page (default: report.html) or the merged report (default: "
                        "stdout); '-' for stdout")
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
    parser.add_argument("--format", "-f", choices=sorted(FORMATS), default="text", help="(merge) report format")
    parser.add_argument("--fail-on", choices=["warn", "deny"], help="(merge) weakest level that fails "
                        "(default: the shards' own)")


def _merge(args: argparse.Namespace) -> int:
    if not args.shards:
        raise ModelopsError("report merge: name the shard reports, e.g. `modelops report merge shard-*.json`")
    texts = []
    for name in args.shards:
        try:
            texts.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            raise ModelopsError(f"{name}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    report = merge_shards(texts, fail_on=args.fail_on)
    text = render_report(args.format, report)
    write_output(Path(args.output or "-"), text if text.endswith("\n") or not text else text + "\n")
    return EXIT_OK if summarize(report).passed else EXIT_FINDINGS


def run(args: argparse.Namespace) -> int:
    if args.action == "merge":
        return _merge(args)
    if args.shards:
        raise ModelopsError(f"report: unexpected argument {args.shards[0]!r} (did you mean `report merge`?)")
    repo = load_repository(args.repo_root)
    pulls = None
    if args.pull_requests:
        from generator.gitops.open_pulls import forge_for_status, open_changes

        pulls = open_changes(forge_for_status(args.repo_root, args.remote, args.forge, args.forge_url, args.repo_slug))
    html = render_page(build_report(repo, generated_at=args.generated_at, title=args.title, pull_requests=pulls))
    out = args.output or "report.html"
    write_output(Path(out), html)
    if out != "-" and not args.quiet:
        print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK
