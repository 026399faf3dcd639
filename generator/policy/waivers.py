"""Waivers: time-boxed, owned exceptions to a policy rule, kept in `waivers.yaml`.

A waiver never deletes a finding: it marks it waived (level info) so every report still
shows it. An expired waiver stops waiving and is itself a deny finding, so exceptions
cannot quietly outlive their owner's promise.
"""
from __future__ import annotations

import datetime
import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from generator.errors import Problem, SpecError
from generator.findings import Finding
from generator.yamlio import Located, load_located

__all__ = ["EXPIRED_RULE", "WAIVERS_FILE", "Waiver", "apply_waivers", "load_waivers", "unknown_rules"]

WAIVERS_FILE = "waivers.yaml"
EXPIRED_RULE = "MO-WAIVER-EXPIRED"
_REQUIRED = ("rule", "reason", "owner", "expires")
_KEYS = (*_REQUIRED, "models", "environments")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    owner: str
    expires: datetime.date  # last day the waiver applies
    models: tuple[str, ...] = ("*",)
    environments: tuple[str, ...] = ("*",)
    file: str = WAIVERS_FILE
    line: int = 0
    column: int = 0

    def covers(self, finding: Finding) -> bool:
        return (finding.rule == self.rule
                and any(fnmatchcase(finding.model, pattern) for pattern in self.models)
                and any(fnmatchcase(finding.environment, pattern) for pattern in self.environments))

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires


class _Entry:
    """One waiver mapping being validated; collects problems instead of raising."""

    def __init__(self, doc: Located, index: int, problems: list[Problem]):
        self.doc, self.path, self.problems = doc, ("waivers", index), problems
        self.data: dict[str, Any] = doc.data["waivers"][index]

    def problem(self, key: str | None, message: str, *, at_key: bool = False) -> None:
        path = self.path if key is None else (*self.path, key)
        self.problems.append(self.doc.problem(path, message, at_key=at_key))

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if key not in self.data:
            self.problem(None, f"missing required key '{key}'")
        elif not isinstance(value, str) or not value.strip():
            self.problem(key, "must be a non-empty string")
        else:
            return value.strip()
        return ""

    def patterns(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, "*")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            self.problem(key, "must be a name, or a non-empty list of names ('*' for all)")
            return ()
        if not all(isinstance(v, str) and v.strip() for v in values):
            self.problem(key, "every entry must be a non-empty string")
            return ()
        return tuple(v.strip() for v in values)

    def expires(self) -> datetime.date | None:
        if "expires" not in self.data:
            self.problem(None, "missing required key 'expires'")
            return None
        value = self.data["expires"]
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        try:
            # The regex keeps out forms fromisoformat also takes (20270131, 2027-W05-1).
            if _ISO_DATE.match(text):
                return datetime.date.fromisoformat(text)
        except ValueError:
            pass
        self.problem("expires", f"{text!r} is not an ISO date (YYYY-MM-DD)")
        return None

    def unknown_keys(self) -> None:
        for key in self.data:
            if key not in _KEYS:
                close = difflib.get_close_matches(key, _KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(_KEYS)}"
                self.problem(key, f"unknown key '{key}'{hint}", at_key=True)

    def waiver(self) -> Waiver | None:
        before = len(self.problems)
        self.unknown_keys()
        rule, reason, owner = self.text("rule"), self.text("reason"), self.text("owner")
        expires = self.expires()
        models, environments = self.patterns("models"), self.patterns("environments")
        if len(self.problems) > before or expires is None:
            return None
        line, column = self.doc.where(self.path)
        return Waiver(rule=rule, reason=reason, owner=owner, expires=expires, models=models,
                      environments=environments, file=self.doc.file, line=line, column=column)


def _entry_indexes(doc: Located, problems: list[Problem]) -> list[int]:
    """Indexes of the well-shaped entries; problems for everything else in the document."""
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict) or "waivers" not in doc.data:
        problems.append(doc.problem((), "expected a mapping with a 'waivers' list"))
        return []
    for key in doc.data:
        if key != "waivers":
            problems.append(doc.problem((key,), f"unknown key '{key}'; expected only 'waivers'", at_key=True))
    entries = doc.data["waivers"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.append(doc.problem(("waivers",), "must be a list of waivers"))
        return []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(doc.problem(("waivers", index), "each waiver must be a mapping"))
    return [index for index, entry in enumerate(entries) if isinstance(entry, dict)]


def load_waivers(path: str | os.PathLike[str], *, display_path: str | None = None) -> list[Waiver]:
    """Read a waivers file; a missing file means no waivers.

    `display_path` is the name used in problems and findings (normally repo-relative);
    it defaults to `path` as given. Raises SpecError listing every problem found.
    """
    file = display_path if display_path is not None else Path(path).as_posix()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        documents = load_located(text, file)
    except ValueError as error:
        # ruamel builds dates while parsing: an impossible one (2027-02-30) raises ValueError.
        raise SpecError([Problem(file, 0, 0, "", f"invalid value: {error}; quote dates as 'YYYY-MM-DD'")]) from None
    if not documents:
        return []
    problems: list[Problem] = []
    if len(documents) > 1:
        problems.append(Problem(file, 1, 1, "", "expected one YAML document, found several"))
    doc = documents[0]
    waivers = [_Entry(doc, index, problems).waiver() for index in _entry_indexes(doc, problems)]
    if problems:
        raise SpecError(problems)
    return [waiver for waiver in waivers if waiver is not None]


def _expired_finding(waiver: Waiver, matched: int) -> Finding:
    scope = "; ".join(f"{name} {', '.join(values)}" for name, values in
                      (("models", waiver.models), ("environments", waiver.environments)) if values != ("*",))
    scope = f" ({scope})" if scope else ""
    enforced = f"; {matched} matching finding{'s are' if matched != 1 else ' is'} enforced again" if matched else ""
    return Finding(
        rule=EXPIRED_RULE, level="deny", severity="high", title="Expired waiver",
        message=(f"waiver for {waiver.rule}{scope} owned by {waiver.owner} expired on"
                 f" {waiver.expires.isoformat()}{enforced}"),
        file=waiver.file, line=waiver.line, column=waiver.column, source="waiver",
        remediation=(f"fix the {waiver.rule} findings and delete the waiver, or renew it with a new"
                     " 'expires' date and an updated reason agreed with its owner"),
    )


def apply_waivers(findings: Iterable[Finding], waivers: Iterable[Waiver],
                  today: datetime.date) -> list[Finding]:
    """Mark findings covered by an unexpired waiver; add one deny finding per expired waiver.

    The first matching waiver in file order wins. Findings keep their order; the
    expired-waiver findings follow them in file order.
    """
    waivers = list(waivers)
    active = [w for w in waivers if not w.expired(today)]
    result = []
    for finding in findings:
        waiver = None if finding.waived else next((w for w in active if w.covers(finding)), None)
        if waiver is None:
            result.append(finding)
            continue
        result.append(finding.with_changes(
            waived=True, level="info", waiver_reason=waiver.reason, waiver_owner=waiver.owner,
            waiver_expires=waiver.expires.isoformat()))
    for waiver in waivers:
        if waiver.expired(today):
            matched = sum(1 for f in result if not f.waived and waiver.covers(f))
            result.append(_expired_finding(waiver, matched))
    return result


def unknown_rules(waivers: Iterable[Waiver], known: Iterable[str]) -> list[Problem]:
    """Waivers naming a rule no loaded policy defines: a typo waives nothing, silently."""
    rule_ids = sorted(set(known) | {EXPIRED_RULE})
    problems = []
    for waiver in waivers:
        if waiver.rule not in rule_ids:
            close = difflib.get_close_matches(waiver.rule, rule_ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(waiver.file, waiver.line, waiver.column, "rule",
                                    f"no loaded policy defines rule '{waiver.rule}'{hint}; this waiver waives nothing"))
    return problems
