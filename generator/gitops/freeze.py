"""Freeze windows of an environment: dated windows and weekly ones, each in a time zone.

`promote` and `release` refuse to change an environment while one is active. Windows
are checked when read: an unknown time zone, an end before its start, or two windows of
the same kind that overlap (ambiguous: which one does an override name?) are errors
with the file, line and field.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from generator.errors import ModelopsError
from generator.spec.model import Environment

__all__ = ["FreezeWindow", "active_window", "freeze_windows"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Weekly windows are compared on one reference week; a fixed one keeps the check stable.
_REFERENCE_MONDAY = date(2026, 1, 5)


@dataclass(frozen=True)
class FreezeWindow:
    name: str
    zone: ZoneInfo
    start: datetime | None = None  # dated window, aware
    end: datetime | None = None
    days: tuple[int, ...] = ()  # weekly window: weekday numbers, Monday = 0
    clock_start: time | None = None
    clock_end: time | None = None

    @property
    def weekly(self) -> bool:
        return bool(self.days)

    def describe(self) -> str:
        if self.weekly:
            days = ",".join(DAYS[d] for d in self.days)
            return f"'{self.name}' (weekly {days} {self.clock_start:%H:%M}-{self.clock_end:%H:%M} {self.zone.key})"
        return f"'{self.name}' ({self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} {self.zone.key})"

    def intervals(self, around: datetime) -> list[tuple[datetime, datetime]]:
        """The window's occurrences (aware, UTC) in the weeks around `around`."""
        if not self.weekly:
            assert self.start is not None and self.end is not None
            return [(self.start.astimezone(UTC), self.end.astimezone(UTC))]
        assert self.clock_start is not None and self.clock_end is not None
        local = around.astimezone(self.zone).date()
        out = []
        for offset in range(-8, 8):
            day = local + timedelta(days=offset)
            if day.weekday() in self.days:
                start = datetime.combine(day, self.clock_start, self.zone)
                end_day = day + timedelta(days=1) if self.clock_end <= self.clock_start else day
                out.append((start.astimezone(UTC), datetime.combine(end_day, self.clock_end, self.zone).astimezone(UTC)))
        return out


def _moment(text: str, zone: ZoneInfo, *, end: bool) -> datetime:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day + timedelta(days=1) if end else day, time(0), zone)
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=zone)


def _window(raw: dict[str, Any], where: str) -> FreezeWindow:
    try:
        zone = ZoneInfo(raw.get("timeZone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelopsError(f"{where}.timeZone: unknown time zone {raw.get('timeZone')!r} "
                            "(use an IANA name such as Europe/Berlin)") from None
    if "weekly" in raw:
        weekly = raw["weekly"]
        return FreezeWindow(raw["name"], zone, days=tuple(sorted(DAYS.index(d) for d in weekly["days"])),
                            clock_start=time.fromisoformat(weekly["start"]), clock_end=time.fromisoformat(weekly["end"]))
    try:
        start, end = _moment(raw["start"], zone, end=False), _moment(raw["end"], zone, end=True)
    except ValueError as error:
        raise ModelopsError(f"{where}: {error}") from None
    if end <= start:
        raise ModelopsError(f"{where}.end: {raw['end']} is not after start {raw['start']}")
    return FreezeWindow(raw["name"], zone, start=start, end=end)


def _where(environment: Environment, path: tuple[str | int, ...]) -> str:
    try:
        line, _ = environment.located.where(path)
        return f"{environment.path}:{line}: freezeWindows[{path[1]}]"
    except (KeyError, ValueError, AttributeError):
        return f"{environment.path}: freezeWindows[{path[1]}]"


def _overlap(a: FreezeWindow, b: FreezeWindow) -> bool:
    """Two dated windows, or two weekly ones, that share a moment (a dated holiday freeze
    over a weekly weekend freeze is normal, and not compared)."""
    if a.weekly != b.weekly:
        return False
    around = a.start or datetime.combine(_REFERENCE_MONDAY, time(12), UTC)
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.intervals(around) for s2, e2 in b.intervals(around))


def freeze_windows(environment: Environment) -> list[FreezeWindow]:
    """The environment's windows, validated (time zones, order, no two overlapping)."""
    windows = []
    for index, raw in enumerate(environment.data.get("freezeWindows") or []):
        windows.append(_window(raw, _where(environment, ("freezeWindows", index))))
    for i, first in enumerate(windows):
        for j in range(i + 1, len(windows)):
            if _overlap(first, windows[j]):
                raise ModelopsError(f"{_where(environment, ('freezeWindows', j))}: window {windows[j].describe()} "
                                    f"overlaps {first.describe()}; merge them or make them disjoint")
    return windows


def active_window(windows: list[FreezeWindow], now: datetime) -> FreezeWindow | None:
    """The window `now` (aware) falls in, if any."""
    for window in windows:
        if any(start <= now < end for start, end in window.intervals(now)):
            return window
    return None
