"""conftest's configuration file: `conftest.toml` in the current directory, or `-c FILE`.

Its keys are the long flag names (`policy`, `namespace`, `data`, `all-namespaces`, ...);
a flag given on the command line wins over the file, as with conftest.
"""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from generator.policy import PolicyError

__all__ = ["apply_config_file", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = "conftest.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the configuration file: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: invalid TOML: {error}") from error


def apply_config_file(args: argparse.Namespace, parser_defaults: dict[str, Any],
                      repeatable: frozenset[str] = frozenset()) -> None:
    """Fill every option still at its default from the configuration file, if there is one."""
    given = getattr(args, "config_file", None)
    path = Path(given) if given else Path(DEFAULT_CONFIG)
    if not given and not path.is_file():
        return
    for key, value in _read(path).items():
        dest = key.replace("-", "_")
        if dest not in parser_defaults:
            raise PolicyError(f"{path}: unknown setting {key!r}")
        if getattr(args, dest, None) == parser_defaults[dest]:
            setattr(args, dest, [value] if dest in repeatable and not isinstance(value, list) else value)
