"""What a change does to the rendered tree, for review: per environment and model, files
added/removed/changed and the fields that changed, with image and version bumps called out.

Both sides are rendered from their specs (not read from committed output), so the diff
shows the effect of a spec or blueprint change even before `modelops render` is run.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.gitops.git import open_repo, snapshot_revision
from generator.render.pipeline import RenderedFile, render_repository
from generator.spec.load import load_repository

__all__ = ["FieldChange", "FileChange", "RenderedDiff", "diff_files", "diff_against", "format_diff"]

HIGHLIGHT_KEYS = ("image", "modelUri", "version", "modelVersion", "targetRevision")


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    @property
    def highlight(self) -> bool:
        last = self.path.rsplit(".", 1)[-1].split("[")[0]
        return last in HIGHLIGHT_KEYS or "image" in last.lower()


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | removed | changed
    environment: str
    model: str
    fields: tuple[FieldChange, ...] = ()


@dataclass
class RenderedDiff:
    base: str
    changes: list[FileChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def by_target(self) -> dict[tuple[str, str], list[FileChange]]:
        grouped: dict[tuple[str, str], list[FileChange]] = {}
        for change in self.changes:
            grouped.setdefault((change.environment, change.model), []).append(change)
        return dict(sorted(grouped.items()))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: value}


def _field_changes(before: RenderedFile, after: RenderedFile) -> tuple[FieldChange, ...]:
    old = _flatten(list(before.documents) if len(before.documents) > 1 else before.documents[0])
    new = _flatten(list(after.documents) if len(after.documents) > 1 else after.documents[0])
    changes = [FieldChange(path, old.get(path), new.get(path)) for path in sorted(set(old) | set(new))
               if old.get(path) != new.get(path)]
    return tuple(changes)


def diff_files(base: list[RenderedFile], head: list[RenderedFile], base_name: str) -> RenderedDiff:
    old, new = {f.path: f for f in base}, {f.path: f for f in head}
    diff = RenderedDiff(base=base_name)
    for path in sorted(set(old) | set(new)):
        ref = new.get(path) or old[path]
        if path not in old:
            diff.changes.append(FileChange(path, "added", ref.environment, ref.model))
        elif path not in new:
            diff.changes.append(FileChange(path, "removed", ref.environment, ref.model))
        elif old[path].text != new[path].text:
            fields = _field_changes(old[path], new[path])
            diff.changes.append(FileChange(path, "changed", ref.environment, ref.model, fields))
    return diff


def diff_against(repo_root: Path, base: str) -> RenderedDiff:
    """Render `base` (a git revision) and the working tree, and compare."""
    repo = open_repo(repo_root)
    head_files = render_repository(load_repository(repo_root))
    with tempfile.TemporaryDirectory(prefix="modelops-diff-") as tmp, \
            snapshot_revision(repo, base, repo_root, Path(tmp)) as snapshot:
        try:
            base_repo = load_repository(snapshot)
        except ModelopsError as error:
            raise ModelopsError(f"cannot load the specs at {base}: {error}") from None
        base_files = render_repository(base_repo)
    return diff_files(base_files, head_files, base)


def _full(value: Any) -> str:
    """Image and version values are shown whole: a truncated digest is useless for review."""
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


def _text(diff: RenderedDiff) -> str:
    if diff.empty:
        return f"No rendered changes against {diff.base}.\n"
    lines = [f"Rendered changes against {diff.base}:"]
    for (env, model), changes in diff.by_target().items():
        lines.append(f"\n{env} / {model or '(environment)'}")
        for change in changes:
            lines.append(f"  {change.status:8} {change.path}")
            for fc in change.fields:
                mark = "*" if fc.highlight else "-"
                lines.append(f"    {mark} {fc.path}: {_short(fc.before)} -> {_short(fc.after)}")
    highlights = _highlights(diff)
    if highlights:
        lines.append("\nImage and version changes:")
        lines += [f"  {env}/{model}: {path}: {_full(b)} -> {_full(a)}" for env, model, path, b, a in highlights]
    return "\n".join(lines) + "\n"


def _highlights(diff: RenderedDiff) -> list[tuple[str, str, str, Any, Any]]:
    seen = set()
    out = []
    for change in diff.changes:
        for fc in change.fields:
            key = (change.environment, change.model, fc.path.rsplit(".", 1)[-1], _short(fc.before), _short(fc.after))
            if fc.highlight and key not in seen:
                seen.add(key)
                out.append((change.environment, change.model, fc.path, fc.before, fc.after))
    return out


def _cell(value: Any) -> str:
    return (value if isinstance(value, str) and len(value) <= 200 else _short(value)).replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _markdown(diff: RenderedDiff) -> str:
    lines = ["<!-- modelops:diff -->", f"### Rendered diff against `{diff.base}`", ""]
    if diff.empty:
        return "\n".join(lines + ["No rendered changes."]) + "\n"
    highlights = _highlights(diff)
    if highlights:
        lines += ["**Image and version changes**", "", "| Environment | Model | Field | Before | After |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {env} | {model} | `{path}` | `{_cell(_full(b))}` | `{_cell(_full(a))}` |"
                  for env, model, path, b, a in highlights]
        lines.append("")
    lines += ["| Environment | Model | File | Change | Fields |", "| --- | --- | --- | --- | --- |"]
    for change in diff.changes:
        lines.append(f"| {change.environment} | {change.model or '-'} | `{change.path}` | {change.status} | "
                     f"{len(change.fields) or ''} |")
    details = [f"- `{c.path}` `{fc.path}`: `{_cell(fc.before)}` -> `{_cell(fc.after)}`"
               for c in diff.changes for fc in c.fields]
    if details:
        lines += ["", f"<details><summary>{len(details)} field change(s)</summary>", "", *details[:500], "", "</details>"]
    return "\n".join(lines) + "\n"


def _json(diff: RenderedDiff) -> str:
    payload = {"base": diff.base, "changes": [asdict(c) | {"fields": [asdict(f) | {"highlight": f.highlight}
                                                                      for f in c.fields]} for c in diff.changes]}
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def format_diff(diff: RenderedDiff, fmt: str) -> str:
    return {"text": _text, "markdown": _markdown, "json": _json}[fmt](diff)
