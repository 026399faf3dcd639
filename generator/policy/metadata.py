"""OPA `# METADATA` annotations, parsed from the comments (policies cannot read their own portably).

A block is a run of comment lines starting with `# METADATA`; the rest is YAML. Its scope
is `package` when it precedes the package clause, otherwise `rule` (for the rule that
follows), unless the block says `scope:` itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from generator.policy import PolicyError
from generator.yamlio import load_one_fast

__all__ = ["Annotation", "ModuleMetadata", "parse_metadata", "SEVERITIES"]

SEVERITIES = ("low", "medium", "high", "critical")
_SCOPES = {"package", "rule", "document", "subpackages"}


@dataclass(frozen=True)
class Annotation:
    scope: str
    line: int
    target: str = ""  # the rule name for rule/document scope, the package otherwise
    title: str = ""
    description: str = ""
    id: str = ""
    severity: str = ""
    remediation: str = ""
    custom: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)
    kinds: frozenset[str] | None = None  # custom.kinds: the only input kinds the package reviews


@dataclass(frozen=True)
class ModuleMetadata:
    package: str
    package_annotation: Annotation | None = None
    rule_annotations: tuple[Annotation, ...] = ()

    def for_rule(self, rule: str) -> Annotation | None:
        """The rule's own annotation when it has one, else the package's."""
        for annotation in self.rule_annotations:
            if annotation.target == rule:
                return annotation
        return self.package_annotation


def _blocks(lines: list[str]) -> list[tuple[int, list[str], int]]:
    """(first line number, YAML lines, index of the line after the block) per block."""
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() != "# METADATA":
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i].lstrip().startswith("#"):
            text = lines[i].lstrip()[1:]
            body.append(text[1:] if text.startswith(" ") else text)
            i += 1
        blocks.append((start, body, i))
    return blocks


def _next_statement(lines: list[str], index: int) -> tuple[str, str]:
    """('package'|'rule', name) of the first statement at or after `index`."""
    for line in lines[index:]:
        words = line.strip().replace("[", " ").replace("(", " ").replace("=", " ").replace(":", " ").split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "package":
            return "package", words[1] if len(words) > 1 else ""
        if words[0] == "default" and len(words) > 1:
            return "rule", words[1]
        return "rule", words[0]
    return "rule", ""


def _annotation(path: str, line: int, data: Any, kind: str, target: str) -> Annotation:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}:{line}:1: METADATA must be a YAML mapping")
    scope = str(data.get("scope", kind))
    if scope not in _SCOPES:
        raise PolicyError(f"{path}:{line}:1: METADATA scope {scope!r} is not one of {sorted(_SCOPES)}")
    custom = data.get("custom") or {}
    if not isinstance(custom, dict):
        raise PolicyError(f"{path}:{line}:1: METADATA custom must be a mapping")
    severity = str(custom.get("severity", "") or "").lower()
    if severity and severity not in SEVERITIES:
        raise PolicyError(f"{path}:{line}:1: METADATA custom.severity {severity!r} "
                          f"is not one of {', '.join(SEVERITIES)}")
    kinds = custom.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds)):
        raise PolicyError(f"{path}:{line}:1: METADATA custom.kinds must be a list of kinds")
    return Annotation(
        scope=scope, line=line, target=target, kinds=frozenset(kinds) if kinds is not None else None,
        title=str(data.get("title", "") or ""), description=str(data.get("description", "") or "").strip(),
        id=str(custom.get("id", "") or ""), severity=severity,
        remediation=str(custom.get("remediation", "") or "").strip(),
        custom=MappingProxyType(dict(custom)),
    )


def parse_metadata(source: str, package: str, path: str = "<policy>") -> ModuleMetadata:
    """Annotations of one module; malformed YAML raises PolicyError at file:line."""
    lines = source.splitlines()
    package_annotation, rules = None, []
    for start, body, after in _blocks(lines):
        try:
            data = load_one_fast("\n".join(body))
        except yaml.YAMLError as error:
            raise PolicyError(f"{path}:{start}:1: invalid METADATA YAML: {str(error).splitlines()[0]}") from error
        kind, name = _next_statement(lines, after)
        annotation = _annotation(path, start, data, kind, name if kind == "rule" else package)
        if annotation.scope in {"package", "subpackages"}:
            package_annotation = annotation
        else:
            rules.append(annotation)
    return ModuleMetadata(package=package, package_annotation=package_annotation, rule_annotations=tuple(rules))
