"""A local emulator of the Kubernetes API subset that reading Argo CD Applications needs.

Serves on 127.0.0.1 (ephemeral port), state in memory:

* ``GET /api`` (APIVersions), ``GET /apis`` (APIGroupList with argoproj.io),
  ``GET /apis/argoproj.io/v1alpha1`` (APIResourceList with applications): the minimal
  discovery documents a client may ask for.
* ``GET /apis/argoproj.io/v1alpha1/namespaces/{ns}/applications[/{name}]``: Application
  objects (and ApplicationList) shaped as Argo CD writes them.

Strict like the real API server: a missing object -> 404 ``Status`` (reason NotFound);
unknown paths -> 404 ``Status``; any method but GET -> 405 ``Status`` (this emulator is
read-only, as modelops is); an ``Accept`` header that allows no JSON -> 406; with a
`token`, a missing or wrong ``Authorization: Bearer`` -> 401 ``Status`` (Unauthorized).
Every request is recorded (`requests`).
"""
from __future__ import annotations

import copy
import re
from typing import Any

from tests.emulators.forge import HttpEmulator, HttpError, RecordedRequest, Response

__all__ = ["KubeApiEmulator", "make_application"]

_APPS = re.compile(r"/apis/argoproj\.io/v1alpha1/namespaces/([a-z0-9]([-a-z0-9]*[a-z0-9])?)/applications(?:/([^/]+))?")


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> HttpError:
    """The `Status` object the API server answers errors with."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return HttpError(code, body)


def make_application(
    name: str,
    *,
    namespace: str = "argocd",
    sync: str = "Synced",
    health: str = "Healthy",
    revision: str | list[str] = "",
    deployed_at: str | None = None,
    reconciled_at: str = "2026-11-27T10:00:00Z",
    operation_phase: str | None = "Succeeded",
    finished_at: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Application as Argo CD stores it; a list `revision` makes it multi-source."""
    multi = isinstance(revision, list)
    key = "revisions" if multi else "revision"
    app_status: dict[str, Any] = {
        "sync": {"status": sync, key: revision},
        "health": {"status": health},
        "reconciledAt": reconciled_at,
        "sourceType": "Helm" if multi else "Directory",
    }
    if history is None and deployed_at:
        history = [{"id": 0, key: revision, "deployedAt": deployed_at, "deployStartedAt": deployed_at}]
    if history is not None:
        app_status["history"] = history
    if operation_phase:
        app_status["operationState"] = {
            "operation": {"sync": {key: revision}},
            "phase": operation_phase,
            "message": "successfully synced (all tasks run)",
            "startedAt": finished_at or deployed_at or reconciled_at,
            "finishedAt": finished_at or deployed_at,
            "syncResult": {key: revision, "resources": []},
        }
    spec_source = {"repoURL": "https://git.example.com/acme/gitops.git", "path": f"environments/x/{name}",
                   "targetRevision": "main"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc",
                                                       "namespace": "ml"},
                 **({"sources": [spec_source, spec_source]} if multi else {"source": spec_source})},
        "status": app_status,
    }


class KubeApiEmulator(HttpEmulator):
    """Kubernetes API subset serving Argo CD Applications; `token` makes auth required."""

    def __init__(self, token: str | None = None):
        super().__init__()
        self.token = token
        self._apps: dict[tuple[str, str], dict[str, Any]] = {}
        self._resource_version = 1000

    def put_application(self, app: dict[str, Any]) -> None:
        """Store (create or replace) an Application object, as the controller would write it."""
        app = copy.deepcopy(app)
        meta = app.setdefault("metadata", {})
        meta.setdefault("namespace", "argocd")
        with self._lock:
            self._resource_version += 1
            meta["resourceVersion"] = str(self._resource_version)
            meta.setdefault("uid", f"00000000-0000-0000-0000-{self._resource_version:012d}")
            self._apps[(meta["namespace"], meta["name"])] = app

    def handle(self, request: RecordedRequest) -> Response:
        self._check(request)
        if request.path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.url.removeprefix("http://")}]}, {}
        if request.path == "/apis":
            version = {"groupVersion": "argoproj.io/v1alpha1", "version": "v1alpha1"}
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": "argoproj.io", "versions": [version], "preferredVersion": version}]}, {}
        if request.path == "/apis/argoproj.io/v1alpha1":
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "argoproj.io/v1alpha1",
                         "resources": [{"name": "applications", "singularName": "application", "namespaced": True,
                                        "kind": "Application", "shortNames": ["app", "apps"],
                                        "verbs": ["get", "list", "watch"]}]}, {}
        match = _APPS.fullmatch(request.path)
        if match is None:
            raise status(404, "NotFound", "the server could not find the requested resource")
        namespace, name = match.group(1), match.group(3)
        if name is None:
            items = [a for (ns, _), a in sorted(self._apps.items()) if ns == namespace]
            return 200, {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationList",
                         "metadata": {"resourceVersion": str(self._resource_version)}, "items": items}, {}
        app = self._apps.get((namespace, name))
        if app is None:
            raise status(404, "NotFound", f'applications.argoproj.io "{name}" not found',
                         {"name": name, "group": "argoproj.io", "kind": "applications"})
        return 200, app, {}

    def _check(self, request: RecordedRequest) -> None:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            raise status(401, "Unauthorized", "Unauthorized")
        if request.method != "GET":
            raise status(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                                                  f"resource ({request.method} is not emulated)")
        accept = request.headers.get("accept", "*/*")
        if not any(kind in accept for kind in ("application/json", "*/*", "application/*")):
            raise status(406, "NotAcceptable", f"only the following media types are accepted: application/json "
                                               f"(got {accept!r})")


def write_kubeconfig(path: Any, server: str, token: str, context: str = "emu") -> Any:
    """A kubeconfig file pointing the real client at the emulator; returns `path`."""
    import json

    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "emu", "cluster": {"server": server}}],
        "users": [{"name": "ci", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "emu", "user": "ci"}}]}))
    return path
