"""A release candidate: what a source says about the model, before it meets the spec."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Candidate", "numeric_metrics", "servable_uri_problem"]

# Where a serving runtime cannot read from: MLflow's own indirections, and paths on the
# machine that recorded them.
_NOT_SERVABLE = ("runs", "models", "mlflow-artifacts", "file", "dbfs")


def servable_uri_problem(uri: str) -> str | None:
    """Why a serving runtime could not load `uri`, or None when it looks fine."""
    scheme, sep, _ = uri.partition(":")
    if not sep or not uri[len(scheme) + 1:].startswith("//") and scheme not in _NOT_SERVABLE:
        return f"{uri!r} is not a storage URI (s3://, gs://, hf://...)"
    if scheme.lower() in _NOT_SERVABLE:
        return f"{uri!r} is not readable by a serving runtime (it points into MLflow or at a local path)"
    return None


def numeric_metrics(raw: dict[str, Any]) -> dict[str, float | int]:
    """Only the numbers (booleans are not metrics), sorted by name."""
    return {str(k): v for k, v in sorted(raw.items())
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


@dataclass(frozen=True)
class Candidate:
    source: str  # e.g. models:/support-chat/3, workflow:ml-dev/train-x7k2p, flags
    model_uri: str = ""
    version: str = ""
    image: str = ""
    training_image: str = ""
    metrics: dict[str, float | int] = field(default_factory=dict)

    def merged(self, override: Candidate) -> Candidate:
        """This candidate with every non-empty field of `override` taking precedence."""
        return Candidate(
            source=override.source if override.source != "flags" else self.source,
            model_uri=override.model_uri or self.model_uri, version=override.version or self.version,
            image=override.image or self.image, training_image=override.training_image or self.training_image,
            metrics={**self.metrics, **override.metrics})

    def release(self, current: dict[str, Any], serving_image: str) -> dict[str, Any]:
        """The release to write: the candidate over the environment's current release."""
        out = dict(current)
        # Metrics and source describe one candidate: never carried over to the next.
        out.pop("metrics", None)
        out.pop("source", None)
        out["image"] = self.image or current.get("image") or serving_image
        source = "" if self.source == "flags" else self.source
        for key, value in (("trainingImage", self.training_image), ("modelUri", self.model_uri),
                           ("modelVersion", self.version), ("source", source)):
            if value:
                out[key] = value
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        return {k: v for k, v in out.items() if v}
