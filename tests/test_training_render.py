"""The rendered training workflow for the platform versions an environment declares: retries
that act on the launcher's exit codes, JobSet and Kueue wiring, one folder per run, metrics
as a workflow output, the spec's model size, and only fields those versions know."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from generator.training.config import (
    PARAMETER_TOLERANCE,
    gpt_parameter_count,
    parse_model_config,
)
from generator.validate.schemas import SchemaRegistry
from tests.conftest import CONFORMANCE

CRDS = CONFORMANCE / "crds"
CHAT = "environments/{env}/support-chat/training/workflowtemplate.yaml"
SHELF = "environments/{env}/shelf-vision/training/workflowtemplate.yaml"


def _render(repo: Path, cli: Any) -> None:
    code, _, err = cli("-C", str(repo), "render")
    assert code == 0, err


def _load(repo: Path, path: str, env: str = "prod") -> dict[str, Any]:
    return yaml.safe_load((repo / path.format(env=env)).read_text())


def _template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def _jobset(doc: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(_template(doc, "train")["resource"]["manifest"])


def _set_cluster(repo: Path, env: str, **versions: str) -> None:
    path = repo / f"environments/{env}/environment.yaml"
    text = path.read_text()
    for key, value in versions.items():
        text = re.sub(rf'(\n  {key}: )"[^"]*"', rf'\g<1>"{value}"', text)
    path.write_text(text)


def _retries(expression: str, status: str, exit_code: str) -> bool:
    """Argo's expr for this expression is also Python: evaluate it as Argo would."""
    last = SimpleNamespace(status=status, exitCode=exit_code)
    return bool(eval(expression, {"__builtins__": {}}, {"lastRetry": last, "asInt": int}))


def test_single_node_retries_preemption_and_infrastructure_only(example_repo: Path, cli: Any) -> None:
    _render(example_repo, cli)
    train = _template(_load(example_repo, SHELF), "train")
    assert train["container"]["command"] == ["python", "-m", "generator.training.launch"]
    expression = train["retryStrategy"]["expression"]
    assert _retries(expression, "Failed", "143") and _retries(expression, "Failed", "75")
    assert _retries(expression, "Error", "0")  # a pod Argo lost: node gone, evicted
    assert not _retries(expression, "Failed", "1") and not _retries(expression, "Failed", "2")
    backoff = train["retryStrategy"]["backoff"]
    assert "maxDuration" not in backoff and backoff["cap"] == "30m"  # maxDuration counts from the first attempt


def test_jobset_is_named_per_run_admitted_by_kueue_and_cleaned_up(example_repo: Path, cli: Any) -> None:
    _render(example_repo, cli)
    doc = _load(example_repo, CHAT)
    train, jobset = _template(doc, "train"), _jobset(doc)
    queue = "kueue.x-k8s.io/queue-name"
    assert jobset["metadata"]["labels"][queue] == "ml-prod-training"
    pod = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]
    assert queue not in pod["metadata"]["labels"] and queue not in doc["spec"]["podMetadata"]["labels"]
    assert pod["spec"]["priorityClassName"] == "ml-training"
    assert jobset["metadata"]["name"] == "{{workflow.name}}" and "generateName" not in jobset["metadata"]
    assert train["resource"]["action"] == "apply"  # a retried watcher re-applies, never creates a second JobSet
    assert _retries(train["retryStrategy"]["expression"], "Error", "0")
    assert not _retries(train["retryStrategy"]["expression"], "Failed", "64")  # failureCondition matched
    assert doc["spec"]["onExit"] == "delete-jobset"
    cleanup = _template(doc, "delete-jobset")["resource"]
    assert cleanup["action"] == "delete" and "--ignore-not-found" in cleanup["flags"]
    assert yaml.safe_load(cleanup["manifest"])["metadata"] == {"name": "{{workflow.name}}", "namespace": "ml-prod"}
    policy = jobset["spec"]["failurePolicy"]
    assert policy["maxRestarts"] == 3 and policy["rules"][0]["action"] == "FailJobSet"
    job = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]
    rule = job["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [1, 2]


def test_rendezvous_does_not_depend_on_dns_timing(example_repo: Path, cli: Any) -> None:
    _render(example_repo, cli)
    container = _jobset(_load(example_repo, CHAT))["spec"]["replicatedJobs"][0]["template"]["spec"]["template"][
        "spec"]["containers"][0]
    args = container["args"]
    assert "--node-rank=$(JOB_COMPLETION_INDEX)" in args and "--rdzv-backend=c10d" not in args
    assert "--master-addr=$(JOBSET_NAME)-workers-0-0.$(JOBSET_NAME)" in args  # the launcher waits for it to resolve


def test_every_run_has_its_own_checkpoint_folder(example_repo: Path, cli: Any) -> None:
    _render(example_repo, cli)
    for env in ("dev", "prod"):
        doc = _load(example_repo, CHAT, env)
        train = _template(doc, "train")
        args = (train.get("container") or _jobset(doc)["spec"]["replicatedJobs"][0]["template"]["spec"]["template"][
            "spec"]["containers"][0])["args"]
        assert args[args.index("--checkpoint-dir") + 1] == f"s3://checkpoints/support-chat/{env}"
        assert args[args.index("--run-name") + 1] == "{{workflow.name}}"  # a CronWorkflow run's name is unique
    cron = yaml.safe_load((example_repo / "environments/prod/support-chat/training/cronworkflow.yaml").read_text())
    assert cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == "support-chat-training"


def test_metrics_are_a_workflow_output_for_single_and_multi_node(example_repo: Path, cli: Any) -> None:
    _render(example_repo, cli)
    for path, step in ((SHELF, "train"), (CHAT, "metrics")):
        doc = _load(example_repo, path)
        assert doc["spec"]["entrypoint"] == "main"
        output = _template(doc, "main")["outputs"]["parameters"][0]
        assert output == {"name": "metrics", "valueFrom": {"parameter": f"{{{{steps.{step}.outputs.parameters.metrics}}}}"}}
        assert _template(doc, step)["outputs"]["parameters"][0]["valueFrom"]["path"] == "/tmp/outputs/metrics.json"
    trainer = _jobset(_load(example_repo, CHAT))["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"][
        "containers"][0]["args"]
    target = trainer[trainer.index("--metrics-out") + 1]
    assert target == "s3://checkpoints/support-chat/prod/{{workflow.name}}/metrics.json"
    assert _template(_load(example_repo, CHAT), "metrics")["container"]["args"][0] == target


@pytest.mark.parametrize(("argo", "jobset", "pending", "cap", "rules"), [
    ("4.1.0", "0.8.0", True, True, True),
    ("4.0.5", "0.6.0", False, True, True),
    ("3.6.2", "0.5.2", False, False, False),
])
def test_fields_follow_the_declared_versions_and_validate(example_repo: Path, cli: Any, argo: str, jobset: str,
                                                          pending: bool, cap: bool, rules: bool) -> None:
    _set_cluster(example_repo, "prod", argoWorkflows=argo, jobset=jobset)
    _render(example_repo, cli)
    doc = _load(example_repo, CHAT)
    train = _template(doc, "train")
    assert ("pendingTimeout" in train) is pending
    assert ("cap" in train["retryStrategy"]["backoff"]) is cap and "maxDuration" not in train["retryStrategy"]["backoff"]
    assert ("rules" in _jobset(doc)["spec"]["failurePolicy"]) is rules
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not present at {CRDS}")
    registry = SchemaRegistry("1.33", schema_dirs=[CRDS / "argo-workflows", CRDS / "jobset"])
    assert registry.validate(doc) == [] and registry.validate(_jobset(doc), templated=True) == []


def test_declared_parameters_size_the_trained_model(example_repo: Path, cli: Any) -> None:
    spec = example_repo / "models/support-chat.yaml"
    spec.write_text(spec.read_text().replace("architecture: {preset: gpt-1b}", "architecture: {parameters: 8000000000}"))
    _render(example_repo, cli)
    args = _jobset(_load(example_repo, CHAT))["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"][
        "containers"][0]["args"]
    config = parse_model_config(args[args.index("--model-config") + 1])
    assert abs(gpt_parameter_count(config) - 8e9) / 8e9 <= PARAMETER_TOLERANCE
    code, out, _ = cli("-C", str(example_repo), "plan", "support-chat", "--env", "prod", "--format", "json")
    import json

    plan = json.loads(out)[0]
    assert plan["params"] == gpt_parameter_count(config)  # plan prices the model train builds
    # 8B at 8 x 2048 tokens per GPU: the activations alone exceed an 80 GB card
    assert code == 1 and not plan["fits"] and "activations alone" in plan["reason"]


def test_rdma_environment_requests_the_device_and_ipc_lock(example_repo: Path, cli: Any) -> None:
    path = example_repo / "environments/prod/environment.yaml"
    text = path.read_text().replace("rdma: false", "rdma: true").replace(
        "  checkpointClaim: ml-checkpoints", "  checkpointClaim: ml-checkpoints\n  ncclIbHca: mlx5\n"
                                             "  rdmaResource: rdma/rdma_shared_device_a")
    path.write_text(text)
    _render(example_repo, cli)
    container = _jobset(_load(example_repo, CHAT))["spec"]["replicatedJobs"][0]["template"]["spec"]["template"][
        "spec"]["containers"][0]
    assert container["resources"]["limits"]["rdma/rdma_shared_device_a"] == "1"
    assert container["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]
    assert {"name": "NCCL_IB_HCA", "value": "mlx5"} in container["env"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("dataset: s3://datasets/support/v7", "dataset: hdfs://datasets/support/v7", "cannot read hdfs:// data"),
    ("checkpoints: s3://checkpoints/support-chat", "checkpoints: azure://ckpt/support-chat",
     "cannot write checkpoints to azure://"),
    ("checkpoints: s3://checkpoints/support-chat", "checkpoints: file:///tmp/ckpt", "must be under /checkpoints/"),
    ("architecture: {preset: gpt-1b}", "architecture: {parameters: 1000}", "no reference GPT within 5%"),
])
def test_storage_the_trainer_cannot_reach_is_a_spec_error(example_repo: Path, cli: Any, old: str, new: str,
                                                          message: str) -> None:
    spec = example_repo / "models/support-chat.yaml"
    text = spec.read_text()
    line = text[: text.index(old)].count("\n") + 1
    spec.write_text(text.replace(old, new))
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 2 and message in err
    assert f"models/support-chat.yaml:{line}:" in err and err.count(message) == 1


RELEASE_PAIRS = [("3.6.0", "0.5.0"), ("3.7.3", "0.6.0"), ("4.0.1", "0.7.0"), ("4.1.0", "0.8.0"), ("4.1.2", "0.9.1")]


@pytest.mark.parametrize(("argo", "jobset"), RELEASE_PAIRS)
def test_check_validates_against_the_crds_of_the_declared_releases(example_repo: Path, cli: Any, argo: str,
                                                                    jobset: str) -> None:
    """What each declared release renders passes `check` against that release's CRDs."""
    _set_cluster(example_repo, "prod", argoWorkflows=argo, jobset=jobset)
    code, out, err = cli("-C", str(example_repo), "check", "--format", "json", "--no-cache")
    assert code == 0, out + err


@pytest.mark.parametrize(("releases", "render_for", "unknown"), [
    ({"argo-workflows": "4.0.10"}, {"argoWorkflows": "4.1.0"}, "pendingTimeout"),
    ({"argo-workflows": "3.6.0"}, {"argoWorkflows": "3.7.0"}, "cap"),
])
def test_a_field_newer_than_the_declared_argo_release_is_unknown(example_repo: Path, cli: Any,
                                                                 releases: dict[str, str], render_for: dict[str, str],
                                                                 unknown: str) -> None:
    """Before: `check` validated every environment against the newest CRDs it carried, so
    a field the cluster's Argo does not know (it would drop it, or reject it under strict
    field validation) passed."""
    _set_cluster(example_repo, "prod", **render_for)
    _render(example_repo, cli)
    doc = _load(example_repo, CHAT)
    assert SchemaRegistry("1.33").validate(doc) == []  # the newest schemas know the field
    problems = SchemaRegistry("1.33", releases=releases).validate(doc)
    assert any(f"unknown field(s): {unknown}" in p.message for p in problems), problems


def test_jobset_failure_rules_are_unknown_to_jobset_0_5(example_repo: Path, cli: Any) -> None:
    _set_cluster(example_repo, "prod", jobset="0.8.0")
    _render(example_repo, cli)
    jobset = _jobset(_load(example_repo, CHAT))
    assert SchemaRegistry("1.33", releases={"jobset": "0.8.2"}).validate(jobset, templated=True) == []
    problems = SchemaRegistry("1.33", releases={"jobset": "0.5.0"}).validate(jobset, templated=True)
    assert [p.path for p in problems] == ["spec.failurePolicy"] and "rules" in problems[0].message


def test_a_release_older_than_the_vendored_schemas_is_one_line_exit_2(example_repo: Path, cli: Any) -> None:
    _set_cluster(example_repo, "prod", argoWorkflows="3.5.8")
    code, out, err = cli("-C", str(example_repo), "check", "--no-cache")
    assert code == 2 and out == "", out + err
    line = next(i for i, text in enumerate((example_repo / "environments/prod/environment.yaml").read_text()
                                           .splitlines(), 1) if "argoWorkflows" in text)
    assert err.count("\n") == 1 and f"environments/prod/environment.yaml:{line}:" in err
    assert "cluster.argoWorkflows: argo-workflows 3.5.8 is older than any release" in err and "3.6.19" in err
