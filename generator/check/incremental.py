"""`check` that re-checks only what changed: findings cached per model x environment.

A pair's findings depend on its spec file, its environment file, the environment's GPU
usage (the quota rule sees every model), and the tools: blueprints, the chart, policies,
schema folders and the modelops version. The cache key hashes all of them, so an entry
is either exactly right or not found. Waivers are applied after the merge, so a new or
expiring waiver never needs a re-check.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.cache import CacheFile, code_digest, digest, tree_digest
from generator.check.run import CheckOptions, CheckResult, checked_waivers, run_check
from generator.check.shard import Shard, models_of_shard
from generator.collector import pace_collector
from generator.findings import Finding, merge_places, sort_findings
from generator.policy.waivers import apply_waivers
from generator.render.context import CHART_PATH
from generator.render.pipeline import render_pairs
from generator.report.model import RuleInfo
from generator.resources import bundled, first_existing
from generator.spec.load import Repository

__all__ = ["check_incrementally", "gather_findings", "with_waivers", "tools_digest"]


def tools_digest(root: Path, options: CheckOptions) -> str:
    """Everything besides the inputs that a pair's findings depend on."""
    blueprint_dirs = [root / "blueprints" / "templates", root / "blueprints" / "teams",
                      bundled("blueprints/templates"), first_existing(root, CHART_PATH)]
    return digest(tree_digest(blueprint_dirs), tree_digest(options.policy_dirs), tree_digest(options.schema_dirs),
                  str(options.kubernetes_version), str(options.plan_for is not None), _engine_identity(options),
                  code_digest())  # findings another build cached are never served: its checks may differ


def _engine_identity(options: CheckOptions) -> str:
    """Which engine (and version) produced cached findings: another engine re-checks."""
    from generator.policy.engines import engine_label

    return engine_label(options.engine, options.engine_options)


class _Inputs:
    """Each spec and environment file read once per run (a key per pair reads them often)."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self._bytes: dict[str, bytes] = {}

    def read(self, relative: str) -> bytes:
        if relative not in self._bytes:
            self._bytes[relative] = (self.repo.root / relative).read_bytes()
        return self._bytes[relative]


def _pair_key(inputs: _Inputs, tools: str, env: str, model: str, usage: dict[str, Any]) -> str:
    repo = inputs.repo
    env_bytes = inputs.read(repo.environments[env].path)
    if not model:
        return digest(tools, env_bytes, "environment", env)
    # What the policies see of the environment's GPU usage: the total and this model's share.
    seen = f'{usage["total"]}/{usage["byModel"].get(model, 0)}'
    return digest(tools, env_bytes, inputs.read(repo.models[model].path), seen, model, env)


def _to_finding(data: dict[str, Any]) -> Finding:
    return Finding(**data)


def check_incrementally(repo: Repository, options: CheckOptions, environments: Sequence[str] | None,
                        models: Sequence[str] | None, *, use_cache: bool = True,
                        shard: Shard | None = None) -> CheckResult:
    """Check the selected pairs, re-using cached findings; `use_cache=False` re-checks (and
    stores) nothing, but still spreads a large run over worker processes. With `shard`,
    only that shard's models (and, on shard 1, the environment-level files)."""
    return with_waivers(gather_findings(repo, options, environments, models, use_cache=use_cache, shard=shard),
                        options)


def with_waivers(gathered: CheckResult, options: CheckOptions) -> CheckResult:
    """`gather_findings`'s result with the waivers applied, causes merged and sorted."""
    findings = gathered.findings
    if options.waivers_file is not None:
        findings = apply_waivers(findings, checked_waivers(options.waivers_file, gathered.rules), options.today)
    return replace(gathered, findings=sort_findings(merge_places(findings)))


def gather_findings(repo: Repository, options: CheckOptions, environments: Sequence[str] | None,
                    models: Sequence[str] | None, *, use_cache: bool = True,
                    shard: Shard | None = None, tools: str | None = None) -> CheckResult:
    """`check_incrementally` before waivers: every pair's findings, from the cache or fresh.
    `tools`: `tools_digest` when the caller has it already (it hashes every blueprint and policy)."""
    cache = CacheFile(repo.root, "check") if use_cache else CacheFile.disabled()
    tools = tools or tools_digest(repo.root, options)
    usage = repo.gpu_usage()
    envs = [e.name for e in repo.select_environments(environments)]
    names = [m.name for m in repo.select_models(models)]
    if shard is not None:
        names = models_of_shard({n: repo.models[n].data for n in names}, len(envs), shard)
    own_envs = envs if shard is None or shard.index == 1 else []
    pairs = [(env, "") for env in own_envs] + [(env, name) for env in envs for name in names]
    inputs = _Inputs(repo)
    keys = {pair: _pair_key(inputs, tools, pair[0], pair[1], usage[pair[0]]) for pair in pairs}
    findings: list[Finding] = []
    documents = 0
    missing: list[tuple[str, str]] = []
    for pair, key in keys.items():
        hit = cache.get(key)
        if hit is None:
            missing.append(pair)
            continue
        findings += [_to_finding(f) for f in hit["findings"]]
        documents += hit["documents"]
    rules_key = digest(tools, "rules")
    rules_cached = cache.get(rules_key)
    timings: dict[str, float] = {}
    if missing or rules_cached is None:
        fresh = _check_pairs_parallel(repo, options, missing) if _worth_processes(options, missing) \
            else _check_pairs(repo, options, missing)
        timings = fresh.timings
        grouped: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for finding in fresh.findings:
            grouped[(finding.environment, finding.model)].append(finding)
        for pair in missing:
            cache.put(keys[pair], {"findings": [f.to_dict() for f in grouped.get(pair, [])],
                                   "documents": fresh.per_pair_documents.get(pair, 0)})
        findings += fresh.findings
        documents += fresh.documents_checked
        rules = fresh.rules
        cache.put(rules_key, {rule_id: vars(info) for rule_id, info in rules.items()})
    else:
        rules = {rule_id: RuleInfo(**info) for rule_id, info in rules_cached.items()}
    cache.save()
    checked = sorted((model, env) for env, model in pairs if model)
    timings["cached-pairs"] = float(len(pairs) - len(missing))
    timings["pairs"] = float(len(pairs))
    return CheckResult(findings=findings, checked=checked, documents_checked=documents,
                       rules=rules, timings=timings, engine=_engine_identity(options))


def _check_pairs(repo: Repository, options: CheckOptions, pairs: list[tuple[str, str]]) -> CheckResult:
    """Render and check exactly `pairs` (env, model); waivers are left to the caller."""
    started = time.perf_counter()
    files = render_pairs(repo, pairs)
    rendered = time.perf_counter() - started
    result = run_check(repo, files, replace(options, waivers_file=None))
    result.timings = {"render": rendered, **result.timings}
    return result


# Below this many pairs, starting worker processes (imports, policy compile) costs more than it saves.
PARALLEL_MIN_PAIRS = 60


def _worth_processes(options: CheckOptions, pairs: list[tuple[str, str]]) -> bool:
    return options.workers > 1 and len(pairs) >= PARALLEL_MIN_PAIRS and options.evaluator is None


def _worker(repo: Repository, options: CheckOptions, pairs: list[tuple[str, str]]) -> CheckResult:
    """One process's share: its own policy engine and Helm handle (neither is fork-safe).

    The repository comes loaded from the parent (pickled): loading it again would parse
    every spec a second time in each worker when there is no spec cache."""
    from generator.planning import plan_for_policy

    return _check_pairs(repo, replace(options, plan_for=plan_for_policy), pairs)


def _check_pairs_parallel(repo: Repository, options: CheckOptions, pairs: list[tuple[str, str]]) -> CheckResult:
    """`_check_pairs` over `options.workers` spawned processes, pairs interleaved for balance."""
    workers = min(options.workers, len(pairs))
    shares = [pairs[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=pace_collector) as pool:
        portable = replace(options, plan_for=None, progress=None, extra_checks=(), evaluator=None, waivers_file=None)
        futures = [pool.submit(_worker, repo, portable, share) for share in shares]
        results = [future.result() for future in futures]
    findings = [f for result in results for f in result.findings]
    per_pair: dict[tuple[str, str], int] = {}
    for result in results:
        per_pair.update(result.per_pair_documents)
    timings = {stage: max(r.timings.get(stage, 0.0) for r in results) for stage in results[0].timings}
    timings["workers"] = float(workers)
    timings["wall"] = time.perf_counter() - started
    return CheckResult(findings=sort_findings(findings), checked=sorted({c for r in results for c in r.checked}),
                       documents_checked=sum(r.documents_checked for r in results), rules=results[0].rules,
                       timings=timings, per_pair_documents=per_pair, engine=results[0].engine)
