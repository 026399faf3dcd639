"""The conftest flags `policy eval` (conftest test) and `policy test` (conftest verify)
share, and what they mean here.

`--trace` prints OPA's evaluation trace (the opa engine only: regorus keeps none);
`--capabilities FILE` refuses every built-in the file does not list; `--show-builtin-errors`
is always in force (a built-in error fails the run, never reads as undefined); `--strict`
asks for OPA's strict compiler, which no engine here exposes, so it is refused with a
reason rather than ignored; `-c/--config-file`, else `conftest.toml`, fills the rest.
"""
from __future__ import annotations

import argparse
from typing import Any

from generator.policy import PolicyError
from generator.policy.conftest_config import apply_config_file
from generator.policy.network import load_capabilities

__all__ = ["add_conftest_options", "prepare_conftest_options"]


def add_conftest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config-file", metavar="FILE", help="conftest configuration (default: conftest.toml)")
    parser.add_argument("--capabilities", metavar="FILE", help="OPA capabilities file: only the built-ins it lists")
    parser.add_argument("--trace", action="store_true", help="print the evaluation trace to stderr (opa engine)")
    parser.add_argument("--strict", action="store_true", help="OPA's strict compiler mode (refused: see docs)")
    parser.add_argument("--show-builtin-errors", action="store_true",
                        help="accepted: built-in errors always fail the run here")
    parser.add_argument("--quiet", action="store_true", help="print nothing when everything passes")


def prepare_conftest_options(args: argparse.Namespace, parser_defaults: dict[str, Any],
                             engine: str) -> set[str] | None:
    """Apply the configuration file, check the flags against the engine, and return the
    capabilities' built-in names (None without a capabilities file)."""
    apply_config_file(args, parser_defaults, frozenset(getattr(args, "_repeatable", ())))
    if args.strict:
        raise PolicyError("--strict: OPA's strict compiler mode is not exposed by regorus or the OPA binding; "
                          "run `opa check --strict` on the policies instead")
    if args.trace and engine != "opa":
        raise PolicyError(f"--trace needs --engine opa ({engine} keeps no evaluation trace)")
    return load_capabilities(args.capabilities) if args.capabilities else None
