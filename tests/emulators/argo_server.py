"""A local emulator of the Argo Server REST endpoints that training submission uses.

Serves on 127.0.0.1 (ephemeral port), state in memory (`templates`, `workflows`):

* ``GET /api/v1/workflow-templates/{ns}/{name}``
* ``POST /api/v1/workflow-templates/{ns}`` body ``{"namespace", "template", "createOptions"?}``
* ``PUT /api/v1/workflow-templates/{ns}/{name}`` body ``{"namespace"?, "name"?, "template"}``
* ``POST /api/v1/workflows/{ns}/submit`` body ``{"namespace"?, "resourceKind",
  "resourceName", "submitOptions"?}``
* ``GET /api/v1/workflows/{ns}/{name}`` (a body on a GET -> 400; only the ``fields`` query
  parameter is accepted, others -> 400); a missing workflow -> 404 (code 5). Tests put
  finished runs in `workflows` with `put_workflow`.

Strict as the real server (grpc-gateway in front of Kubernetes), errors as
``{"code": <grpc code>, "message": ...}``:

* with a `token`: missing or wrong ``Authorization: Bearer`` -> 401 (code 16);
* a body that is not JSON (or not ``application/json``) -> 400; unknown keys in the
  request envelope or in ``submitOptions`` -> 400 ``unknown field`` (protojson rejects
  them); a missing ``template``, ``metadata.name``, empty ``spec.templates`` or an
  ``entrypoint`` that names no template -> 400 (the server lints templates);
* create of an existing name -> 409 (AlreadyExists); get, update or submit of a missing
  template -> 404; update without ``metadata.resourceVersion`` -> 400, with a stale one
  -> 409 (Conflict), as Kubernetes requires for custom resources;
* submit: ``resourceKind`` must be ``WorkflowTemplate`` (the only kind emulated),
  ``parameters`` must be ``name=value`` strings, ``labels`` a ``k=v,k2=v2`` string.

Submitted workflows get deterministic names (``generateName`` plus a 5-character suffix).
Every request is recorded (`requests`).
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from tests.emulators.forge import HttpEmulator, HttpError, RecordedRequest, Response

__all__ = ["ArgoServerEmulator"]

_TEMPLATES = re.compile(r"/api/v1/workflow-templates/([a-z0-9-]+)(?:/([a-z0-9.-]+))?")
_SUBMIT = re.compile(r"/api/v1/workflows/([a-z0-9-]+)/submit")
_WORKFLOW = re.compile(r"/api/v1/workflows/([a-z0-9-]+)/([a-z0-9.-]+)")
_SUBMIT_OPTIONS = {"name", "generateName", "entryPoint", "parameters", "serviceAccount", "dryRun",
                   "serverDryRun", "labels", "ownerReference", "annotations", "podPriorityClassName", "priority"}
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet


def _error(status: int, code: int, message: str) -> HttpError:
    return HttpError(status, {"code": code, "message": message})


class ArgoServerEmulator(HttpEmulator):
    """Argo Server WorkflowTemplate and submit endpoints; `token` makes auth required."""

    def __init__(self, token: str | None = None):
        super().__init__()
        self.token = token
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.workflows: dict[tuple[str, str], dict[str, Any]] = {}
        self._version = 100
        self._generated = 0

    def handle(self, request: RecordedRequest) -> Response:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            raise _error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/")
        if match := _TEMPLATES.fullmatch(request.path):
            namespace, name = match.groups()
            if name is None and request.method == "POST":
                return self._create(namespace, self._body(request, {"namespace", "template", "createOptions"}))
            if name is not None and request.method == "GET":
                return 200, self._template(namespace, name), {}
            if name is not None and request.method == "PUT":
                return self._update(namespace, name, self._body(request, {"namespace", "name", "template"}))
            raise _error(405, 12, "Method Not Allowed")
        if match := _SUBMIT.fullmatch(request.path):
            if request.method != "POST":
                raise _error(405, 12, "Method Not Allowed")
            keys = {"namespace", "resourceKind", "resourceName", "submitOptions"}
            return self._submit(match.group(1), self._body(request, keys))
        if (match := _WORKFLOW.fullmatch(request.path)) and request.method == "GET":
            return self._get_workflow(request, *match.groups())
        raise _error(404, 5, "Not Found")

    def put_workflow(self, workflow: dict[str, Any]) -> None:
        metadata = workflow["metadata"]
        self.workflows[(metadata["namespace"], metadata["name"])] = copy.deepcopy(workflow)

    def _get_workflow(self, request: RecordedRequest, namespace: str, name: str) -> Response:
        if request.body:
            raise _error(400, 3, "a GET request has no body")
        unknown = sorted(set(request.query) - {"fields", "getOptions.resourceVersion"})
        if unknown:
            raise _error(400, 3, f"unknown query parameter {unknown[0]!r}")
        workflow = self.workflows.get((namespace, name))
        if workflow is None:
            raise _error(404, 5, f'workflows.argoproj.io "{name}" not found')
        return 200, copy.deepcopy(workflow), {}

    # -- request checks -------------------------------------------------------------------

    @staticmethod
    def _body(request: RecordedRequest, allowed: set[str]) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise _error(400, 3, f"unsupported content type {request.content_type!r}")
        try:
            body = json.loads(request.body or b"null")
        except ValueError as exc:
            raise _error(400, 3, f"proto: syntax error: {exc}") from None
        if not isinstance(body, dict):
            raise _error(400, 3, "proto: syntax error: expected a JSON object")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _error(400, 3, f'proto: unknown field "{unknown[0]}"')
        return body

    @staticmethod
    def _lint(namespace: str, template: Any) -> dict[str, Any]:
        if not isinstance(template, dict):
            raise _error(400, 3, "workflow template was not found in the request body")
        if template.get("kind", "WorkflowTemplate") != "WorkflowTemplate":
            raise _error(400, 3, f"kind must be WorkflowTemplate, not {template.get('kind')!r}")
        metadata = template.get("metadata") or {}
        if not metadata.get("name"):
            raise _error(400, 3, "metadata.name: Required value: name or generateName is required")
        if metadata.get("namespace", namespace) != namespace:
            raise _error(400, 3, "the namespace of the provided object does not match the namespace sent on "
                                 "the request")
        spec = template.get("spec") or {}
        names = [t.get("name") for t in spec.get("templates") or () if isinstance(t, dict)]
        if not names:
            raise _error(400, 3, "spec.templates: at least one template is required")
        if spec.get("entrypoint") and spec["entrypoint"] not in names:
            raise _error(400, 3, f"spec.entrypoint template '{spec['entrypoint']}' not found")
        return copy.deepcopy(template)

    def _template(self, namespace: str, name: str) -> dict[str, Any]:
        stored = self.templates.get((namespace, name))
        if stored is None:
            raise _error(404, 5, f'workflowtemplates.argoproj.io "{name}" not found')
        return copy.deepcopy(stored)

    def _store(self, namespace: str, template: dict[str, Any], uid: str | None = None) -> dict[str, Any]:
        self._version += 1
        metadata = template.setdefault("metadata", {})
        metadata.update(namespace=namespace, resourceVersion=str(self._version),
                        uid=uid or f"00000000-0000-0000-0000-{self._version:012d}",
                        creationTimestamp=metadata.get("creationTimestamp", "2026-11-27T10:00:00Z"))
        template.setdefault("apiVersion", "argoproj.io/v1alpha1")
        template.setdefault("kind", "WorkflowTemplate")
        self.templates[(namespace, metadata["name"])] = template
        return copy.deepcopy(template)

    # -- handlers -------------------------------------------------------------------------

    def _create(self, namespace: str, body: dict[str, Any]) -> Response:
        template = self._lint(namespace, body.get("template"))
        metadata = template["metadata"]
        if (namespace, metadata["name"]) in self.templates:
            raise _error(409, 6, f'workflowtemplates.argoproj.io "{metadata["name"]}" already exists')
        if metadata.get("resourceVersion"):
            raise _error(400, 3, "resourceVersion should not be set on objects to be created")
        return 200, self._store(namespace, template), {}

    def _update(self, namespace: str, name: str, body: dict[str, Any]) -> Response:
        template = self._lint(namespace, body.get("template"))
        if template["metadata"]["name"] != name or body.get("name", name) != name:
            raise _error(400, 3, "the name of the object does not match the name on the URL")
        current = self._template(namespace, name)
        version = template["metadata"].get("resourceVersion")
        if not version:
            raise _error(400, 3, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")
        if version != current["metadata"]["resourceVersion"]:
            raise _error(409, 10, f'Operation cannot be fulfilled on workflowtemplates.argoproj.io "{name}": the '
                                  "object has been modified; please apply your changes to the latest version "
                                  "and try again")
        template["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
        return 200, self._store(namespace, template, uid=current["metadata"]["uid"]), {}

    def _submit(self, namespace: str, body: dict[str, Any]) -> Response:
        if body.get("resourceKind") not in ("WorkflowTemplate", "workflowtemplate"):
            raise _error(400, 3, f"resourceKind {body.get('resourceKind')!r} is not supported")
        name = body.get("resourceName")
        if not name:
            raise _error(400, 3, "resourceName is required")
        # The body is unmarshalled (and rejected) before the template is looked up.
        options = body.get("submitOptions") or {}
        if not isinstance(options, dict):
            raise _error(400, 3, "proto: syntax error: submitOptions must be an object")
        unknown = sorted(set(options) - _SUBMIT_OPTIONS)
        if unknown:
            raise _error(400, 3, f'proto: unknown field "{unknown[0]}"')
        self._template(namespace, name)  # 404 when missing
        workflow = self._workflow(namespace, name, options)
        self.workflows[(namespace, workflow["metadata"]["name"])] = workflow
        return 200, copy.deepcopy(workflow), {}

    def _workflow(self, namespace: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
        parameters = options.get("parameters") or []
        if not isinstance(parameters, list) or not all(isinstance(p, str) and "=" in p for p in parameters):
            raise _error(400, 3, "parameters must be strings of the form name=value")
        labels = {"workflows.argoproj.io/workflow-template": name}
        raw_labels = options.get("labels") or ""
        if not isinstance(raw_labels, str):
            raise _error(400, 3, "labels must be a string k=v,k2=v2")
        for pair in filter(None, raw_labels.split(",")):
            key, sep, value = pair.partition("=")
            if not sep:
                raise _error(400, 3, f"expected label of the form key=value, got {pair!r}")
            labels[key] = value
        workflow_name = options.get("name") or f"{options.get('generateName') or name + '-'}{self._suffix()}"
        spec: dict[str, Any] = {"workflowTemplateRef": {"name": name}}
        if parameters:
            spec["arguments"] = {"parameters": [dict(zip(("name", "value"), p.split("=", 1))) for p in parameters]}
        if options.get("entryPoint"):
            spec["entrypoint"] = options["entryPoint"]
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"name": workflow_name, "namespace": namespace, "labels": labels,
                             "uid": f"wf-{len(self.workflows) + 1}"},
                "spec": spec, "status": {"phase": "Pending"}}

    def _suffix(self) -> str:
        self._generated += 1
        number, chars = self._generated, []
        for _ in range(5):
            number, digit = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[digit])
        return "".join(reversed(chars))
