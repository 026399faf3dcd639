"""Waivers: time-boxed, owned exceptions to a policy rule, kept in `waivers.yaml`.

A waiver never deletes a finding: it marks it waived (level info) so every report still
shows it. An expired waiver stops waiving and is itself a deny finding, so exceptions
cannot quietly outlive their owner's promise.
"""
from __future__ import annotations

import datetime
import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from generator.errors import Problem, SpecError
from generator.findings import Finding

__all__ = ["EXPIRED_RULE", "WAIVERS_FILE", "Waiver", "apply_waivers", "load_waivers"]

WAIVERS_FILE = "waivers.yaml"
EXPIRED_RULE = "MO-WAIVER-EXPIRED"
_REQUIRED = ("rule", "reason", "owner", "expires")
_KEYS = (*_REQUIRED, "models", "environments")


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

    def __init__(self, data: CommentedMap, index: int, file: str, problems: list[Problem]):
        self.data, self.index, self.file, self.problems = data, index, file, problems

    def where(self, key: str | None = None) -> tuple[int, int]:
        if key is not None and key in self.data:
            line, column = self.data.lc.value(key)
        else:
            line, column = self.data.lc.line, self.data.lc.col
        return line + 1, column + 1

    def problem(self, key: str | None, message: str, *, at_key: bool = False) -> None:
        if at_key and key is not None:
            line, column = (n + 1 for n in self.data.lc.key(key))
        else:
            line, column = self.where(key)
        path = f"waivers[{self.index}]" + (f".{key}" if key else "")
        self.problems.append(Problem(self.file, line, column, path, message))

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
        try:
            return datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            self.problem("expires", f"{str(value)!r} is not an ISO date (YYYY-MM-DD)")
            return None

    def unknown_keys(self) -> None:
        for key in self.data:
            if key not in _KEYS:
                close = difflib.get_close_matches(str(key), _KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(_KEYS)}"
                self.problem(str(key), f"unknown key '{key}'{hint}", at_key=True)

    def waiver(self) -> Waiver | None:
        before = len(self.problems)
        self.unknown_keys()
        rule, reason, owner = self.text("rule"), self.text("reason"), self.text("owner")
        expires = self.expires()
        models, environments = self.patterns("models"), self.patterns("environments")
        if len(self.problems) > before or expires is None:
            return None
        line, column = self.where()
        return Waiver(rule=rule, reason=reason, owner=owner, expires=expires, models=models,
                      environments=environments, file=self.file, line=line, column=column)


def _parse(text: str, file: str) -> Any:
    try:
        # Round-trip mode keeps line/column on every mapping and sequence; it builds
        # only plain containers and scalars, never arbitrary objects.
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(p for p in (error.context, error.problem) if p) or "invalid YAML"
        raise SpecError([Problem(file, line, column, "", f"invalid YAML: {message}")]) from None


def _entries(document: Any, file: str, problems: list[Problem]) -> Iterable[tuple[int, CommentedMap]]:
    if document is None:
        return []
    if not isinstance(document, CommentedMap) or "waivers" not in document:
        problems.append(Problem(file, 1, 1, "", "expected a mapping with a 'waivers' list"))
        return []
    for key in document:
        if key != "waivers":
            line, column = document.lc.key(key)
            problems.append(Problem(file, line + 1, column + 1, str(key), f"unknown key '{key}'; expected only 'waivers'"))
    entries = document["waivers"]
    if entries is None:
        return []
    if not isinstance(entries, CommentedSeq):
        line, column = document.lc.value("waivers")
        problems.append(Problem(file, line + 1, column + 1, "waivers", "must be a list of waivers"))
        return []
    found = []
    for index, entry in enumerate(entries):
        if isinstance(entry, CommentedMap):
            found.append((index, entry))
        else:
            line, column = entries.lc.item(index)
            problems.append(Problem(file, line + 1, column + 1, f"waivers[{index}]", "each waiver must be a mapping"))
    return found


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
    problems: list[Problem] = []
    waivers = [_Entry(entry, index, file, problems).waiver()
               for index, entry in _entries(_parse(text, file), file, problems)]
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
