"""The built-in library gives identical findings on every installed engine.

The corpus is the example repository's policy inputs (as `check` builds them) plus
generated violations: every field of every rendered object removed in turn (the
`not is_object(x.missing)` class, undefined on OPA and true on other engines unless a
rule is written not to depend on it) and the classic bad manifest edits. A rule that
means something else on one engine fails here, naming the document and the difference.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import pytest

from generator.check.documents import collect_documents
from generator.check.run import policy_input
from generator.policy.engine import PolicySet
from generator.policy.engines import installed_engines
from generator.render.pipeline import render_repository
from generator.spec.load import load_repository
from tests.conftest import ROOT

ENGINES = installed_engines()
PER_DOCUMENT = 24  # removed fields per document besides the probed ones: an even spread
# Fields the library reads through `not is_*(...)`-style probes: each is always removed.
PROBED = {"readinessProbe", "livenessProbe", "startupProbe", "retryStrategy", "container", "script", "training",
          "reason", "securityContext", "resources", "backoff", "allowed", "gpus"}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key in sorted(node):
            yield (*prefix, key)
            yield from _paths(node[key], (*prefix, key))
    elif isinstance(node, list):
        for index, item in enumerate(node[:2]):
            yield from _paths(item, (*prefix, index))


def _without(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node = changed
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return changed


def _bad_edits(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Privileged, host network, :latest and a plaintext password in each pod spec found."""
    for path in (p for p in _paths(document) if p[-1] == "containers"):
        changed = copy.deepcopy(document)
        node = changed
        for part in path:
            node = node[part]
        if not isinstance(node, list) or not node or not isinstance(node[0], dict):
            continue
        node[0]["image"] = "docker.io/library/nginx:latest"
        node[0]["securityContext"] = {"privileged": True}
        node[0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2-plaintext"}]
        parent = changed
        for part in path[:-1]:
            parent = parent[part]
        parent["hostNetwork"] = True
        yield changed


def _without_model_fields(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec's view and the environment with probed fields removed (capacity, GPU types)."""
    variants = []
    model = base.get("model") or {}
    if "training" in model:
        variants.append(base | {"model": {k: v for k, v in model.items() if k != "training"}})
    gpus = base["environment"].get("gpus")
    if isinstance(gpus, dict) and "allowed" in gpus:
        environment = base["environment"] | {"gpus": {k: v for k, v in gpus.items() if k != "allowed"}}
        variants.append(base | {"environment": environment})
    return variants


@functools.lru_cache(maxsize=1)
def _corpus() -> list[dict[str, Any]]:
    repo = load_repository(ROOT)
    usage = repo.gpu_usage()
    inputs = []
    for doc in collect_documents(render_repository(repo), repo.root):
        env = repo.environments[doc.environment].policy_view() | {"gpuUsage": usage[doc.environment]}
        base = policy_input(doc, env, [doc.kind], None)
        inputs.append(base)
        paths = list(_paths(doc.document))
        step = max(1, len(paths) // PER_DOCUMENT)
        chosen = sorted(set(paths[::step]) | {p for p in paths if p[-1] in PROBED}, key=repr)
        inputs += [base | {"document": _without(doc.document, path)} for path in chosen]
        inputs += _without_model_fields(base)
        inputs += [base | {"document": edited} for edited in _bad_edits(doc.document)]
        inputs += [doc.document, *_bad_edits(doc.document)]  # plain manifests, as `policy eval` gives them
    return inputs


def _findings(policies: PolicySet, document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r.namespace, r.rule, r.msg) for r in policies.evaluate(document))


@pytest.mark.skipif(len(ENGINES) < 2, reason="only one Rego engine installed (scripts/install-test-deps.sh adds OPA)")
def test_builtin_library_gives_identical_findings_on_every_engine() -> None:
    corpus = _corpus()
    engines = {name: PolicySet.load([ROOT / "policies"], engine=name) for name in ENGINES}
    reference, *others = ENGINES
    with_findings = 0
    for index, document in enumerate(corpus):
        expected = _findings(engines[reference], document)
        with_findings += bool(expected)
        for name in others:
            found = _findings(engines[name], document)
            assert found == expected, (f"document {index} ({document.get('kind')} {document.get('file', '')}): "
                                       f"{reference} {expected} != {name} {found}")
    assert len(corpus) > 1000 and with_findings > 200  # the corpus exercises the rules


def test_skipping_packages_by_their_declared_kinds_changes_no_finding() -> None:
    """`custom.kinds` in a package's METADATA lets the engine skip it for other kinds; a
    kind left out of that list would hide findings, which this comparison catches."""
    corpus = _corpus()
    skipping = PolicySet.load([ROOT / "policies"])
    everything = PolicySet.load([ROOT / "policies"])
    everything.skip_by_kind = False
    declared = [ns for ns in skipping.namespaces if skipping._metadata[ns].package_annotation
                and skipping._metadata[ns].package_annotation.kinds]
    assert len(declared) >= 20
    for index, document in enumerate(corpus):
        assert _findings(skipping, document) == _findings(everything, document), f"document {index}"
