"""Sandboxed Jinja2 blueprints, with the filters that keep user values from becoming YAML structure.

Templates never splice raw text: `q` renders a scalar as a JSON literal (a valid, quoted
YAML flow scalar), `json` renders a structure as flow YAML. The output is then parsed and
re-dumped by `generator.yamlio`, so a value such as "x\nprivileged: true" stays a string.
A team overrides any blueprint by placing a file of the same name in
`blueprints/teams/<team>/`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from generator.errors import ModelopsError
from generator.resources import bundled
from generator.spec.validate import did_you_mean

__all__ = ["Blueprints", "to_flow", "to_scalar"]

TEMPLATES_DIR = "blueprints/templates"
TEAMS_DIR = "blueprints/teams"


def _defined(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # raises UndefinedError, reported with the template name
    return value


def to_scalar(value: Any) -> str:
    value = _defined(value)
    if value.__class__ is str:  # most values: what json.dumps(ensure_ascii=False) returns, without its set-up
        return encode_basestring(value)
    if isinstance(value, (dict, list)):
        raise ModelopsError(f"blueprint bug: `q` is for scalars, got {type(value).__name__}; use `json`")
    return json.dumps(value, ensure_ascii=False)


def to_flow(value: Any) -> str:
    return json.dumps(_defined(value), ensure_ascii=False, sort_keys=False)


def combine(left: dict, right: dict) -> dict:
    return {**left, **right}


class Blueprints:
    """Loads templates for a team: the team's folder first, then the shared blueprints."""

    def __init__(self, repo_root: Path):
        self.repo_root = repo_root

    @lru_cache(maxsize=64)  # noqa: B019 - one Blueprints per run; bounded
    def environment(self, team: str) -> SandboxedEnvironment:
        search = [self.repo_root / TEAMS_DIR / team, self.repo_root / TEMPLATES_DIR, _packaged_templates()]
        env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(p) for p in search if p.is_dir()]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=False,
            auto_reload=False,  # one environment per run: no stat of the template file per render
        )
        env.filters.update(q=to_scalar, json=to_flow, combine=combine)
        return env

    @lru_cache(maxsize=256)  # noqa: B019 - one Blueprints per run; every rendered file asks
    def source(self, team: str, name: str) -> str:
        """Where blueprint `name` comes from for `team`, repository-relative when it is the repository's."""
        for folder in (self.repo_root / TEAMS_DIR / team, self.repo_root / TEMPLATES_DIR, _packaged_templates()):
            if (folder / name).is_file():
                path = folder / name
                return path.relative_to(self.repo_root).as_posix() if path.is_relative_to(self.repo_root) else str(path)
        return name

    def render(self, team: str, name: str, context: dict[str, Any]) -> str:
        try:
            return self.environment(team).get_template(name).render(context)
        except jinja2.TemplateNotFound:
            raise ModelopsError(f"blueprint '{name}' not found in {TEAMS_DIR}/{team}/ or {TEMPLATES_DIR}/") from None
        except jinja2.TemplateSyntaxError as error:
            where = f"{self.source(team, name)}:{error.lineno}"
            raise ModelopsError(f"{where}: blueprint syntax error: {error.message}") from None
        except jinja2.UndefinedError as error:
            raise ModelopsError(f"{self._where(team, name, error)}: {error.message} (team '{team}')") from None
        except jinja2.exceptions.SecurityError as error:
            raise ModelopsError(f"{self._where(team, name, error)}: unsafe operation refused: {error}") from None

    def _where(self, team: str, name: str, error: BaseException) -> str:
        """file:line of the template line that failed, from the frames Jinja maps back to it."""
        source = self.source(team, name)
        line = 0
        tb = error.__traceback__
        while tb is not None:
            if Path(tb.tb_frame.f_code.co_filename).name == name:
                line = tb.tb_lineno
            tb = tb.tb_next
        return f"{source}:{line}" if line else source

    def check_overrides(self, teams: set[str]) -> None:
        """A team blueprint whose name matches no shared blueprint is silently never used."""
        known = {p.name for d in (self.repo_root / TEMPLATES_DIR, _packaged_templates()) if d.is_dir()
                 for p in d.iterdir() if p.is_file()}
        problems = []
        root = self.repo_root / TEAMS_DIR
        for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
                if path.name not in known:
                    hint = did_you_mean(path.name, sorted(known))
                    problems.append(f"{TEAMS_DIR}/{folder.name}/{path.name}: overrides no blueprint{hint}; "
                                    f"blueprints are: {', '.join(sorted(known))}")
            if folder.name not in teams and any(folder.iterdir()):
                problems.append(f"{TEAMS_DIR}/{folder.name}/: no model has team '{folder.name}'"
                                f"{did_you_mean(folder.name, sorted(teams))}")
        if problems:
            raise ModelopsError("\n".join(problems))


def _packaged_templates() -> Path:
    """Blueprints shipped with modelops, used when a repository has none of its own."""
    return bundled(TEMPLATES_DIR)
