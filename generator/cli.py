"""Command-line entry point: argparse tree, dispatch, and the one place errors become exit codes.

Each subcommand lives in `generator.commands.<name>` and exposes
`configure(parser)` and `run(args) -> int`. Library code raises `ModelopsError`;
it is printed here as one line per problem and exits 2. Anything else is a bug (exit 3).
The global options (-q, -v, -C) are accepted anywhere on the line: they are added to
every parser of the tree (docs/cli.md lists the conventions every subcommand follows).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator import __version__
from generator.collector import pace_collector
from generator.discovery import find_root
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
    "release": ("generator.commands.release", "record a new release (flags, training run or MLflow registry) via a pull request"),
    "rollback": ("generator.commands.rollback", "roll an environment back to an earlier release from git history"),
    "validate": ("generator.commands.validate", "validate any Kubernetes manifests (kubeconform's job, CEL rules too)"),
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


# Commands that must not look for a repository: they run before one exists, or need none.
NO_DISCOVERY = frozenset({"init", "completion", "schema"})
GLOBAL_DEFAULTS = {"quiet": False, "verbose": False, "repo_root": None}


# Spellings retired for one kept spelling (docs/cli.md): accepted, never shown.
RETIRED = {"--out": "--output", "--opa": "--opa-url", "--fail-on-warn": "--fail-on warn",
           "--environment": "--env", "--output-format": "--format", "--fmt": "--format",
           "--opa-server": "--opa-url", "--policies": "--policy", "--output-file": "--output"}


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-q, -v and -C on `parser`. Below the top they default to SUPPRESS, so a value given
    before the subcommand is not reset by the subparser's own default. A spelling the
    command already uses (conftest's own --quiet) is left to it."""
    taken = set(parser._option_string_actions)
    extra: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}

    def free(short: str, long: str, help_text: str) -> tuple[list[str], dict[str, Any]]:
        """The names still free; only a short one left is a hidden alias of the command's own."""
        names = [name for name in (short, long) if name not in taken]
        return names, {**extra, "help": help_text if long in names else argparse.SUPPRESS}

    names, options = free("-C", "--repo-root", "root of the GitOps repository (default: found by walking up "
                          "to .modelops.yaml or the git top level)")
    if names:
        parser.add_argument(*names, dest="repo_root", metavar="DIR", **options)
    verbosity = parser.add_mutually_exclusive_group()
    for short, long, help_text in (("-q", "--quiet", "only errors and the final result"),
                                   ("-v", "--verbose", "more detail")):
        names, options = free(short, long, help_text)
        if names:
            verbosity.add_argument(*names, dest=long[2:], action="store_true", **options)


def _hide_retired(parser: argparse.ArgumentParser) -> None:
    """A retired spelling listed next to the kept one becomes a hidden alias of it."""
    for action in list(parser._actions):
        old = [o for o in action.option_strings if o in RETIRED]
        if not old or len(old) == len(action.option_strings):
            continue
        action.option_strings = [o for o in action.option_strings if o not in old]
        for option in old:
            del parser._option_string_actions[option]
            kind: dict[str, Any] = ({"action": "store_const", "const": action.const} if action.nargs == 0
                                    else {"type": action.type, "choices": action.choices, "metavar": action.metavar})
            parser.add_argument(option, dest=action.dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kind)


def subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """The direct subcommands of `parser` (name, parser), aliases left out."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) not in seen:
                    seen.add(id(child))
                    found.append((name, child))
    return found


def _add_global_options_below(parser: argparse.ArgumentParser) -> None:
    for _name, child in subparsers(parser):
        _add_global_options(child, top=False)
        _hide_retired(child)
        _add_global_options_below(child)


def _version_text() -> str:
    """modelops's version and each Rego engine's: which one produced findings matters."""
    from generator.policy.engines import DEFAULT_ENGINE, ENGINES, engine_label

    lines = [f"modelops {__version__}"]
    for name in ENGINES:
        if name != "opa-server":
            default = " (default)" if name == DEFAULT_ENGINE else ""
            lines.append(f"  engine {engine_label(name)}{default}")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """`--version`, with the engines' versions found only when asked: importing every
    engine to word a version string cost each command about 0.2 s."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version of modelops and its engines") -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(_version_text())  # on stdout, as argparse's own version action does
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole argparse tree; with `only`, just that subcommand is configured (others
    are listed with their help), so a command does not import every other command."""
    parser = argparse.ArgumentParser(prog="modelops", formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Model specs to a GitOps repository Argo CD can "
                                     "sync, and the policy gate over everything rendered.")
    parser.add_argument("--version", action=_VersionAction)
    _add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in available_commands().items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module)
        if only is None or name == only:
            importlib.import_module(module).configure(command_parser)
    _add_global_options_below(parser)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line with the global options settled (the root discovered)."""
    parser = build_parser(_chosen_command(argv))
    args = parser.parse_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.quiet and args.verbose:
        parser.error("argument -v/--verbose: not allowed with argument -q/--quiet")
    if args.repo_root is None:
        args.repo_root = "." if args.command in NO_DISCOVERY else str(find_root(Path.cwd()))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    pace_collector()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args))
    except ModelopsError as error:
        for line in str(error).splitlines() or ["error"]:
            print(f"modelops: error: {line}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        if not error.filename:
            return _bug()
        # A filesystem problem the command did not name itself: still the user's to fix.
        print(f"modelops: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("modelops: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the bug boundary
        return _bug()


def _bug() -> int:
    """An unexpected exception (being handled): a traceback for the bug report, exit 3."""
    if os.environ.get("MODELOPS_DEBUG"):
        raise  # noqa: PLE0704 - re-raises the exception being handled
    print("modelops: internal error (a bug); details follow", file=sys.stderr)
    traceback.print_exc()
    return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
