"""Long runs show a progress bar on a terminal and stay line-oriented (or silent) in CI."""
from __future__ import annotations

import io

from generator.check.gate import default_policy_dirs
from generator.check.run import CheckOptions, run_check
from generator.console import Progress
from generator.render.pipeline import render_repository
from generator.spec.load import load_repository
from tests.conftest import ROOT


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream, **flags):
    repo = load_repository(ROOT)
    options = CheckOptions(policy_dirs=default_policy_dirs(repo.root),
                           progress=lambda total: Progress(total, "policies", stream=stream, environ={}, **flags))
    return run_check(repo, render_repository(repo, ["dev"]), options)


def test_check_draws_a_bar_on_a_terminal():
    tty = Tty()
    result = _run(tty)
    assert "policies [" in tty.getvalue() and f"{result.documents_checked}/{result.documents_checked} 100%" in tty.getvalue()
    assert "\r" in tty.getvalue()


def test_check_is_silent_when_not_a_terminal_and_lines_when_verbose():
    piped = io.StringIO()
    _run(piped)
    assert piped.getvalue() == ""
    verbose = io.StringIO()
    _run(verbose, verbose=True)
    lines = verbose.getvalue().splitlines()
    assert lines and "\r" not in verbose.getvalue() and lines[-1].startswith("policies: 100% (")
