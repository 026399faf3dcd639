"""Shard documents (`check --shard K/N`) and their merge (`report merge`) into one report.

A shard document is the JSON report plus what a merge needs and the JSON format leaves
out: the rule catalogue (SARIF lists it) and which shard of how many it is. The merge
refuses an incomplete or mixed set (a missing, repeated or foreign shard): a merged
report that silently lacks a shard would pass what the unsharded check fails.
"""
from __future__ import annotations

import itertools
import json
import typing
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from generator.check.shard import Shard
from generator.errors import ModelopsError
from generator.findings import Finding, sort_findings
from generator.report import json as json_format
from generator.report.model import ReportInput, RuleInfo

__all__ = ["merge_shards", "shard_document"]

_FINDING_FIELDS = {f.name for f in fields(Finding)}
_RULE_FIELDS = {f.name for f in fields(RuleInfo)}
_JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


def _record_schema(cls: type, required: tuple[str, ...]) -> dict[str, Any]:
    """A dataclass's fields as JSON Schema (unknown keys allowed: a later version may add some)."""
    hints = typing.get_type_hints(cls)
    properties = {f.name: {"type": _JSON_TYPES.get(hints[f.name], "object")} for f in fields(cls)}
    return {"type": "object", "required": list(required), "properties": properties}


# What `check --shard` writes and a merge reads; anything else is refused with its path.
SHARD_SCHEMA = {
    "type": "object",
    "required": ["shard", "findings", "checked", "summary", "tool"],
    "properties": {
        "shard": {"type": "object", "required": ["index", "count"],
                  "properties": {"index": {"type": "integer", "minimum": 1}, "count": {"type": "integer", "minimum": 1}}},
        "findings": {"type": "array", "items": _record_schema(Finding, ("rule", "level", "message"))},
        "rules": {"type": "object", "additionalProperties": _record_schema(RuleInfo, ("id",))},
        "checked": {"type": "array", "items": {"type": "object", "required": ["model", "environment"],
                                               "properties": {"model": {"type": "string"},
                                                              "environment": {"type": "string"}}}},
        "summary": {"type": "object", "properties": {"fail_on": {"enum": ["warn", "deny"]},
                                                     "documents_checked": {"type": "integer", "minimum": 0}}},
        "errors": {"type": "array"},
        "tool": {"type": "object", "properties": {"version": {"type": "string"}, "engine": {"type": "string"}}},
    },
}


def shard_document(report: ReportInput, shard: Shard) -> str:
    document = json.loads(json_format.render(report))
    document["shard"] = {"index": shard.index, "count": shard.count}
    document["rules"] = {rule_id: vars(info) for rule_id, info in sorted(report.rules.items())}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _load(name: str, text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelopsError(f"{name}:{error.lineno}: not a JSON report: {error.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("shard"), dict) \
            or not isinstance(document.get("findings"), list):
        raise ModelopsError(f"{name}: not a shard report (write one with `modelops check --shard K/N`)")
    import jsonschema  # here: `check` imports this module for shard_document, and a cached check imports no validator

    wrong = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(SHARD_SCHEMA).iter_errors(document))
    if wrong is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in wrong.absolute_path).lstrip(".")
        raise ModelopsError(f"{name}: malformed shard report at {where or 'the top level'}: {wrong.message}")
    return document


def _shard_of(name: str, doc: dict[str, Any]) -> tuple[int, int]:
    """(K, N) of a shard report with K <= N (SHARD_SCHEMA, checked on load, made both integers >= 1)."""
    index, count = doc["shard"]["index"], doc["shard"]["count"]
    if index > count:
        raise ModelopsError(f"{name}: shard {index!r} of {count!r} is not K/N with 1 <= K <= N "
                            "(write one with `modelops check --shard K/N`)")
    return index, count


def _check_complete(named: list[tuple[str, dict[str, Any]]]) -> None:
    shards = [(name, *_shard_of(name, doc)) for name, doc in named]
    counts = {count for _, _, count in shards}
    if len(counts) != 1:
        raise ModelopsError(f"shards of different splits: N = {', '.join(map(str, sorted(counts)))}")
    count = counts.pop()
    seen: dict[int, str] = {}
    for name, index, _ in shards:
        if index in seen:
            raise ModelopsError(f"{name}: shard {index}/{count} already read from {seen[index]}")
        seen[index] = name
    if len(seen) < count:  # every index is in 1..N and none repeats: fewer than N means some are missing
        first = [str(i) for i in itertools.islice((i for i in range(1, count + 1) if i not in seen), 10)]
        more = count - len(seen) - len(first)
        raise ModelopsError(f"missing shard(s) {', '.join(first)}{f' and {more} more' if more else ''} of {count}: "
                            "the merged result would be incomplete")
    for key, what in (("version", "modelops versions"), ("engine", "policy engines")):
        values = {str(doc.get("tool", {}).get(key, "")) for _, doc in named}
        if len(values) != 1:
            raise ModelopsError(f"shards written by different {what}: {', '.join(sorted(values))}")


def _records(name: str, doc: dict[str, Any]) -> tuple[list[Finding], dict[str, RuleInfo]]:
    try:
        findings = [Finding(**{k: v for k, v in f.items() if k in _FINDING_FIELDS}) for f in doc["findings"]]
        rules = {rid: RuleInfo(**{k: v for k, v in r.items() if k in _RULE_FIELDS})
                 for rid, r in doc.get("rules", {}).items()}
    except (TypeError, AttributeError) as error:
        raise ModelopsError(f"{name}: malformed shard report: {error}") from None
    return findings, rules


def merge_shards(texts: Sequence[tuple[str, str]], *, fail_on: str | None = None) -> ReportInput:
    """One report from every shard's document ((display name, text) pairs)."""
    named = [(name, _load(name, text)) for name, text in texts]
    if not named:
        raise ModelopsError("report merge: no shard reports given")
    _check_complete(named)
    findings: list[Finding] = []
    rules: dict[str, RuleInfo] = {}
    for name, doc in named:
        more, catalogue = _records(name, doc)
        findings += more
        rules |= catalogue
    checked = {(c["model"], c["environment"]) for _, doc in named for c in doc.get("checked", [])}
    # Shards run with different --fail-on: the strictest wins, as a single run with it would.
    levels = {doc.get("summary", {}).get("fail_on", "deny") for _, doc in named}
    return ReportInput(findings=sort_findings(findings), errors=[e for _, d in named for e in d.get("errors", [])],
                       checked=sorted(checked), rules=dict(sorted(rules.items())),
                       documents_checked=sum(int(d.get("summary", {}).get("documents_checked", 0)) for _, d in named),
                       engine=str(named[0][1].get("tool", {}).get("engine") or ""),
                       fail_on=fail_on or ("warn" if "warn" in levels else "deny"))
