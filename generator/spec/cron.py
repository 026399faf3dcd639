"""A training schedule as Argo Workflows reads it, checked when the spec is loaded.

Argo's controller parses a CronWorkflow's schedule with robfig/cron v3's `ParseStandard`
and, when that fails, marks the object with a spec error and never starts a run: the
CronWorkflow applies cleanly and the weekly training silently stops. The spec's schema
admits the descriptors and five fields; this reads each field as that parser does:
comma-separated ranges (empty items are skipped), `*` or `?` for the whole range, `a`,
`a-b`, each with an optional `/step` (`a/step` runs to the field's maximum), month and
weekday names in any case, weekdays 0 to 6 (Sunday is 0; 7 is refused). General cron
libraries accept other dialects (croniter takes 7 for Sunday, `L` and `#`), so they
would pass schedules Argo refuses.
"""
from __future__ import annotations

from generator.errors import Problem
from generator.spec.model import ModelSpec, ResolvedModel
from generator.spec.training_checks import training_field_path

__all__ = ["schedule_error", "schedule_problems"]

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (name, minimum, maximum, names), in the order of the five fields
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS))


def schedule_error(schedule: str) -> str | None:
    """Why Argo Workflows would refuse `schedule`, or None (a descriptor, or five valid fields)."""
    if schedule.startswith("@"):
        return None  # the schema admits only the descriptors robfig/cron knows
    fields = schedule.split()
    if len(fields) != len(_FIELDS):
        return f"expected exactly {len(_FIELDS)} fields, found {len(fields)}"
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in (p for p in text.split(",") if p):
            problem = _range_error(part, low, high, names)
            if problem:
                return f"{name} '{text}': {problem}"
    return None


def _range_error(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    range_and_step = part.split("/")
    if len(range_and_step) > 2:
        return f"too many slashes in '{part}'"
    bounds = range_and_step[0].split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    elif len(bounds) > 2:
        return f"too many hyphens in '{part}'"
    else:
        numbers = [_number(b, names) for b in bounds]
        if None in numbers:
            return f"'{part}' is not a number{' or a name' if names else ''}"
        start, end = numbers[0], numbers[-1]  # type: ignore[assignment]
        if len(range_and_step) == 2 and len(bounds) == 1:
            end = high  # `a/step` runs from a to the field's maximum
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], {})
        if step is None:
            return f"the step of '{part}' is not a number"
        if step == 0:
            return f"the step of '{part}' must be positive"
    if start < low:
        return f"{start} is below the minimum, {low}"
    if end > high:
        return f"{end} is above the maximum, {high}" + (" (Sunday is 0)" if names is _DAYS and end == 7 else "")
    if start > end:
        return f"the range {start}-{end} runs backwards"
    return None


def _number(text: str, names: dict[str, int]) -> int | None:
    """Go's strconv.Atoi (an optional sign, decimal digits) or a name of the field."""
    if text.lower() in names:
        return names[text.lower()]
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return None if value < 0 else value


def schedule_problems(spec: ModelSpec, resolved: ResolvedModel) -> list[Problem]:
    schedule = (resolved.training or {}).get("schedule")
    if not isinstance(schedule, str):
        return []
    error = schedule_error(schedule)
    if error is None:
        return []
    path = training_field_path(spec, resolved.environment.name, "schedule")
    return [spec.located.problem(path, f"Argo Workflows cannot parse schedule '{schedule}': {error}; the "
                                       "CronWorkflow would apply and never run")]
