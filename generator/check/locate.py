"""Point a finding at the line of the model spec a person should edit.

Rendered files are generated, so a finding located there sends people to the wrong file.
We map the finding to the most specific spec field that exists, preferring the
environment's override or release over the base section.
"""
from __future__ import annotations

from generator.errors import Problem
from generator.spec.model import ResolvedModel

__all__ = ["locate_in_spec"]

TRAINING_KINDS = {"WorkflowTemplate", "CronWorkflow", "JobSet", "Workflow"}

# (words in the rule id, title or message) -> spec fields, relative to the section
HINTS: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
    (("quota",), (("gpus",),)),
    (("image", "registry", "digest", "latest", "tag"), (("image",),)),
    (("gpu", "accelerator", "toleration", "nodeselector", "node selector", "shm", "memory per gpu"), (("gpus",),)),
    (("replica", "disruption", "pdb"), (("replicas",),)),
    (("deadline", "duration"), (("maxDuration",),)),
    (("retry", "retries", "backoff"), (("retries",),)),
    (("checkpoint",), (("checkpoints",),)),
    (("secret", "password", "token", "credential", "env var"), (("env",),)),
    (("probe", "health"), (("runtime",), ("healthPath",))),
    (("resource", "limit", "request", "cpu"), (("resources",),)),
)


def _section(kind: str, file: str) -> str:
    return "training" if kind in TRAINING_KINDS or "/training" in file or "app-training" in file else "serving"


def _candidates(resolved: ResolvedModel, section: str, text: str) -> list[tuple]:
    env = resolved.environment.name
    paths: list[tuple] = []
    for words, fields in HINTS:
        if any(word in text for word in words):
            for field in fields:
                if field == ("image",):
                    key = "image" if section == "serving" else "trainingImage"
                    paths.append(("releases", env, key))
                paths.append(("environments", env, section) + field)
                paths.append((section,) + field)
            break
    if section == "serving" and "release" in text:
        paths.append(("releases", env))
    paths += [("environments", env, section), (section,), ("metadata", "name")]
    return paths


def _largest_gpu_user(resolved: ResolvedModel) -> str:
    """The section holding most of the model's GPUs: where a quota finding should point."""
    training = resolved.training["gpus"]["perNode"] * resolved.training["gpus"]["nodes"] if resolved.training else 0
    serving = 0
    if resolved.serving and resolved.serving.get("gpus"):
        serving = resolved.serving["gpus"]["count"] * resolved.serving["replicas"]["max"]
    return "training" if training >= serving and resolved.training else "serving"


def locate_in_spec(resolved: ResolvedModel, kind: str, file: str, text: str) -> Problem:
    """The spec file and the (line, column) of the best-matching field."""
    located = resolved.spec.located
    section = _largest_gpu_user(resolved) if "quota" in text.lower() else _section(kind, file)
    for path in _candidates(resolved, section, text.lower()):
        if path in located.positions or path in located.key_positions:
            line, column = located.key_positions.get(path) or located.positions[path]
            return Problem(resolved.spec.path, line, column, ".".join(map(str, path)), "")
    return Problem(resolved.spec.path, 1, 1, "", "")
