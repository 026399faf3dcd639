"""Canary state in the spec: `canaries.<env>` holds the candidate release and its traffic
weight while `releases.<env>` keeps the release it replaces. Starting, advancing,
completing and aborting are edits of that one key (text edits: every other line of the
spec keeps its bytes), so every step is a reviewable commit and aborting restores `releases.<env>` untouched.
"""
from __future__ import annotations

from typing import Any

from generator.errors import ModelopsError
from generator.gitops.spec_edit import RELEASE_KEYS, remove_entry, set_entry, set_release
from generator.spec.load import Repository
from generator.spec.model import resolve

__all__ = ["canary_steps", "complete", "edit_for_promotion", "next_weight", "set_canary", "uses_canary"]


def canary_steps(repo: Repository, model: str, env: str) -> list[int] | None:
    """The environment's canary steps when this model rolls out as a canary there, else None.

    KServe splits traffic itself (canaryTrafficPercent); the chart needs the environment's
    Gateway (serving.canary.route) to weight its second Deployment, else it is promoted whole."""
    environment = repo.environment(env)
    if "canary" not in environment.data.get("serving", {}):
        return None
    resolved = resolve(repo.model(model), environment)
    if resolved.serving is None:
        return None
    if resolved.serving["target"] == "chart" and not environment.serving["canary"]["route"]:
        return None
    if resolved.serving["target"] == "kserve" and environment.serving["kserveDeploymentMode"] == "RawDeployment":
        return None  # canaryTrafficPercent is a Knative (Serverless) feature
    steps = sorted(set(environment.serving["canary"]["steps"]))
    return steps if steps and steps[-1] == 100 and len(steps) > 1 else None


def uses_canary(repo: Repository, model: str, env: str) -> bool:
    return canary_steps(repo, model, env) is not None


def next_weight(steps: list[int], weight: int) -> int:
    return next((s for s in steps if s > weight), 100)


def set_canary(text: str, env: str, canary: dict[str, Any] | None, *, file: str) -> str:
    """`text` with `canaries.<env>` set to `canary` (release keys plus `weight`), or removed;
    only those lines change (generator.gitops.spec_edit)."""
    if canary is None:
        return remove_entry(text, "canaries", env, file=file)
    entry = {"weight": canary["weight"], **{k: canary[k] for k in RELEASE_KEYS if k in canary}}
    return set_entry(text, "canaries", env, entry, file=file)


def edit_for_promotion(text: str, repo: Repository, model: str, env: str, release: dict[str, Any], *,
                       file: str) -> str:
    """A promotion's spec edit: a canary at the first step where the environment declares
    canaries for this model, else the release replaced whole."""
    steps = canary_steps(repo, model, env)
    if steps is None:
        return set_release(text, env, release, file=file)
    running = repo.model(model).canary(env)
    if running and all(running.get(k) == release.get(k) for k in RELEASE_KEYS):
        raise ModelopsError(f"{file}: this release is already rolling out in '{env}' as a canary at "
                            f"{running['weight']}%; advance or abort it with `modelops rollout {model} --env {env}`")
    return set_canary(text, env, {**release, "weight": steps[0]}, file=file)


def complete(text: str, env: str, canary: dict[str, Any], *, file: str) -> str:
    """The candidate becomes the release; the canary entry goes."""
    release = {k: v for k, v in canary.items() if k in RELEASE_KEYS}
    return set_canary(set_release(text, env, release, file=file), env, None, file=file)
