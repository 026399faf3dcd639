"""Submitting WorkflowTemplates through the argo_workflows client to the Argo Server emulator."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from generator.argo_submit import connect, submit_workflow_template
from generator.errors import ModelopsError
from tests.emulators.argo_server import ArgoServerEmulator

TOKEN = "v2:argo-token"


def template(**spec: Any) -> dict[str, Any]:
    """A WorkflowTemplate with the 4.x fields and int-or-string values the typed client rejects."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "support-chat-train", "namespace": "ml-dev", "labels": {"team": "assistants"}},
        "spec": {
            "entrypoint": "train",
            "pendingTimeout": "30m",
            "synchronization": {"semaphores": [{"configMapKeyRef": {"name": "gpu-slots", "key": "h100"}}]},
            "arguments": {"parameters": [{"name": "epochs", "value": "1"}]},
            "templates": [{
                "name": "train",
                "retryStrategy": {"limit": 3, "backoff": {"duration": "1m", "factor": 2}},
                "container": {"image": "registry.example.com/train@sha256:" + "a" * 64,
                              "resources": {"limits": {"nvidia.com/gpu": 8}, "requests": {"nvidia.com/gpu": 8}}},
            }],
            **spec,
        },
    }


@pytest.fixture
def argo() -> Iterator[ArgoServerEmulator]:
    with ArgoServerEmulator(token=TOKEN) as server:
        yield server


@pytest.fixture
def env(argo: ArgoServerEmulator) -> dict[str, str]:
    return {"ARGO_SERVER": argo.url, "ARGO_TOKEN": f"Bearer {TOKEN}"}


def test_create_then_submit(argo: ArgoServerEmulator, env: dict[str, str]) -> None:
    name = submit_workflow_template(template(), parameters={"epochs": "3"}, labels={"modelops/model": "support-chat"},
                                    env=env)
    assert name.startswith("support-chat-train-") and len(name) == len("support-chat-train-") + 5
    stored = argo.templates[("ml-dev", "support-chat-train")]
    # The document went through untouched: ints stay ints, 4.x fields survive.
    assert stored["spec"]["templates"][0]["retryStrategy"]["limit"] == 3
    assert stored["spec"]["pendingTimeout"] == "30m"
    workflow = argo.workflows[("ml-dev", name)]
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "support-chat-train"}
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "epochs", "value": "3"}]
    assert workflow["metadata"]["labels"]["modelops/model"] == "support-chat"
    _, create, submit = argo.requests
    assert [(r.method, r.path) for r in argo.requests] == [
        ("GET", "/api/v1/workflow-templates/ml-dev/support-chat-train"),
        ("POST", "/api/v1/workflow-templates/ml-dev"),
        ("POST", "/api/v1/workflows/ml-dev/submit"),
    ]
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    body = json.loads(submit.body)
    assert body["resourceKind"] == "WorkflowTemplate" and body["resourceName"] == "support-chat-train"
    assert body["submitOptions"]["parameters"] == ["epochs=3"]


def test_second_submit_updates_the_template(argo: ArgoServerEmulator, env: dict[str, str]) -> None:
    first = submit_workflow_template(template(), env=env)
    second = submit_workflow_template(template(activeDeadlineSeconds=3600), env=env)
    assert first != second and len(argo.workflows) == 2
    assert argo.templates[("ml-dev", "support-chat-train")]["spec"]["activeDeadlineSeconds"] == 3600
    update = [r for r in argo.requests if r.method == "PUT"]
    assert len(update) == 1
    assert json.loads(update[0].body)["template"]["metadata"]["resourceVersion"] == "101"


def test_namespace_from_argument_or_environment(argo: ArgoServerEmulator, env: dict[str, str]) -> None:
    document = template()
    del document["metadata"]["namespace"]
    submit_workflow_template(document, env={**env, "ARGO_NAMESPACE": "ml-staging"})
    submit_workflow_template(document, namespace="ml-prod", env=env)
    assert {ns for ns, _ in argo.templates} == {"ml-staging", "ml-prod"}
    with pytest.raises(ModelopsError, match="ARGO_NAMESPACE"):
        submit_workflow_template(document, env=env)
    with pytest.raises(ModelopsError, match="not ml-prod"):
        submit_workflow_template(template(), namespace="ml-prod", env=env)


def test_bad_token_is_reported_without_the_token(argo: ArgoServerEmulator) -> None:
    wrong = "v2:wrong-secret"
    with pytest.raises(ModelopsError) as caught:
        submit_workflow_template(template(), env={"ARGO_SERVER": argo.url, "ARGO_TOKEN": wrong})
    assert "401" in str(caught.value) and "ARGO_TOKEN" in str(caught.value)
    assert wrong not in str(caught.value) and "wrong-secret" not in str(caught.value)


def test_server_rejections_become_modelops_errors(env: dict[str, str]) -> None:
    with pytest.raises(ModelopsError, match="entrypoint template 'missing' not found"):
        submit_workflow_template(template(entrypoint="missing"), env=env)


def test_missing_server_and_unreachable_server() -> None:
    with pytest.raises(ModelopsError, match="ARGO_SERVER"):
        submit_workflow_template(template(), env={})
    with pytest.raises(ModelopsError, match="cannot reach Argo Server"):
        submit_workflow_template(template(), env={"ARGO_SERVER": "http://127.0.0.1:9"})


def test_connect_reads_argo_cli_variables() -> None:
    client = connect(env={"ARGO_SERVER": "argo.example.com:2746", "ARGO_SECURE": "false",
                          "ARGO_BASE_HREF": "/argo/", "ARGO_TOKEN": "Bearer abc",
                          "ARGO_INSECURE_SKIP_VERIFY": "true"})
    assert client.configuration.host == "http://argo.example.com:2746/argo"
    assert client.configuration.verify_ssl is False
    assert client.configuration.auth_settings()["BearerToken"]["value"] == "Bearer abc"
    assert connect(env={"ARGO_SERVER": "argo.example.com"}).configuration.host == "https://argo.example.com"


def test_not_a_workflow_template(env: dict[str, str]) -> None:
    with pytest.raises(ModelopsError, match="expected a WorkflowTemplate"):
        submit_workflow_template({**template(), "kind": "CronWorkflow"}, env=env)


# -- the emulator is strict about request shapes ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/v1/workflow-templates/ml", {"workflowTemplate": {}}, 400, 'unknown field "workflowTemplate"'),
        ("POST", "/api/v1/workflow-templates/ml", {"namespace": "ml"}, 400, "not found in the request body"),
        ("POST", "/api/v1/workflows/ml/submit", {"resourceKind": "WorkflowTemplate", "resourceName": "absent"},
         404, "not found"),
        ("POST", "/api/v1/workflows/ml/submit", {"resourceKind": "Workflow", "resourceName": "x"}, 400, "resourceKind"),
        ("POST", "/api/v1/workflows/ml/submit", {"resourceKind": "WorkflowTemplate", "resourceName": "x",
                                                 "submitOptions": {"params": []}}, 400, 'unknown field "params"'),
        ("PUT", "/api/v1/workflow-templates/ml/x", {"template": {"metadata": {"name": "x"},
                                                                 "spec": {"templates": [{"name": "a"}]}}},
         404, "not found"),
    ],
)
def test_emulator_rejects_bad_shapes(
    argo: ArgoServerEmulator, method: str, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    reply = requests.request(method, argo.url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=5)
    assert reply.status_code == status and message in reply.json()["message"]


def test_emulator_requires_resource_version_on_update(argo: ArgoServerEmulator) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    document = template()
    base = argo.url + "/api/v1/workflow-templates/ml-dev"
    assert requests.post(base, json={"namespace": "ml-dev", "template": document}, headers=headers,
                         timeout=5).status_code == 200
    assert requests.post(base, json={"template": document}, headers=headers, timeout=5).status_code == 409
    put = requests.put(f"{base}/support-chat-train", json={"template": document}, headers=headers, timeout=5)
    assert put.status_code == 400 and "resourceVersion" in put.json()["message"]
    document["metadata"]["resourceVersion"] = "1"
    stale = requests.put(f"{base}/support-chat-train", json={"template": document}, headers=headers, timeout=5)
    assert stale.status_code == 409
    bad = requests.post(base, data=b"{", headers={**headers, "Content-Type": "application/json"}, timeout=5)
    assert bad.status_code == 400
