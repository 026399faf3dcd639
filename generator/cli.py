"""Command-line entry point: argparse tree, dispatch, and the one place errors become exit codes.

Each subcommand lives in `generator.commands.<name>` and exposes
`configure(parser)` and `run(args) -> int`. Library code raises `ModelopsError`;
it is printed here as one line per problem and exits 2. Anything else is a bug (exit 3).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from generator import __version__
from generator.errors import EXIT_BUG, EXIT_ERROR, ModelopsError

# name -> (module, one-line help). A plain registry: adding a command is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("generator.commands.render", "render specs into the GitOps tree (or --check for drift)"),
    "check": ("generator.commands.check", "validate and policy-check everything rendered (the CI gate)"),
    "schema": ("generator.commands.schema", "print the JSON Schema of the model spec"),
    "policy": ("generator.commands.policy", "policy tools: test, eval (conftest-style), verify (gator suites)"),
    "diff": ("generator.commands.diff", "rendered diff between a git revision and the working tree"),
    "promote": ("generator.commands.promote", "open or update a promotion pull request between environments"),
    "status": ("generator.commands.status", "models x environments release matrix"),
    "plan": ("generator.commands.plan", "GPU capacity plan for a model"),
    "train": ("generator.commands.train", "run the rendered training command locally or submit it"),
    "init": ("generator.commands.init", "scaffold a new GitOps repository"),
    "new": ("generator.commands.new", "write a new, commented model spec"),
    "report": ("generator.commands.report", "self-contained HTML report"),
    "completion": ("generator.commands.completion", "print shell completion for bash or zsh"),
    "rollout": ("generator.commands.rollout", "advance, complete or abort a canary, one pull request per step"),
}


def available_commands() -> dict[str, tuple[str, str]]:
    """Commands whose module exists; lets the CLI grow one module at a time."""
    found = {}
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, help_text)
    return found


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (skipping global options), if any."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in ("-C", "--repo-root"):
            skip = True
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def _version_text() -> str:
    """modelops's version and each Rego engine's: which one produced findings matters."""
    from generator.policy.engines import DEFAULT_ENGINE, ENGINES, engine_label

    lines = [f"modelops {__version__}"]
    for name in ENGINES:
        if name != "opa-server":
            default = " (default)" if name == DEFAULT_ENGINE else ""
            lines.append(f"  engine {engine_label(name)}{default}")
    return "\n".join(lines)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole argparse tree; with `only`, just that subcommand is configured (others
    are listed with their help), so a command does not import every other command."""
    parser = argparse.ArgumentParser(prog="modelops", formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Model specs to a GitOps repository Argo CD can "
                                     "sync, and the policy gate over everything rendered.")
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument("-C", "--repo-root", default=".", help="root of the GitOps repository (default: .)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors and the final result")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in available_commands().items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module)
        if only is None or name == only:
            importlib.import_module(module).configure(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_chosen_command(argv))
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args))
    except ModelopsError as error:
        for line in str(error).splitlines() or ["error"]:
            print(f"modelops: error: {line}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("modelops: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the bug boundary
        if os.environ.get("MODELOPS_DEBUG"):
            raise
        print("modelops: internal error (a bug); details follow", file=sys.stderr)
        traceback.print_exc()
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
