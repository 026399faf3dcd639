"""The one-query-per-document path gives exactly what one query per rule gives."""
from __future__ import annotations

from generator.check.documents import collect_documents
from generator.check.run import policy_input
from generator.policy.engine import PolicySet
from generator.render.pipeline import render_repository
from generator.spec.load import load_repository
from tests.conftest import ROOT, copy_example


def test_aggregate_matches_per_rule_queries_on_real_documents(tmp_path):
    repo_dir = copy_example(tmp_path / "repo")
    spec = repo_dir / "models/support-chat.yaml"
    spec.write_text(spec.read_text().replace("registry.example.com/assistants/trainer@", "docker.io/trainer:latest@")
                    .replace("replicas: {min: 3, max: 12}", "replicas: {min: 1, max: 12}"))
    repo = load_repository(repo_dir)
    documents = collect_documents(render_repository(repo, ["prod"]), repo.root)
    policies = PolicySet.load([ROOT / "policies"])
    env = repo.environments["prod"].policy_view() | {"gpuUsage": {"total": 1, "byModel": {}}}
    found = 0
    for doc in documents:
        document_input = policy_input(doc, env, ["Deployment"], None)
        aggregate = policies.evaluate(document_input)
        per_rule = [(ns, rule, value) for ns in policies.namespaces for rule in policies.rules[ns]
                    for defined, value in [policies.query(ns, rule, document_input)] if defined and value]
        assert sorted((r.namespace, r.rule, r.msg) for r in aggregate) == sorted(
            (ns, rule, item if isinstance(item, str) else item["msg"]) for ns, rule, value in per_rule for item in value)
        found += len(aggregate)
    assert found >= 3  # registry, digest and replica findings at least
