"""Read the committed rendered tree back as `RenderedFile`s, for `check --rendered`.

CI can then gate exactly what Argo CD will sync, including hand edits that `render
--check` would also flag. Only files carrying the modelops header are read.
"""
from __future__ import annotations

from collections.abc import Iterable

from generator.render.pipeline import RenderedFile
from generator.render.writer import GENERATED_ROOT, is_generated
from generator.spec.load import Repository
from generator.spec.model import resolve
from generator.yamlio import load_all_fast

__all__ = ["read_committed"]


def read_committed(repo: Repository, environments: Iterable[str] | None = None,
                   models: Iterable[str] | None = None) -> list[RenderedFile]:
    envs = set(environments or repo.environments)
    wanted_models = set(models) if models else None
    files = []
    for path in sorted((repo.root / GENERATED_ROOT).rglob("*.yaml")):
        relative = path.relative_to(repo.root).as_posix()
        parts = relative.split("/")
        if len(parts) < 3 or parts[1] not in envs or not is_generated(path):
            continue
        env = repo.environments.get(parts[1])
        model = parts[2] if len(parts) > 3 else ""
        if wanted_models is not None and model not in wanted_models:
            continue
        spec = repo.models.get(model)
        resolved = resolve(spec, env) if (spec is not None and env is not None) else None
        documents = tuple(load_all_fast(path.read_text(encoding="utf-8"), relative))
        sources = (spec.path,) if spec else (relative,)
        files.append(RenderedFile(relative, documents, sources, model, parts[1], resolved))
    return files
