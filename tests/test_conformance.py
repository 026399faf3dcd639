"""Rendered output against the real definitions: strict Kubernetes schemas through the real
Helm engine, and the upstream Argo Workflows / Argo CD / JobSet CRDs from ../shared."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generator.helm import render_chart
from generator.validate.schemas import SchemaRegistry
from tests.conftest import CONFORMANCE, ROOT

CRDS = CONFORMANCE / "crds"


def _rendered(kind_filter=None):
    for path in sorted((ROOT / "environments").rglob("*.yaml")):
        if path.name == "environment.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if kind_filter is None or doc.get("kind") in kind_filter:
                yield path.relative_to(ROOT).as_posix(), doc


def test_every_values_file_renders_to_strictly_valid_kubernetes_objects():
    registry = SchemaRegistry("1.33", strict=True)
    values_files = [(p, d) for p, d in _rendered() if p.endswith("serving/values.yaml")]
    assert len(values_files) == 7  # shelf-vision is served by KServe in dev and staging
    kinds = set()
    for path, values in values_files:
        env = path.split("/")[1]
        objects = render_chart(ROOT / "blueprints/charts/model-serving", values, release=values["model"]["name"],
                               namespace=f"ml-{env}", values_file=path)
        assert {"Deployment", "Service", "ServiceAccount"} <= {o["kind"] for o in objects}
        for obj in objects:
            kinds.add(obj["kind"])
            assert registry.validate(obj) == [], (path, obj["kind"])
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds


def test_strict_validation_really_rejects_unknown_fields():
    registry = SchemaRegistry("1.33", strict=True)
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"portz": []}}
    assert any("portz" in v.message for v in registry.validate(bad))


@pytest.fixture(scope="module")
def upstream_registry():
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not present at {CRDS}")
    return SchemaRegistry("1.33", schema_dirs=[CRDS / "argo-workflows", CRDS / "argo-cd", CRDS / "jobset"])


def test_workflows_and_applications_pass_upstream_crds(upstream_registry):
    seen = set()
    for path, doc in _rendered({"WorkflowTemplate", "CronWorkflow", "Application"}):
        seen.add(doc["kind"])
        assert upstream_registry.validate(doc) == [], path
        if doc["kind"] == "WorkflowTemplate":
            for template in doc["spec"]["templates"]:
                if "resource" in template:
                    jobset = yaml.safe_load(template["resource"]["manifest"])
                    seen.add(jobset["kind"])
                    assert upstream_registry.validate(jobset, templated=True) == [], f"{path} JobSet"
    assert seen == {"WorkflowTemplate", "CronWorkflow", "Application", "JobSet"}


def test_upstream_crd_validation_rejects_a_typo(upstream_registry):
    _path, doc = next(_rendered({"WorkflowTemplate"}))
    doc["spec"]["templates"][0]["retryStrategy"]["limitt"] = 3
    violations = upstream_registry.validate(doc)
    assert any("limitt" in v.message for v in violations)


def test_vendored_crds_match_upstream(upstream_registry):
    vendored = SchemaRegistry("1.33")
    for _path, doc in _rendered({"WorkflowTemplate", "Application"}):
        doc["spec"]["bogus"] = 1
        assert vendored.validate(doc) == upstream_registry.validate(doc) != []


def test_multi_node_training_renders_a_jobset_with_rendezvous():
    doc = yaml.safe_load(Path(ROOT / "environments/prod/support-chat/training/workflowtemplate.yaml").read_text())
    template = doc["spec"]["templates"][0]
    jobset = yaml.safe_load(template["resource"]["manifest"])
    job = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]
    assert job["parallelism"] == job["completions"] == 2
    container = job["template"]["spec"]["containers"][0]
    args = container["args"]
    assert "--nnodes=2" in args and "--nproc-per-node=8" in args and "--node-rank=$(JOB_COMPLETION_INDEX)" in args
    # static rendezvous on pod 0's stable name (c10d would ignore --node-rank); the launcher waits for its DNS
    assert "--master-addr=$(JOBSET_NAME)-workers-0-0.$(JOBSET_NAME)" in args and not any("rdzv" in a for a in args)
    assert container["command"] == ["python", "-m", "generator.training.launch"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert template["resource"]["successCondition"] == "status.terminalState == Completed"


def test_single_node_training_has_the_robustness_settings():
    doc = yaml.safe_load((ROOT / "environments/dev/shelf-vision/training/workflowtemplate.yaml").read_text())
    spec = doc["spec"]
    template = spec["templates"][0]
    assert spec["activeDeadlineSeconds"] == 6 * 3600
    assert spec["podGC"]["strategy"] and spec["ttlStrategy"]
    assert template["retryStrategy"]["limit"] == 2 and template["retryStrategy"]["backoff"]["factor"] == 2
    assert template["container"]["command"] == ["python", "-m", "generator.training.launch"]
    assert template["container"]["args"][:3] == ["--standalone", "--nnodes=1", "--nproc-per-node=4"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}} in template["volumes"]
    assert template["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert template["outputs"]["parameters"][0]["valueFrom"]["path"] == "/tmp/outputs/metrics.json"
    # torchrun must give the trainer time to checkpoint, within the pod's grace period
    grace = json.loads(template["podSpecPatch"])["terminationGracePeriodSeconds"]
    shutdown = {e["name"]: e.get("value") for e in template["container"]["env"]}["TORCH_ELASTIC_SHUTDOWN_TIMEOUT"]
    assert 30 < int(shutdown) < grace
