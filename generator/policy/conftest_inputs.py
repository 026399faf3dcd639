"""The files `policy eval` checks, read the way `conftest test` reads them.

YAML streams keep empty documents (as null), local tags (`!Ref`) read as plain values as
go-yaml reads them, JSON is one document, `-` is standard input, directories are walked
in `filepath.Walk` order for .yaml/.yml/.json files, and blank names are skipped.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode

from generator.errors import ModelopsError

__all__ = ["load_documents", "combined_input", "INPUT_SUFFIXES"]


class _UntaggedConstructor(SafeConstructor):
    """Local tags (`!Ref`, `!GetAtt`, `!Sub` in CloudFormation) read as their plain value,
    as conftest's YAML parser (go-yaml) reads them: a tagged scalar is its string."""


def _untagged(constructor: SafeConstructor, _suffix: str, node: Any) -> Any:
    if isinstance(node, MappingNode):
        return constructor.construct_mapping(node, deep=True)
    if isinstance(node, SequenceNode):
        return constructor.construct_sequence(node, deep=True)
    return constructor.construct_scalar(node)


_UntaggedConstructor.add_multi_constructor("!", _untagged)


def _yaml() -> YAML:
    loader = YAML(typ="safe", pure=True)
    loader.Constructor = _UntaggedConstructor
    return loader


def _parse_yaml(text: str, name: str) -> list[Any]:
    """Every document of the stream, as conftest's YAML decoder reads them: an empty
    document (`---` with nothing after it) is a null document, checked like any other."""
    try:
        return list(_yaml().load_all(text))
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise ModelopsError(f"{where}: invalid YAML: {getattr(error, 'problem', None) or error}") from error


def _parse_text(text: str, name: str, *, as_json: bool) -> list[Any]:
    if not as_json:
        return _parse_yaml(text, name)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as error:
        raise ModelopsError(f"{name}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error


INPUT_SUFFIXES = (".yaml", ".yml", ".json")


def _expand(files: Sequence[str], ignore: str | None = None) -> list[str]:
    """conftest's file list: blank names skipped, directories walked (in filepath.Walk's
    order) for their YAML/JSON files, less those whose path matches `ignore`."""
    try:
        skip = re.compile(ignore) if ignore else None
    except re.error as error:
        raise ModelopsError(f"--ignore {ignore}: invalid regular expression: {error}") from error
    expanded: list[str] = []
    for name in files:
        if name and name != "-" and Path(name).is_dir():
            found = sorted((p for p in Path(name).rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES),
                           key=lambda p: p.parts)
            expanded += [str(p) for p in found if not (skip and skip.search(str(p)))]
        elif name:
            expanded.append(name)
    if not expanded:
        raise ModelopsError("no files found")
    return expanded


def load_documents(files: Sequence[str], stdin: Any = None, *, parser: str | None = None,
                   ignore: str | None = None) -> dict[str, list[Any]]:
    """File name -> its documents (YAML multi-doc or JSON); '-' reads stdin; directories recurse.

    `parser` forces "yaml" or "json" for every file (conftest's --parser)."""
    configurations: dict[str, list[Any]] = {}
    for name in _expand(files, ignore):
        if name == "-":
            text = (stdin or sys.stdin).read()
            as_json = text.lstrip().startswith(("{", "["))
        else:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except OSError as error:
                raise ModelopsError(f"{name}: cannot read: {error.strerror or error}") from error
            as_json = name.lower().endswith(".json")
        configurations[name] = _parse_text(text, name, as_json=as_json if parser is None else parser == "json")
    return configurations


def combined_input(configurations: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """conftest --combine: one entry per document, {path, contents}, stably sorted by path."""
    combined = [{"path": path, "contents": doc} for path, docs in configurations.items() for doc in docs]
    return sorted(combined, key=lambda item: item["path"])
