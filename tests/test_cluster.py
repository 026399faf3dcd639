"""Argo CD Application status and the soak gate against the local Kubernetes API emulator."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s

from generator.cluster import AppStatus, application_status, soak_verdict, wait_healthy_soak
from generator.errors import ModelopsError
from tests.emulators.kube_api import KubeApiEmulator, make_application

TOKEN = "kube-token"
REV = "4f1c2e9a0b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"
OLD = "0" * 40
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def kube() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator(token=TOKEN) as server:
        yield server


@pytest.fixture
def api(kube: KubeApiEmulator) -> Iterator[k8s.ApiClient]:
    configuration = k8s.Configuration(host=kube.url)
    configuration.api_key = {"BearerToken": TOKEN}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    with k8s.ApiClient(configuration) as client:
        yield client


class Clock:
    """A fake time source; `sleep` advances it."""

    def __init__(self, start: datetime):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_application_status_reads_sync_health_and_history(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("support-chat-prod", revision=REV, deployed_at=_iso(T0)))
    status = application_status("support-chat-prod", api_client=api)
    assert isinstance(status, AppStatus)
    assert (status.sync_status, status.health_status, status.revision) == ("Synced", "Healthy", REV)
    assert status.operation_phase == "Succeeded"
    assert status.reconciled_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert [(d.revision, d.deployed_at) for d in status.history] == [(REV, T0)]
    request = kube.requests[-1]
    assert request.path == "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/support-chat-prod"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"


def test_multi_source_application(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("serving", namespace="gitops", revision=[REV, REV],
                                          deployed_at=_iso(T0)))
    status = application_status("serving", namespace="gitops", api_client=api)
    assert status.revision == REV and status.revisions == (REV, REV)
    assert status.history[0].revisions == (REV, REV)
    assert soak_verdict(status, REV, timedelta(minutes=30), T0 + timedelta(hours=1))[0]


def test_missing_application(api: k8s.ApiClient) -> None:
    with pytest.raises(ModelopsError, match="argocd/absent not found"):
        application_status("absent", api_client=api)


def test_unauthorized(kube: KubeApiEmulator) -> None:
    with k8s.ApiClient(k8s.Configuration(host=kube.url)) as anonymous, pytest.raises(ModelopsError, match="401"):
        application_status("x", api_client=anonymous)


def test_kubeconfig_and_context(kube: KubeApiEmulator, tmp_path: Path) -> None:
    kube.put_application(make_application("app", revision=REV, deployed_at=_iso(T0)))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "emu", "cluster": {"server": kube.url}}],
        "users": [{"name": "ci", "user": {"token": TOKEN}}, {"name": "nobody", "user": {"token": "nope"}}],
        "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "ci"}},
                     {"name": "other", "context": {"cluster": "emu", "user": "nobody"}}],
    }))
    assert application_status("app", kubeconfig=str(kubeconfig), context="emu").revision == REV
    with pytest.raises(ModelopsError, match="401"):
        application_status("app", kubeconfig=str(kubeconfig))
    with pytest.raises(ModelopsError, match="kubeconfig"):
        application_status("app", kubeconfig=str(tmp_path / "missing"))


def test_soak_waits_until_long_enough(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("app", revision=REV, deployed_at=_iso(T0)))
    clock = Clock(T0 + timedelta(minutes=10))
    status = wait_healthy_soak("app", REV, timedelta(minutes=30), timeout=timedelta(hours=1),
                               poll_interval=timedelta(minutes=5), api_client=api, now=clock, sleep=clock.sleep)
    assert status.revision == REV
    assert clock.now == T0 + timedelta(minutes=30)
    assert clock.slept == [300.0] * 4


def test_soak_not_met_once(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("app", revision=REV, deployed_at=_iso(T0)))
    clock = Clock(T0 + timedelta(minutes=10))
    with pytest.raises(ModelopsError, match=r"soaked 0:10:00 of 0:30:00"):
        wait_healthy_soak("app", REV, timedelta(minutes=30), api_client=api, now=clock, sleep=clock.sleep)
    assert clock.slept == []


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (make_application("app", revision=OLD, deployed_at="2026-11-20T00:00:00Z"), f"at {OLD}, not {REV}"),
        (make_application("app", revision=REV, sync="OutOfSync", deployed_at="2026-11-20T00:00:00Z"),
         "OutOfSync/Healthy"),
        (make_application("app", revision=REV, health="Degraded", deployed_at="2026-11-20T00:00:00Z"),
         "Synced/Degraded"),
        (make_application("app", revision=REV, operation_phase=None, history=[]), "no deployment record"),
        (make_application("app", revision=REV, history=[{"id": 1, "revision": OLD,
                                                         "deployedAt": "2026-11-20T00:00:00Z"}],
                          operation_phase="Running"), "no deployment record"),
    ],
)
def test_gate_not_met(kube: KubeApiEmulator, api: k8s.ApiClient, app: dict, message: str) -> None:
    kube.put_application(app)
    clock = Clock(T0)
    with pytest.raises(ModelopsError, match="gate not met") as caught:
        wait_healthy_soak("app", REV, timedelta(minutes=30), timeout=timedelta(minutes=10),
                          poll_interval=timedelta(minutes=3), api_client=api, now=clock, sleep=clock.sleep)
    assert message in str(caught.value)
    assert clock.now == T0 + timedelta(minutes=10)


def test_operation_finished_at_when_history_is_empty(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("app", revision=REV, history=[], finished_at=_iso(T0)))
    status = application_status("app", api_client=api)
    assert soak_verdict(status, REV, timedelta(hours=1), T0 + timedelta(hours=1))[0]
    assert not soak_verdict(status, REV, timedelta(hours=1), T0 + timedelta(minutes=59))[0]


def test_failed_sync_fails_fast(kube: KubeApiEmulator, api: k8s.ApiClient) -> None:
    kube.put_application(make_application("app", revision=REV, sync="OutOfSync", operation_phase="Failed",
                                          history=[]))
    clock = Clock(T0)
    with pytest.raises(ModelopsError, match="phase Failed"):
        wait_healthy_soak("app", REV, timedelta(minutes=30), timeout=timedelta(hours=1), api_client=api,
                          now=clock, sleep=clock.sleep)
    assert clock.slept == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("POST", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/x", {}, 405),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/x",
         {"Accept": "application/vnd.kubernetes.protobuf"}, 406),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/Bad_NS/applications/x", {}, 404),
        ("GET", "/apis/argoproj.io/v1/namespaces/argocd/applications/x", {}, 404),
        ("GET", "/api", {"Authorization": "Bearer wrong"}, 401),
    ],
)
def test_emulator_is_strict(kube: KubeApiEmulator, method: str, path: str, headers: dict[str, str], code: int) -> None:
    reply = requests.request(method, kube.url + path, headers={"Authorization": f"Bearer {TOKEN}", **headers},
                             timeout=5)
    assert reply.status_code == code
    assert reply.json()["kind"] == "Status" and reply.json()["code"] == code


def test_emulator_discovery(kube: KubeApiEmulator) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    groups = requests.get(kube.url + "/apis", headers=headers, timeout=5).json()
    assert groups["groups"][0]["name"] == "argoproj.io"
    resources = requests.get(kube.url + "/apis/argoproj.io/v1alpha1", headers=headers, timeout=5).json()
    assert [r["name"] for r in resources["resources"]] == ["applications"]
