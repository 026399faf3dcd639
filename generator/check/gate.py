"""The policy gate with the repository's own defaults, for commands that gate on `check`
(promote) without the CLI's flags."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from generator.cache import tree_digest
from generator.check.run import CheckOptions, run_check
from generator.config import load_config
from generator.planning import plan_for_policy
from generator.policy.engines import DEFAULT_ENGINE
from generator.render.pipeline import render_repository
from generator.report.model import ReportInput, summarize
from generator.resources import BUNDLED_ROOT
from generator.spec.load import Repository

__all__ = ["policy_gate", "default_policy_dirs"]


def default_policy_dirs(root: Path) -> list[Path]:
    """The built-in library, then the repository's own folders from `.modelops.yaml`.

    A folder that is a verbatim copy of the built-in library (this repository, or a copy of
    it) is loaded once: the same packages twice would double the work for nothing.
    """
    config = load_config(root)
    builtin = BUNDLED_ROOT / "policies"
    dirs = [builtin] if config.builtin_policies else []
    for folder in config.policies:
        own = (root / folder).resolve()
        if not own.is_dir() or own in [d.resolve() for d in dirs]:
            continue
        if config.builtin_policies and tree_digest([own]) == tree_digest([builtin]):
            continue
        dirs.append(own)
    return dirs


def policy_gate(repo: Repository, environments: Sequence[str], models: Sequence[str], *,
                fail_on: str | None = None, today: dt.date | None = None) -> tuple[bool, ReportInput]:
    """(passed, report) for the selected pairs, rendered in memory."""
    config = load_config(repo.root)
    waivers = repo.root / config.waivers
    options = CheckOptions(policy_dirs=default_policy_dirs(repo.root), kubernetes_version=config.kubernetes_version,
                           waivers_file=waivers if waivers.is_file() else None, today=today or dt.date.today(),
                           plan_for=plan_for_policy, allow_network=config.allow_network,
                           # the repository's engine; a server's address is a CI setting, not the repository's
                           engine=config.engine if config.engine and config.engine != "opa-server" else DEFAULT_ENGINE)
    result = run_check(repo, render_repository(repo, environments, models), options)
    report = ReportInput(findings=result.findings, checked=result.checked, documents_checked=result.documents_checked,
                         fail_on=fail_on or config.fail_on, rules=result.rules, engine=result.engine)
    return summarize(report).passed, report
