"""Shard documents (`check --shard K/N`) and their merge (`report merge`) into one report.

A shard document is the JSON report plus what a merge needs and the JSON format leaves
out: the rule catalogue (SARIF lists it) and which shard of how many it is. The merge
refuses an incomplete or mixed set (a missing, repeated or foreign shard): a merged
report that silently lacks a shard would pass what the unsharded check fails.
"""
from __future__ import annotations

import json
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
    return document


def _check_complete(named: list[tuple[str, dict[str, Any]]]) -> None:
    counts = {doc["shard"].get("count") for _, doc in named}
    if len(counts) != 1:
        raise ModelopsError(f"shards of different splits: N = {', '.join(map(str, sorted(counts, key=str)))}")
    count = counts.pop()
    seen: dict[int, str] = {}
    for name, doc in named:
        index = doc["shard"].get("index")
        if index in seen:
            raise ModelopsError(f"{name}: shard {index}/{count} already read from {seen[index]}")
        seen[index] = name
    missing = [str(i) for i in range(1, int(count) + 1) if i not in seen]
    if missing:
        raise ModelopsError(f"missing shard(s) {', '.join(missing)} of {count}: the merged result would be incomplete")
    for key, what in (("version", "modelops versions"), ("engine", "policy engines")):
        values = {str(doc.get("tool", {}).get(key, "")) for _, doc in named}
        if len(values) != 1:
            raise ModelopsError(f"shards written by different {what}: {', '.join(sorted(values))}")


def merge_shards(texts: Sequence[tuple[str, str]], *, fail_on: str | None = None) -> ReportInput:
    """One report from every shard's document ((display name, text) pairs)."""
    named = [(name, _load(name, text)) for name, text in texts]
    if not named:
        raise ModelopsError("report merge: no shard reports given")
    _check_complete(named)
    findings, checked, errors, documents = [], set(), [], 0
    rules: dict[str, RuleInfo] = {}
    for _, doc in named:
        findings += [Finding(**{k: v for k, v in f.items() if k in _FINDING_FIELDS}) for f in doc["findings"]]
        checked |= {(c["model"], c["environment"]) for c in doc.get("checked", [])}
        rules |= {rid: RuleInfo(**{k: v for k, v in r.items() if k in _RULE_FIELDS})
                  for rid, r in doc.get("rules", {}).items()}
        errors += doc.get("errors", [])
        documents += int(doc.get("summary", {}).get("documents_checked", 0))
    # Shards run with different --fail-on: the strictest wins, as a single run with it would.
    levels = {doc.get("summary", {}).get("fail_on", "deny") for _, doc in named}
    engine = str(named[0][1].get("tool", {}).get("engine") or "")
    return ReportInput(findings=sort_findings(findings), errors=errors, checked=sorted(checked),
                       documents_checked=documents, engine=engine, fail_on=fail_on or ("warn" if "warn" in levels else "deny"), rules=dict(sorted(rules.items())))
