"""Render the serving chart offline, for any test that needs its objects.

Plain functions, no fixtures: ``render_chart(values)`` returns the parsed Kubernetes
objects in template-path order, so results are deterministic.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import helm_python
import yaml

__all__ = [
    "CHART_DIR",
    "RELEASE_NAME",
    "RELEASE_NAMESPACE",
    "by_kind",
    "load_chart",
    "render_chart",
    "render_manifests",
    "values_for",
]

CHART_DIR = Path(__file__).resolve().parent.parent / "blueprints" / "charts" / "model-serving"
RELEASE_NAME = "x"
RELEASE_NAMESPACE = "ns"


@functools.cache
def load_chart(path: Path = CHART_DIR) -> helm_python.Chart:
    return helm_python.Chart.load(path)


def render_manifests(
    values: dict[str, Any], *, name: str = RELEASE_NAME, namespace: str = RELEASE_NAMESPACE
) -> dict[str, str]:
    """Template path -> manifest text. Raises helm_python.HelmError on bad values."""
    return load_chart().render(values, name=name, namespace=namespace)


def render_chart(
    values: dict[str, Any], *, name: str = RELEASE_NAME, namespace: str = RELEASE_NAMESPACE
) -> list[dict[str, Any]]:
    """The rendered objects, empty documents dropped, ordered by template path."""
    manifests = render_manifests(values, name=name, namespace=namespace)
    objects: list[dict[str, Any]] = []
    for path in sorted(manifests):
        objects.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
    return objects


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kind -> object; the chart renders at most one object of each kind."""
    return {obj["kind"]: obj for obj in objects}


_BASE: dict[str, Any] = {
    "model": {
        "name": "support-chat",
        "environment": "prod",
        "team": "assistants",
        "costCenter": "cc-4410",
        "owner": "ml-assist@example.com",
        "version": "7",
    },
    "image": "registry.example.com/serving/server@sha256:" + "0" * 64,
    "modelUri": "s3://models/support-chat/",
    "replicas": {"min": 1, "max": 4},
    "resources": {"cpu": "4", "memory": "32Gi"},
    "serviceAccount": {"create": True, "name": "support-chat"},
}


def values_for(runtime: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid values dict for ``runtime``; top-level keys replaced by overrides."""
    values = copy.deepcopy(_BASE)
    values["runtime"] = runtime
    values.update(copy.deepcopy(overrides))
    return values
