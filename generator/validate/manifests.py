"""Validate any Kubernetes manifests (kubeconform's job), with CEL rules and line numbers.

Documents are parsed by libyaml without positions; only a file with a problem is parsed
a second time for the line and column of each problem, so valid files cost one parse.
Statuses and their meaning follow kubeconform: valid, invalid (the schema or a CEL rule
rejects it), error (unparsable, or no schema known), skipped, empty.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ModelopsError
from generator.validate.schemas import SchemaRegistry, SchemaViolation
from generator.yamlio import load_all_fast

__all__ = ["STATUSES", "Problem", "ResourceResult", "ValidateOptions", "manifest_files", "validate_text"]

STATUSES = ("valid", "invalid", "error", "skipped", "empty")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int = 0
    column: int = 0
    source: str = "schema"  # schema | cel | cel-unevaluable
    parts: tuple[str | int, ...] = ()


@dataclass
class ResourceResult:
    file: str
    status: str
    kind: str = ""
    name: str = ""
    namespace: str = ""
    version: str = ""
    line: int = 0
    message: str = ""  # for errors
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in ("invalid", "error")


@dataclass(frozen=True)
class ValidateOptions:
    ignore_missing_schemas: bool = False
    skip_kinds: frozenset[str] = frozenset()
    reject_kinds: frozenset[str] = frozenset()


def manifest_files(paths: Iterable[str]) -> Iterator[Path]:
    """Files named, and the manifests under folders named (in lexical order, as
    kubeconform's filepath.Walk goes)."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(folder: Path) -> Iterator[Path]:
    """Manifests under `folder`, each folder's entries by name, a subfolder's where its
    name falls; linked folders are not entered (as `Path.rglob`). One scandir a folder:
    a corpus of 24,000 files is listed in a tenth of the time of globbing and sorting."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(folder / entry.name)
        elif os.path.splitext(entry.name)[1] in MANIFEST_SUFFIXES and entry.is_file():
            yield folder / entry.name


def validate_text(text: str, file: str, registry: SchemaRegistry, options: ValidateOptions) -> list[ResourceResult]:
    try:
        documents = load_all_fast(text, file)
    except ModelopsError as error:
        return [ResourceResult(file, "error", message=str(error))]
    if not documents:
        return [ResourceResult(file, "empty")]
    resources = _resources(documents)
    results = [_check(document, file, registry, options) for document, _ in resources]
    if any(r.problems or r.status == "error" for r in results):
        _add_lines(text, results, [where for _, where in resources])
    return results


Place = tuple[int, tuple[str | int, ...]]  # (document index, path to the resource inside it)


def _resources(documents: list[Any]) -> list[tuple[Any, Place]]:
    """Each document, with a `List` (what `kubectl get -o yaml` prints) replaced by its
    items, as kubeconform reads one (any apiVersion, kind "List" in any case)."""
    found: list[tuple[Any, Place]] = []
    for index, document in enumerate(documents):
        if isinstance(document, dict) and str(document.get("kind", "")).lower() == "list":
            items = document.get("items")
            if items is not None and not isinstance(items, list):
                # kubeconform reads such a List as empty and passes it; kubectl cannot apply it
                found.append((_Unreadable(f"List items must be a list, got {type(items).__name__}"),
                              (index, ("items",))))
                continue
            found += [(item, (index, ("items", position))) for position, item in enumerate(items or [])]
        else:
            found.append((document, (index, ())))
    return found


@dataclass(frozen=True)
class _Unreadable:
    """A place where a resource should be and is not: reported as an error there."""

    message: str


def _signature(document: dict[str, Any], file: str, status: str) -> ResourceResult:
    found = document.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    return ResourceResult(file, status, kind=str(document.get("kind", "")), name=str(metadata.get("name", "")),
                          namespace=str(metadata.get("namespace", "")), version=str(document.get("apiVersion", "")))


def _check(document: Any, file: str, registry: SchemaRegistry, options: ValidateOptions) -> ResourceResult:
    if isinstance(document, _Unreadable):
        return ResourceResult(file, "error", message=document.message)
    if not isinstance(document, dict):
        return ResourceResult(file, "error", message="document is not a mapping")
    result = _signature(document, file, "valid")
    if not result.kind or not result.version:
        result.status, result.message = "error", "missing 'kind' or 'apiVersion'"
        return result
    # kubeconform's order and names: skip before reject, each by kind or by apiVersion/kind
    named = {result.kind, f"{result.version}/{result.kind}"}
    if named & options.skip_kinds:
        result.status = "skipped"
        return result
    if named & options.reject_kinds:
        result.status, result.message = "error", f"prohibited resource kind {result.kind}"
        return result
    schema = registry.find(result.version, result.kind)
    if schema is None:
        result.status = "skipped" if options.ignore_missing_schemas else "error"
        result.message = "" if options.ignore_missing_schemas else \
            f"could not find schema for {result.kind} ({result.version})"
        return result
    violations = schema.violations(document)
    if violations:
        result.status = "invalid"
        result.problems = [_problem(v) for v in violations]
    return result


def _problem(violation: SchemaViolation) -> Problem:
    return Problem(violation.path, violation.message, source=violation.source, parts=violation.parts)


def _add_lines(text: str, results: list[ResourceResult], places: list[Place]) -> None:
    """Line and column of each resource and problem (the deepest existing node on its path)."""
    try:
        roots = [node for node in yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                 if node is not None]
    except yaml.YAMLError:
        return
    for result, (index, prefix) in zip(results, places, strict=True):
        if index >= len(roots):
            continue
        resource = _deepest(roots[index], prefix)  # the document, or its item in a List
        result.line = resource.start_mark.line + 1
        result.problems = [_located(problem, resource) for problem in result.problems]


def _deepest(node: Any, parts: Iterable[str | int]) -> Any:
    for part in parts:
        found = _child(node, part)
        if found is None:
            break
        node = found[0]
    return node


def _located(problem: Problem, root: Any) -> Problem:
    node, mark = root, root.start_mark
    for part in problem.parts:
        found = _child(node, part)
        if found is None:
            break
        node, mark = found
    return Problem(problem.path, problem.message, mark.line + 1, mark.column + 1, problem.source, problem.parts)


def _child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    """(the child node, where to point: a mapping's key, a sequence's item)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value, key.start_mark
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part].start_mark
    return None
