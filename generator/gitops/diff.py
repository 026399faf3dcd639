"""What a change does to the rendered tree, for review: per environment and model, files
added/removed/changed and the fields that changed, with image and version bumps called out.

The two sides are the committed rendered trees (`environments/`), since that is what
Argo CD syncs: a hand edit of a generated file is a change like any other. Each side's
specs are rendered too, to flag files that do not match them: a hand edit (the file
changed, its specs did not) or stale output (the specs changed, `render` was not run).
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import git

from generator.errors import ModelopsError
from generator.gitops.git import open_repo, snapshot_revision
from generator.render.pipeline import HEADER_MARK, RenderedFile, render_repository
from generator.render.writer import GENERATED_ROOT
from generator.spec.load import load_repository
from generator.yamlio import load_all_fast

__all__ = ["Drift", "FieldChange", "FileChange", "RenderedDiff", "TreeFile", "committed_tree", "diff_against",
           "diff_files", "format_diff", "working_tree"]


class FileLike(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def documents(self) -> tuple[Any, ...]: ...
    @property
    def environment(self) -> str: ...
    @property
    def model(self) -> str: ...


@dataclass(frozen=True)
class TreeFile:
    """A generated file as it is in a tree (committed or on disk), byte for byte."""

    path: str
    text: str
    documents: tuple[Any, ...]
    environment: str
    model: str


@dataclass(frozen=True)
class Drift:
    """A generated file that does not match what its specs render."""

    path: str
    kind: str  # hand-edit | stale
    environment: str
    model: str

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
    drift: list[Drift] = field(default_factory=list)
    head: str = "the working tree"

    @property
    def empty(self) -> bool:
        return not self.changes and not self.drift

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


def _field_changes(before: FileLike, after: FileLike) -> tuple[FieldChange, ...]:
    if not before.documents or not after.documents:
        return ()
    old = _flatten(list(before.documents) if len(before.documents) > 1 else before.documents[0])
    new = _flatten(list(after.documents) if len(after.documents) > 1 else after.documents[0])
    changes = [FieldChange(path, old.get(path), new.get(path)) for path in sorted(set(old) | set(new))
               if old.get(path) != new.get(path)]
    return tuple(changes)


def diff_files(base: Iterable[FileLike], head: Iterable[FileLike], base_name: str) -> RenderedDiff:
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


def _tree_file(path: str, text: str) -> TreeFile:
    parts = path.split("/")
    env = parts[1] if len(parts) > 2 else ""
    model = parts[2] if len(parts) > 3 else ""
    try:
        documents = tuple(load_all_fast(text, path))
    except ModelopsError:
        documents = ()  # a hand edit that broke the YAML: still a change, without fields
    return TreeFile(path, text, documents, env, model)


def _prefix(repo: git.Repo, repo_root: Path) -> str:
    top = Path(repo.working_tree_dir or ".").resolve()
    inside = repo_root.resolve().relative_to(top).as_posix()
    return "" if inside == "." else inside + "/"


def committed_tree(repo: git.Repo, revision: str, repo_root: Path) -> list[TreeFile]:
    """The generated files under environments/ at `revision`."""
    try:
        commit = repo.commit(revision)
    except (git.BadName, ValueError, git.GitCommandError):
        raise ModelopsError(f"unknown git revision '{revision}'") from None
    prefix = _prefix(repo, repo_root) + GENERATED_ROOT + "/"
    out = []
    for item in commit.tree.traverse():
        if not isinstance(item, git.Blob) or not str(item.path).startswith(prefix):
            continue
        text = item.data_stream.read().decode("utf-8", "replace")
        if text.startswith(HEADER_MARK):
            out.append(_tree_file(str(item.path)[len(prefix) - len(GENERATED_ROOT) - 1:], text))
    return out


def working_tree(repo_root: Path) -> list[TreeFile]:
    """The generated files under environments/ on disk."""
    out = []
    for path in sorted((repo_root / GENERATED_ROOT).rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.startswith(HEADER_MARK):
                out.append(_tree_file(path.relative_to(repo_root).as_posix(), text))
    return out


def _render_at(repo: git.Repo, revision: str | None, repo_root: Path) -> list[RenderedFile]:
    if revision is None:
        return render_repository(load_repository(repo_root))
    with tempfile.TemporaryDirectory(prefix="modelops-diff-") as tmp, \
            snapshot_revision(repo, revision, repo_root, Path(tmp)) as snapshot:
        try:
            return render_repository(load_repository(snapshot))
        except ModelopsError as error:
            raise ModelopsError(f"cannot load the specs at {revision}: {error}") from None


def _drift(tree: list[TreeFile], rendered: list[RenderedFile], base_rendered: list[RenderedFile]) -> list[Drift]:
    """Files whose content is not what the specs render: hand edits or stale output."""
    have, want = {f.path: f for f in tree}, {f.path: f for f in rendered}
    before = {f.path: f.text for f in base_rendered}
    out = []
    for path in sorted(set(have) | set(want)):
        ref = want.get(path) or have[path]
        if path in have and path in want and have[path].text == want[path].text:
            continue
        specs_changed = (want[path].text if path in want else None) != before.get(path)
        out.append(Drift(path, "stale" if specs_changed else "hand-edit", ref.environment, ref.model))
    return out


def diff_against(repo_root: Path, base: str, head: str | None = None) -> RenderedDiff:
    """Compare the committed rendered tree of `base` with `head`'s (default: the working tree)."""
    repo = open_repo(repo_root)
    base_tree = committed_tree(repo, base, repo_root)
    head_tree = committed_tree(repo, head, repo_root) if head else working_tree(repo_root)
    diff = diff_files(base_tree, head_tree, base)
    diff.head = head or "the working tree"
    diff.drift = _drift(head_tree, _render_at(repo, head, repo_root), _render_at(repo, base, repo_root))
    return diff


def _full(value: Any) -> str:
    """Image and version values are shown whole: a truncated digest is useless for review."""
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


_DRIFT_TEXT = {"hand-edit": "edited by hand: differs from what its specs render",
               "stale": "stale: the specs changed; run `modelops render`"}


def _drift_lines(diff: RenderedDiff) -> list[str]:
    if not diff.drift:
        return []
    lines = [f"\nRendered files in {diff.head} that do not match their specs:"]
    lines += [f"  ! {d.path}: {_DRIFT_TEXT[d.kind]}" for d in diff.drift]
    return lines


def _text(diff: RenderedDiff) -> str:
    if not diff.changes:
        return "\n".join([f"No rendered changes against {diff.base}.", *_drift_lines(diff)]).strip() + "\n"
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
    return "\n".join(lines + _drift_lines(diff)) + "\n"


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
    if diff.drift:
        lines += ["> [!WARNING]", "> Rendered files that do not match their specs (Argo CD syncs the files):", *(
            f"> - `{d.path}`: {_DRIFT_TEXT[d.kind]}" for d in diff.drift), ""]
    if not diff.changes:
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
    payload = {"base": diff.base, "head": diff.head, "drift": [asdict(d) for d in diff.drift], "changes": [asdict(c) | {"fields": [asdict(f) | {"highlight": f.highlight}
                                                                      for f in c.fields]} for c in diff.changes]}
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def format_diff(diff: RenderedDiff, fmt: str) -> str:
    return {"text": _text, "markdown": _markdown, "json": _json}[fmt](diff)
