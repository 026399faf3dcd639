"""generator.console: the colour decision (no-color.org, force-color.org) and the progress bar."""
from __future__ import annotations

import io

import pytest

from generator.console import Progress, in_ci, paint, use_color


class FakeStream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class ClosedStream:
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("tty", "environ", "expected"), [
    (True, {}, True),
    (False, {}, False),
    (True, {"NO_COLOR": "1"}, False),
    (True, {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value disables
    (True, {"TERM": "dumb"}, False),
    (True, {"TERM": "xterm-256color"}, True),
    (False, {"FORCE_COLOR": "1"}, True),
    (False, {"FORCE_COLOR": ""}, False),
    (False, {"FORCE_COLOR": "0"}, False),
    (False, {"FORCE_COLOR": "1", "TERM": "dumb"}, True),
    (True, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as in CPython
])
def test_use_color(tty, environ, expected):
    assert use_color(FakeStream(tty), environ) is expected


def test_use_color_reads_the_process_environment(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("NO_COLOR", "yes")
    assert use_color(FakeStream(True)) is False
    monkeypatch.delenv("NO_COLOR")
    assert use_color(FakeStream(True)) is True


def test_streams_that_cannot_answer_are_not_terminals():
    assert use_color(ClosedStream(), {}) is False
    assert use_color(object(), {}) is False


def test_paint():
    assert paint("deny", "bold red", enabled=True) == "\x1b[1;31mdeny\x1b[0m"
    assert paint("deny", "bold red", enabled=False) == "deny"
    assert paint("", "red", enabled=True) == ""


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("", False), ("false", False)])
def test_in_ci(value, expected):
    assert in_ci({"CI": value}) is expected


def test_bar_on_a_terminal_redraws_one_line_and_clears_it():
    stream, clock = FakeStream(True), Clock()
    with Progress(4, "checking", stream=stream, clock=clock, environ={}) as progress:
        for _ in range(4):
            clock.now += 1
            progress.advance()
    text = stream.getvalue()
    assert "\n" not in text
    assert text.count("\r") == 1 + 4 + 2  # the initial draw, one per step, then the clear
    assert "checking [" in text and "4/4 100%" in text
    assert text.endswith("\r")


def test_bar_is_throttled_but_always_draws_the_end():
    stream, clock = FakeStream(True), Clock()
    with Progress(1000, stream=stream, clock=clock, min_interval=0.1, environ={}) as progress:
        for _ in range(1000):
            progress.advance()  # the clock never moves: no redraws until the last step
    draws = [part for part in stream.getvalue().split("\r") if part.strip()]
    assert len(draws) == 2
    assert draws[-1].startswith("[") and "1000/1000 100%" in draws[-1]


@pytest.mark.parametrize(("tty", "environ", "quiet"), [
    (False, {}, False),
    (True, {"CI": "true"}, False),
    (True, {"TERM": "dumb"}, False),
    (True, {}, True),
])
def test_no_output_off_a_terminal_in_ci_or_quiet(tty, environ, quiet):
    stream = FakeStream(tty)
    with Progress(50, "rendering", stream=stream, quiet=quiet, environ=environ) as progress:
        for _ in range(50):
            progress.advance()
    assert stream.getvalue() == ""


def test_verbose_without_a_terminal_prints_one_line_per_ten_percent():
    stream = FakeStream(False)
    with Progress(25, "rendering", stream=stream, verbose=True, environ={"CI": "true"}) as progress:
        for _ in range(25):
            progress.advance()
    lines = stream.getvalue().splitlines()
    assert lines == [f"rendering: {p}% ({n}/25)" for p, n in
                     [(10, 3), (20, 5), (30, 8), (40, 10), (50, 13), (60, 15), (70, 18), (80, 20), (90, 23), (100, 25)]]


def test_quiet_beats_verbose():
    stream = FakeStream(False)
    with Progress(10, stream=stream, quiet=True, verbose=True, environ={}) as progress:
        progress.advance(10)
    assert stream.getvalue() == ""


def test_empty_work_draws_a_complete_bar():
    stream = FakeStream(True)
    with Progress(0, stream=stream, environ={}):
        pass
    assert "0/0 100%" in stream.getvalue()
