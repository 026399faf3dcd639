"""Training schedules read as Argo Workflows reads them (robfig/cron v3's ParseStandard)."""
from __future__ import annotations

import pytest

from generator.spec.cron import schedule_error

ACCEPTED = [
    "0 3 * * 0", "*/15 * * * *", "0 3 * * SUN", "0 3 * * sun-sat", "0 3 ? * MON", "0 3 * JAN-MAR mon,fri",
    "0 3 1,,15 * *",  # an empty list item is skipped, as strings.FieldsFunc does
    "5/10 * * * *",  # a/step runs from a to the field's maximum
    "*-7 * * * *",  # a `*` range ignores what follows its hyphen, as the parser does
    "+5 * * * *",  # Go's Atoi takes a sign
    "0 0 31 12 6", "@weekly", "@midnight",
]
REFUSED = {
    "0 3 * * 7": "day of week '7': 7 is above the maximum, 6 (Sunday is 0)",
    "0 25 * * *": "hour '25': 25 is above the maximum, 23",
    "60 * * * *": "minute '60': 60 is above the maximum, 59",
    "0 0 0 * *": "day of month '0': 0 is below the minimum, 1",
    "0 0 1 13 *": "month '13': 13 is above the maximum, 12",
    "*/0 * * * *": "minute '*/0': the step of '*/0' must be positive",
    "5-2 * * * *": "minute '5-2': the range 5-2 runs backwards",
    "0 3 L * *": "day of month 'L': 'L' is not a number",  # Quartz's last day: croniter takes it
    "0 3 * * 1#2": "day of week '1#2': '1#2' is not a number or a name",
    "1-2-3 * * * *": "minute '1-2-3': too many hyphens in '1-2-3'",
    "1/2/3 * * * *": "minute '1/2/3': too many slashes in '1/2/3'",
    "0 3 * * * *": "expected exactly 5 fields, found 6",
    "\u0663 * * * *": "minute '\u0663': '\u0663' is not a number",  # a digit to Python, not to Go
}


@pytest.mark.parametrize("schedule", ACCEPTED)
def test_what_argo_accepts_passes(schedule):
    assert schedule_error(schedule) is None


@pytest.mark.parametrize(("schedule", "reason"), sorted(REFUSED.items()))
def test_what_argo_refuses_is_named_with_its_field(schedule, reason):
    assert schedule_error(schedule) == reason
