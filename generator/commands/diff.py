"""`modelops diff --base REF [--head REF]`: what Argo CD will sync differently (the committed
rendered trees), with files that do not match their specs flagged, for pull-request review."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import EXIT_FINDINGS, EXIT_OK
from generator.gitops.diff import diff_against, format_diff
from generator.gitops.provenance import fit_body
from generator.writeout import write_output

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, metavar="REF", help="git revision to compare with (e.g. origin/main)")
    parser.add_argument("--head", metavar="REF", help="git revision to compare (default: the working tree)")
    parser.add_argument("--format", "-f", choices=["text", "json", "markdown"], default="text",
                        help="output format (default: text)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes or drift")


def run(args: argparse.Namespace) -> int:
    diff = diff_against(Path(args.repo_root).resolve(), args.base, args.head)
    text = format_diff(diff, args.format)
    if args.format == "markdown":
        # Posted as a pull-request comment: keep it within the forge's limit (GitHub 65,536).
        head, _, rest = text.partition("\n")
        text = fit_body([head, rest], "github", hint="Run `modelops diff` locally for the full list.")
    if args.output:
        write_output(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if (args.exit_code and not diff.empty) else EXIT_OK
