"""The serving chart through the real Helm v4 engine (helm-python-sdk), no cluster contacted.

The chart is loaded once per process and reused; rendering is offline (`lookup` returns
nothing). Failures are `ModelopsError`s naming the values file, so `check` fails closed.
helm_python is imported on first use: loading its Go library costs about 0.2 s, which a
`check` answered from the cache never needs.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.yamlio import load_all_fast

__all__ = ["render_chart", "load_chart"]

_lock = threading.Lock()


@lru_cache(maxsize=8)
def load_chart(path: str) -> Any:
    import helm_python

    try:
        return helm_python.Chart.load(path)
    except helm_python.HelmError as error:
        raise ModelopsError(f"cannot load Helm chart {path}: {error}") from None


def render_chart(chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str,
                 values_file: str = "<values>") -> list[dict[str, Any]]:
    """Kubernetes objects the chart produces for `values`, sorted by template path."""
    import helm_python

    chart = load_chart(str(chart_dir))
    try:
        with _lock:  # one native handle per chart: serialise calls into it
            manifests = chart.render(values, name=release, namespace=namespace)
    except helm_python.HelmError as error:
        message = " ".join(str(error).split())
        raise ModelopsError(f"{values_file}: the serving chart failed to render: {message}") from None
    objects: list[dict[str, Any]] = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml")):
            continue
        for document in load_all_fast(manifests[template], f"{values_file} ({template})"):
            if isinstance(document, dict) and document:
                document.setdefault("metadata", {}).setdefault("namespace", namespace)
                objects.append(document)
    return objects
