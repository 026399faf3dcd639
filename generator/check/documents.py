"""Everything `check` looks at, as one flat list of documents with their provenance.

Rendered files contribute their own documents; a Helm values file contributes the
Kubernetes objects the serving chart makes from it (through the real Helm engine); a
multi-node WorkflowTemplate contributes the JobSet embedded in its resource template.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.helm import render_chart
from generator.render.context import CHART_PATH
from generator.render.pipeline import RenderedFile
from generator.resources import first_existing
from generator.spec.model import ResolvedModel
from generator.yamlio import load_all_fast

__all__ = ["CheckDocument", "collect_documents", "VALUES_KIND"]

VALUES_KIND = "Values"


@dataclass(frozen=True)
class CheckDocument:
    kind: str
    name: str
    document: dict[str, Any]
    file: str  # the rendered file it comes from (or is made from)
    source: str  # rendered | helm | embedded
    environment: str
    model: str = ""
    resolved: ResolvedModel | None = field(default=None, compare=False, repr=False)

    @property
    def has_schema(self) -> bool:
        return self.kind != VALUES_KIND


def _name(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    return str(metadata.get("name") or metadata.get("generateName") or "")


def _helm_objects(file: RenderedFile, values: dict[str, Any], repo_root: Path) -> list[CheckDocument]:
    chart = first_existing(repo_root, CHART_PATH)
    namespace = file.resolved.environment.namespace if file.resolved else "default"
    objects = render_chart(chart, values, release=file.model, namespace=namespace, values_file=file.path)
    return [CheckDocument(str(o.get("kind", "")), _name(o), o, file.path, "helm", file.environment, file.model,
                          file.resolved) for o in objects]


def _embedded(file: RenderedFile, document: dict[str, Any]) -> list[CheckDocument]:
    found = []
    spec = document.get("spec") or {}
    if document.get("kind") == "CronWorkflow":
        spec = spec.get("workflowSpec") or {}
    for template in spec.get("templates", []) or []:
        manifest = (template.get("resource") or {}).get("manifest")
        if not isinstance(manifest, str):
            continue
        try:
            documents = load_all_fast(manifest, f"{file.path} (resource manifest of '{template.get('name')}')")
        except ModelopsError as error:
            raise ModelopsError(f"{file.path}: resource manifest is not valid YAML: {error}") from None
        for inner in (d for d in documents if isinstance(d, dict)):
            found.append(CheckDocument(str(inner.get("kind", "")), _name(inner), inner, file.path, "embedded",
                                       file.environment, file.model, file.resolved))
    return found


def documents_of(file: RenderedFile, repo_root: Path) -> list[CheckDocument]:
    out: list[CheckDocument] = []
    for document in file.documents:
        if not isinstance(document, dict):
            continue
        if file.path.endswith("/serving/values.yaml"):
            out.append(CheckDocument(VALUES_KIND, file.model, document, file.path, "rendered", file.environment,
                                     file.model, file.resolved))
            out += _helm_objects(file, document, repo_root)
            continue
        out.append(CheckDocument(str(document.get("kind", "")), _name(document), document, file.path, "rendered",
                                 file.environment, file.model, file.resolved))
        if document.get("kind") in ("WorkflowTemplate", "Workflow", "CronWorkflow"):
            out += _embedded(file, document)
    return out


def collect_documents(files: Iterable[RenderedFile], repo_root: Path) -> list[CheckDocument]:
    documents: list[CheckDocument] = []
    for file in files:
        documents += documents_of(file, repo_root)
    return documents
