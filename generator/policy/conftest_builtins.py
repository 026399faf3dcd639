"""conftest's own built-ins, for policies written for conftest: `parse_config`,
`parse_config_file` and `parse_combined_config_files`, for YAML and JSON.

conftest resolves a relative path against the directory of the calling policy; an engine's
custom built-in is not told its caller, so a relative path is tried against the current
directory and then against each policy directory, in the order they were given.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

__all__ = ["conftest_builtins"]

PARSERS = ("yaml", "yml", "json")


def _parse(parser: str, text: str) -> Any:
    kind = parser.lower()
    if kind not in PARSERS:
        raise ValueError(f"parse_config: unknown parser {parser!r} (modelops reads yaml and json)")
    if kind == "json":
        return json.loads(text)
    try:
        return json.loads(json.dumps(YAML(typ="safe", pure=True).load(text), default=str))
    except YAMLError as error:
        raise ValueError(f"parse_config: invalid YAML: {str(error).splitlines()[0]}") from error


def _parser_for(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in PARSERS:
        raise ValueError(f"parse_config_file: {path}: modelops reads .yaml, .yml and .json files")
    return suffix


def conftest_builtins(policy_dirs: Sequence[str | Path]) -> dict[str, tuple[int, Callable[..., Any]]]:
    """The three built-ins, resolving relative paths as the module docstring says."""
    roots = [Path.cwd(), *(Path(d) if Path(d).is_dir() else Path(d).parent for d in policy_dirs)]

    def resolve(given: str) -> Path:
        path = Path(given)
        if path.is_absolute():
            return path
        return next((root / path for root in roots if (root / path).is_file()), roots[0] / path)

    def parse_config_file(given: str) -> Any:
        path = resolve(given)
        return _parse(_parser_for(path), path.read_text(encoding="utf-8"))

    def parse_combined_config_files(paths: Sequence[str]) -> Any:
        return [{"path": str(given), "contents": parse_config_file(given)} for given in paths]

    return {
        "parse_config": (2, _parse),
        "parse_config_file": (1, parse_config_file),
        "parse_combined_config_files": (1, parse_combined_config_files),
    }
