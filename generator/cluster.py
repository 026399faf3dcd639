"""Read-only cluster queries: Argo CD Application sync and health, and the soak gate.

Promotion to the next environment is gated on the previous one running the promoted
revision Synced and Healthy for long enough ("soak"). This module only reads
`applications.argoproj.io` through the Kubernetes API; it never changes the cluster.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from generator.errors import ModelopsError

__all__ = ["AppStatus", "Deployment", "api_client_for", "application_status", "soak_verdict", "wait_healthy_soak"]

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"


@dataclass(frozen=True)
class Deployment:
    """One entry of `status.history`: what was deployed and when it finished."""

    revision: str
    deployed_at: datetime | None
    revisions: tuple[str, ...] = ()  # multi-source applications: one per source


@dataclass(frozen=True)
class AppStatus:
    """The parts of an Argo CD Application's status a promotion gate needs."""

    name: str
    sync_status: str  # Synced | OutOfSync | Unknown ("" when never compared)
    health_status: str  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown
    revision: str  # status.sync.revision, or the first of status.sync.revisions
    reconciled_at: datetime | None
    operation_phase: str  # Running | Succeeded | Failed | Error | Terminating ("" when none)
    history: tuple[Deployment, ...] = ()
    revisions: tuple[str, ...] = ()  # every synced revision (multi-source), else (revision,)
    operation_finished_at: datetime | None = None
    operation_revisions: tuple[str, ...] = ()

    def at_revision(self, revision: str) -> bool:
        return bool(revision) and revision in self.revisions


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    # Kubernetes writes RFC 3339 in UTC; a naive value can only mean UTC too.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _revisions(obj: dict[str, Any]) -> tuple[str, ...]:
    many = [str(r) for r in obj.get("revisions") or () if r]
    return tuple(many) if many else ((str(obj["revision"]),) if obj.get("revision") else ())


def parse_application(app: dict[str, Any]) -> AppStatus:
    """AppStatus from an Application object as the API returns it."""
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    operation = status.get("operationState") or {}
    history = tuple(
        Deployment(
            revision=(_revisions(entry) or ("",))[0],
            deployed_at=_time(entry.get("deployedAt")),
            revisions=_revisions(entry),
        )
        for entry in status.get("history") or ()
    )
    revisions = _revisions(sync)
    return AppStatus(
        name=(app.get("metadata") or {}).get("name", ""),
        sync_status=str(sync.get("status") or ""),
        health_status=str((status.get("health") or {}).get("status") or ""),
        revision=revisions[0] if revisions else "",
        reconciled_at=_time(status.get("reconciledAt")),
        operation_phase=str(operation.get("phase") or ""),
        history=history,
        revisions=revisions,
        operation_finished_at=_time(operation.get("finishedAt")),
        operation_revisions=_revisions(operation.get("syncResult") or {}),
    )


def api_client_for(kubeconfig: str | None = None, context: str | None = None) -> k8s.ApiClient:
    """An ApiClient from `kubeconfig` (default ~/.kube/config or $KUBECONFIG), else in-cluster."""
    # The client reads $KUBECONFIG once, at import; read it at call time instead.
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
    try:
        client: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, persist_config=False
        )
        return client
    except (ConfigException, OSError) as exc:
        if kubeconfig or context:
            raise ModelopsError(f"cannot load kubeconfig{f' {kubeconfig}' if kubeconfig else ''}"
                                f"{f' context {context}' if context else ''}: {exc}") from None
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException:
        raise ModelopsError("no Kubernetes credentials: pass --kubeconfig/--context or run inside the cluster") from None
    return k8s.ApiClient(configuration)


def application_status(
    name: str,
    namespace: str = "argocd",
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    api_client: k8s.ApiClient | None = None,
) -> AppStatus:
    """Sync and health of the Argo CD Application `namespace/name`."""
    if api_client is None:
        with api_client_for(kubeconfig, context) as client:
            return application_status(name, namespace, api_client=client)
    api = k8s.CustomObjectsApi(api_client)
    try:
        app: dict[str, Any] = api.get_namespaced_custom_object(  # type: ignore[assignment]
            GROUP, VERSION, namespace, PLURAL, name
        )
    except ApiException as exc:
        if exc.status == 404:
            raise ModelopsError(f"Argo CD Application {namespace}/{name} not found "
                                "(is the environment rendered and its root app synced?)") from None
        raise ModelopsError(f"cannot read Argo CD Application {namespace}/{name}: "
                            f"HTTP {exc.status} {exc.reason}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise ModelopsError(f"cannot reach the Kubernetes API for {namespace}/{name}: {exc}") from None
    return parse_application(app)


def deployed_since(status: AppStatus, revision: str) -> datetime | None:
    """When `revision` finished deploying: the last history entry, else the last sync operation."""
    if status.history and revision in status.history[-1].revisions:
        return status.history[-1].deployed_at
    if status.operation_phase == "Succeeded" and revision in status.operation_revisions:
        return status.operation_finished_at
    return None


def soak_verdict(status: AppStatus, revision: str, soak: timedelta, now: datetime) -> tuple[bool, str]:
    """(passed, reason): Synced + Healthy at `revision`, deployed at least `soak` before `now`."""
    if not status.at_revision(revision):
        shown = ", ".join(status.revisions) or "nothing"
        return False, f"{status.name} is at {shown}, not {revision}"
    if (status.sync_status, status.health_status) != ("Synced", "Healthy"):
        return False, f"{status.name} is {status.sync_status or 'Unknown'}/{status.health_status or 'Unknown'}"
    since = deployed_since(status, revision)
    if since is None:
        return False, f"{status.name} has no deployment record for {revision}"
    remaining = since + soak - now
    if remaining > timedelta(0):
        return False, f"{status.name} has soaked {now - since} of {soak} (deployed {since.isoformat()})"
    return True, f"{status.name} Synced and Healthy at {revision} since {since.isoformat()}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def wait_healthy_soak(
    name: str,
    revision: str,
    soak: timedelta,
    *,
    namespace: str = "argocd",
    timeout: timedelta = timedelta(0),
    poll_interval: timedelta = timedelta(seconds=15),
    kubeconfig: str | None = None,
    context: str | None = None,
    api_client: k8s.ApiClient | None = None,
    now: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> AppStatus:
    """Poll until the Application passes the soak gate; ModelopsError after `timeout`.

    `timeout=0` checks once. A failed sync of the wanted revision fails at once, since
    waiting cannot fix it.
    """
    if api_client is None:
        with api_client_for(kubeconfig, context) as client:
            return wait_healthy_soak(name, revision, soak, namespace=namespace, timeout=timeout,
                                     poll_interval=poll_interval, api_client=client, now=now, sleep=sleep)
    client = api_client
    deadline = now() + timeout
    while True:
        status = application_status(name, namespace, api_client=client)
        passed, reason = soak_verdict(status, revision, soak, now())
        if passed:
            return status
        if status.operation_phase in ("Failed", "Error") and revision in status.operation_revisions:
            raise ModelopsError(f"sync of {namespace}/{name} to {revision} ended in phase {status.operation_phase}")
        if now() >= deadline:
            raise ModelopsError(f"promotion gate not met: {reason}")
        sleep(max(0.0, min(poll_interval, deadline - now()).total_seconds()))
