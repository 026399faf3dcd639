"""`check --shard K/N`: a stable, balanced slice of the repository's models for one CI runner.

Models are the unit (every environment of a model lands on the same runner, so its GPU
usage and findings stay together). Each model weighs the documents it renders, estimated
from its spec (reading the spec is cheap; rendering every model on every runner is not),
and models are dealt heaviest first to the lightest shard, ties broken by name: the same
repository gives every runner the same plan, whatever order the files were listed in.
Environment-level files (the app-of-apps) belong to shard 1.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any

from generator.errors import ModelopsError

__all__ = ["Shard", "assign_shards", "model_weight", "parse_shard"]

# Documents one environment renders, by section (measured on the example: a serving model
# gives its Application, values and about five chart objects; training an Application and
# a WorkflowTemplate, plus a CronWorkflow when scheduled and a JobSet when multi-node).
SERVING_DOCUMENTS = 7
TRAINING_DOCUMENTS = 2


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ModelopsError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/8")
    return Shard(int(match[1]), int(match[2]))


def model_weight(data: dict[str, Any], environments: int) -> int:
    """The documents a model renders across `environments` environments (an estimate)."""
    per_environment = SERVING_DOCUMENTS if data.get("serving") else 0
    training = data.get("training")
    if isinstance(training, dict):
        found = training.get("gpus")
        gpus: dict[str, Any] = found if isinstance(found, dict) else {}
        per_environment += TRAINING_DOCUMENTS + bool(training.get("schedule")) + (int(gpus.get("nodes") or 1) > 1)
    return max(1, per_environment * max(1, environments))


def assign_shards(weights: dict[str, int], count: int) -> list[list[str]]:
    """Models per shard (index 0 is shard 1), each list sorted: greedy heaviest-first.

    Only the first min(count, models) shards can receive a model (every model goes to an
    empty shard while there is one, the lowest first), so only those are listed: a shard
    past them checks nothing, and `--shard 1/100000000` costs no more than `1/8`."""
    used = max(1, min(count, len(weights)))
    heap = [(0, index) for index in range(used)]
    shards: list[list[str]] = [[] for _ in range(used)]
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        load, index = heapq.heappop(heap)
        shards[index].append(name)
        heapq.heappush(heap, (load + weights[name], index))
    return [sorted(names) for names in shards]


def models_of_shard(models: dict[str, dict[str, Any]], environments: int, shard: Shard) -> list[str]:
    """The names (sorted) that `shard` checks, of `models` (name -> spec data)."""
    weights = {name: model_weight(data, environments) for name, data in models.items()}
    shards = assign_shards(weights, shard.count)
    return shards[shard.index - 1] if shard.index <= len(shards) else []
