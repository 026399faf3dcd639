"""Terminal output helpers shared by commands: colour decisions and a progress bar.

Commands own stdout and stderr; library code never prints. These helpers only decide
*how* a command writes to a stream it was given, so tests pass any object with
`write`, `flush` and `isatty`.

Colour follows no-color.org and force-color.org in the order CPython's own `_colorize`
uses: a non-empty NO_COLOR always wins, then a non-empty FORCE_COLOR, then TERM=dumb,
then whether the stream is a terminal.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Protocol, Self

__all__ = ["Stream", "use_color", "paint", "in_ci", "Progress"]

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}


class Stream(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...
    def isatty(self) -> bool: ...


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, ""))


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream is not a terminal
        return False


def use_color(stream: object, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ANSI colour should be written to `stream`."""
    env = os.environ if environ is None else environ
    if _flag(env, "NO_COLOR"):
        return False
    if _flag(env, "FORCE_COLOR") and env.get("FORCE_COLOR") != "0":
        return True
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def paint(text: str, style: str, *, enabled: bool) -> str:
    """`text` wrapped in the ANSI codes for `style` (e.g. "red" or "bold red") when enabled."""
    if not enabled or not text:
        return text
    codes = ";".join(_STYLES[name] for name in style.split())
    return f"\x1b[{codes}m{text}\x1b[0m"


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """CI systems set CI=true (GitHub, GitLab, most others); a redrawn bar only fills their logs."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.lower() not in ("", "0", "false", "no")


class Progress:
    """A progress bar for long loops, used as a context manager around `advance()` calls.

    On an interactive terminal it redraws one line with `\\r`, at most every
    `min_interval` seconds. Elsewhere (a pipe, a file, CI, or --quiet) it writes nothing,
    except one line per 10% when `verbose`, so logs show that work is moving without
    thousands of redraws.
    """

    WIDTH = 24

    def __init__(self, total: int, label: str = "", *, stream: Stream | None = None, quiet: bool = False,
                 verbose: bool = False, min_interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, environ: Mapping[str, str] | None = None):
        self.total = max(0, total)
        self.label = label
        self.stream: Stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.min_interval = min_interval
        self.clock = clock
        self._last_draw: float | None = None
        self._drawn_width = 0
        self._last_decile = 0
        self.mode = self._mode(quiet=quiet, verbose=verbose, environ=environ)

    def _mode(self, *, quiet: bool, verbose: bool, environ: Mapping[str, str] | None) -> str:
        env = os.environ if environ is None else environ
        if quiet:
            return "off"
        if _isatty(self.stream) and not in_ci(env) and env.get("TERM") != "dumb":
            return "bar"
        return "lines" if verbose else "off"

    def __enter__(self) -> Self:
        if self.mode == "bar":
            self._draw(force=True)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.mode == "bar" and self._drawn_width:
            # Leave a clean line for whatever the command prints next.
            self.stream.write("\r" + " " * self._drawn_width + "\r")
            self.stream.flush()

    def advance(self, step: int = 1) -> None:
        self.done = min(self.total, self.done + step) if self.total else self.done + step
        if self.mode == "bar":
            self._draw(force=self.done >= self.total)
        elif self.mode == "lines":
            self._line()

    def _percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total

    def _draw(self, *, force: bool) -> None:
        now = self.clock()
        if not force and self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        filled = self.WIDTH * self._percent() // 100
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        prefix = f"{self.label} " if self.label else ""
        text = f"{prefix}[{bar}] {self.done}/{self.total} {self._percent():3d}%"
        pad = " " * max(0, self._drawn_width - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn_width = len(text)

    def _line(self) -> None:
        decile = self._percent() // 10
        if decile <= self._last_decile:
            return
        self._last_decile = decile
        prefix = f"{self.label}: " if self.label else ""
        self.stream.write(f"{prefix}{decile * 10}% ({self.done}/{self.total})\n")
        self.stream.flush()
