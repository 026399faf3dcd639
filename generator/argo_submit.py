"""Submit a rendered WorkflowTemplate to an Argo Server and start a Workflow from it.

Transport is the `argo_workflows` client's `ApiClient` (configuration, TLS, bearer
auth), but requests go through `ApiClient.call_api` with plain dicts rather than the
typed models, on purpose: the generated models (argo-workflows 6.7) need nested model
objects instead of dicts, reject valid Argo YAML (`retryStrategy.limit: 3` fails, since
IntOrString is typed `str`) and predate the 4.x fields modelops renders
(`pendingTimeout`, `synchronization.semaphores`). Plain dicts send exactly the document
that `render` wrote and `check` validated against the CRD.

Endpoints (Argo Server REST): GET/POST/PUT /api/v1/workflow-templates/{ns}[/{name}] and
POST /api/v1/workflows/{ns}/submit with resourceKind WorkflowTemplate.
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from typing import Any

import urllib3
from argo_workflows.api_client import ApiClient
from argo_workflows.configuration import Configuration
from argo_workflows.exceptions import ApiException

from generator.errors import ModelopsError

__all__ = ["ArgoServer", "connect", "submit_workflow_template"]

_TIMEOUT = (10.0, 60.0)
# Written by the API server; sending them back makes create fail or update conflict.
_SERVER_FIELDS = ("uid", "creationTimestamp", "generation", "managedFields", "selfLink", "resourceVersion")


def connect(
    server: str | None = None,
    token: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    verify_tls: bool | None = None,
) -> ApiClient:
    """An ApiClient for `server` (or $ARGO_SERVER) with bearer `token` (or $ARGO_TOKEN).

    ARGO_SERVER may be host:port as the argo CLI takes it (https unless ARGO_SECURE=false);
    ARGO_TOKEN may carry its "Bearer " prefix, as `argo auth token` prints it.
    """
    address = server or env.get("ARGO_SERVER", "")
    if not address:
        raise ModelopsError("no Argo Server given: pass --argo-server or set ARGO_SERVER (e.g. argo.example.com:443)")
    if "://" not in address:
        address = ("http://" if env.get("ARGO_SECURE", "true").lower() == "false" else "https://") + address
    address = address.rstrip("/") + env.get("ARGO_BASE_HREF", "").rstrip("/")
    configuration = Configuration(host=address)
    if verify_tls is None:
        verify_tls = env.get("ARGO_INSECURE_SKIP_VERIFY", "false").lower() != "true"
    configuration.verify_ssl = verify_tls
    secret = (token if token is not None else env.get("ARGO_TOKEN", "")).strip()
    if secret:
        configuration.api_key = {"BearerToken": secret.removeprefix("Bearer ").strip()}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    return ApiClient(configuration)


class ArgoServer:
    """The few Argo Server calls modelops makes, with errors turned into ModelopsError."""

    def __init__(self, api_client: ApiClient):
        self._client = api_client
        token = (api_client.configuration.api_key or {}).get("BearerToken", "")
        self._secret = str(token)

    def call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        """One JSON request; None for a 404 when `missing_ok`."""
        try:
            response = self._client.call_api(
                path, method, header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body=body, auth_settings=["BearerToken"], _preload_content=False, _request_timeout=_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise ModelopsError(self._redact(f"Argo Server {method} {path} failed: {_describe(exc)}")) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ModelopsError(self._redact(f"cannot reach Argo Server for {method} {path}: {exc}")) from None
        try:
            return json.loads(response.data or b"null")
        except ValueError:
            raise ModelopsError(f"Argo Server {method} {path} returned a body that is not JSON") from None

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def apply_template(self, namespace: str, template: Mapping[str, Any]) -> dict[str, Any]:
        """Create the WorkflowTemplate, or update it in place when it exists."""
        document = _clean(template, namespace)
        name = document["metadata"]["name"]
        base = f"/api/v1/workflow-templates/{namespace}"
        current = self.call("GET", f"{base}/{name}", missing_ok=True)
        if current is None:
            return self.call("POST", base, {"namespace": namespace, "template": document})  # type: ignore[no-any-return]
        # Updates of custom resources must carry the resourceVersion they replace.
        document["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.call("PUT", f"{base}/{name}",  # type: ignore[no-any-return]
                         {"namespace": namespace, "name": name, "template": document})

    def submit(self, namespace: str, template_name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        body = {"namespace": namespace, "resourceKind": "WorkflowTemplate", "resourceName": template_name,
                "submitOptions": dict(options)}
        return self.call("POST", f"/api/v1/workflows/{namespace}/submit", body)  # type: ignore[no-any-return]


def _describe(exc: ApiException) -> str:
    body = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
    try:
        message = json.loads(body).get("message", body)
    except (ValueError, AttributeError):
        message = body
    hint = " (check ARGO_TOKEN)" if exc.status in (401, 403) else ""
    return f"HTTP {exc.status} {message or exc.reason}".strip() + hint


def _clean(template: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    document = copy.deepcopy(dict(template))
    if document.get("kind", "WorkflowTemplate") != "WorkflowTemplate":
        raise ModelopsError(f"expected a WorkflowTemplate, got kind {document.get('kind')!r}")
    metadata = document.setdefault("metadata", {})
    if not metadata.get("name"):
        raise ModelopsError("the WorkflowTemplate has no metadata.name")
    if metadata.get("namespace", namespace) != namespace:
        raise ModelopsError(f"WorkflowTemplate {metadata['name']} is for namespace {metadata['namespace']}, "
                            f"not {namespace}")
    metadata["namespace"] = namespace
    for key in _SERVER_FIELDS:
        metadata.pop(key, None)
    document.pop("status", None)
    return document


def submit_workflow_template(
    template: Mapping[str, Any],
    *,
    namespace: str | None = None,
    parameters: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    server: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] = os.environ,
    api_client: ApiClient | None = None,
) -> str:
    """Create or update `template` on the Argo Server, submit a Workflow from it, return its name."""
    ns = namespace or (template.get("metadata") or {}).get("namespace") or env.get("ARGO_NAMESPACE")
    if not ns:
        raise ModelopsError("no namespace for the WorkflowTemplate: set metadata.namespace, --namespace "
                            "or ARGO_NAMESPACE")
    options: dict[str, Any] = {}
    if parameters:
        options["parameters"] = [f"{key}={value}" for key, value in parameters.items()]
    if labels:
        options["labels"] = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    client = api_client or connect(server, token, env=env)
    try:
        argo = ArgoServer(client)
        name = argo.apply_template(ns, template)["metadata"]["name"]
        workflow = argo.submit(ns, name, {"generateName": f"{name}-", **options})
    finally:
        if api_client is None:
            client.close()
    return str(workflow["metadata"]["name"])
