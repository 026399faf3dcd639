"""The models x environments matrix: what release runs where, and which environments lag
the one they promote from. Read from the specs (git is the source of truth); `--live`
adds Argo CD's sync and health for each serving Application."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.spec.load import Repository

__all__ = ["Cell", "StatusMatrix", "release_matrix", "release_label", "environment_order"]


def release_label(release: dict[str, Any]) -> str:
    if not release:
        return "-"
    if release.get("modelVersion"):
        return f"v{release['modelVersion']}" if release["modelVersion"][0].isdigit() else release["modelVersion"]
    image = release.get("image", "")
    return image.rsplit("@sha256:", 1)[-1][:12] if "@sha256:" in image else image.rsplit(":", 1)[-1] or "-"


@dataclass(frozen=True)
class Cell:
    model: str
    environment: str
    release: dict[str, Any]
    label: str
    source: str | None  # the environment this one promotes from
    lagging: bool  # its release differs from the source's
    live: dict[str, str] | None = None


@dataclass(frozen=True)
class StatusMatrix:
    environments: tuple[str, ...]
    models: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, model: str, environment: str) -> Cell:
        return self.cells[(model, environment)]

    def lagging(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.lagging]


def environment_order(repo: Repository) -> tuple[str, ...]:
    """Environments in promotion order (dev, staging, prod), then any others by name."""
    return tuple(sorted(repo.environments, key=lambda n: (len(repo.chain(n)), n)))


def release_matrix(repo: Repository, live: Callable[[str, str], dict[str, str]] | None = None) -> StatusMatrix:
    envs = environment_order(repo)
    cells: dict[tuple[str, str], Cell] = {}
    for name, spec in repo.models.items():
        for env in envs:
            source = repo.environments[env].promotes_from
            release = spec.release(env)
            lagging = source is not None and spec.release(source) != release and bool(spec.release(source))
            canary = spec.canary(env)  # a canary rolling out beside the release
            label = release_label(release) + (f" + canary {release_label(canary)} @{canary['weight']}%" if canary else "")
            cells[(name, env)] = Cell(name, env, release, label, source, lagging, live(name, env) if live else None)
    return StatusMatrix(envs, tuple(repo.models), cells)


def format_matrix(matrix: StatusMatrix) -> str:
    header = ["MODEL", *matrix.environments]
    rows = [header]
    for model in matrix.models:
        row = [model]
        for env in matrix.environments:
            cell = matrix.cell(model, env)
            text = cell.label + (f" (behind {cell.source})" if cell.lagging else "")
            if cell.live:
                text += f" [{cell.live.get('sync', '?')}/{cell.live.get('health', '?')}]"
            row.append(text)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows) + "\n"
