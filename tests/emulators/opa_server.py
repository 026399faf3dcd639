"""Emulates the documented OPA REST API subset modelops uses, evaluating with regopy.

Endpoints (https://www.openpolicyagent.org/docs/rest-api):
  PUT  /v1/policies/{id}   body: Rego module as text/plain; 200 `{}`; 400 on parse errors or
                           Rego v0 (OPA 1.x: "`if` keyword is required before rule body")
  PUT  /v1/data/{path}     body: JSON document; 204
  POST /v1/data/{path}     body: exactly `{"input": ...}`; 200 `{"result": value}` or `{}`
                           when undefined; 500 `internal_error` on evaluation errors;
                           honours `?strict-builtin-errors=true`
  GET  /health             200 `{}`

Strict about request shapes: wrong methods, content types, bodies or unknown keys get
OPA-shaped 4xx errors (`{"code": ..., "message": ...}`).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import regopy
import regopy.rego_shared as rs

from generator.policy.engine import output_tree_value
from generator.policy.rego_v1 import is_v1, upgrade_to_v1


class OpaState:
    def __init__(self) -> None:
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    def interpreter(self, modules: dict[str, str], *, strict: bool) -> regopy.Interpreter:
        interp = regopy.Interpreter()
        interp.log_level = regopy.LogLevel.NONE
        interp.strict_built_in_errors = strict
        for name, source in sorted(modules.items()):
            interp.add_module(name, source)
        if self.data:
            interp.add_data_json(json.dumps(self.data))
        return interp

    def evaluate(self, path: str, document: Any, *, strict: bool) -> tuple[bool, Any]:
        with self.lock:
            builder = self.interpreter(self.policies, strict=strict)
            bundle = builder.build(None, [path])
        runner = regopy.Interpreter()
        runner.log_level = regopy.LogLevel.NONE
        runner.strict_built_in_errors = strict
        if document is not None:
            runner.set_input_term(json.dumps(document))

        impl = rs.rego_bundle_query_entrypoint(runner._impl, bundle._impl, path)
        try:
            ok, text = rs.rego_output_ok(impl), rs.rego_output_string(impl)
            if not ok:
                root = rs.rego_output_node(impl)
                text = "; ".join(rs.rego_node_json(rs.rego_node_get(root, i)) for i in range(rs.rego_node_size(root)))
            if not ok or text.startswith("(error"):
                raise RuntimeError(text)
            if text.strip() == "undefined":
                return False, None
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:  # regopy can print strings unescaped; read the tree
                return True, output_tree_value(impl)
        finally:
            rs.rego_free_output(impl)
        return True, (parsed[0] if isinstance(parsed, list) else parsed)["expressions"][0]


class Handler(BaseHTTPRequestHandler):
    server_version = "opa-emulator/1.0"
    state: OpaState

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        self._send(status, body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        self.state.requests.append((self.command, parts.path))
        return parts.path, parse_qs(parts.query)

    def do_DELETE(self) -> None:
        self._route()
        self._error(501, "not_implemented", "DELETE is not emulated")

    def do_GET(self) -> None:
        path, _ = self._route()
        if path == "/health":
            self._send(200, {})
        elif path == "/v1/policies" or path == "/v1/policies/":
            self._send(200, {"result": [{"id": k, "raw": v} for k, v in sorted(self.state.policies.items())]})
        else:
            self._error(404, "resource_not_found", f"{path} not found")

    def do_PUT(self) -> None:
        path, _ = self._route()
        body = self._body()
        if path.startswith("/v1/policies/") and len(path) > len("/v1/policies/"):
            self._put_policy(path[len("/v1/policies/"):], body)
        elif path.startswith("/v1/data/"):
            self._put_data(path[len("/v1/data/"):], body)
        else:
            self._error(404, "resource_not_found", f"{path} not found")

    def _put_policy(self, policy_id: str, body: bytes) -> None:
        if not self.headers.get("Content-Type", "").startswith("text/plain"):
            self._error(400, "invalid_parameter", "policies must be uploaded as text/plain")
            return
        source = body.decode("utf-8")
        if not is_v1(source) and upgrade_to_v1(source) != source:
            self._error(400, "invalid_parameter", "error(s) occurred while compiling module(s)",
                        [{"code": "rego_parse_error", "message": "`if` keyword is required before rule body",
                          "location": {"file": policy_id, "row": 1, "col": 1}}])
            return
        candidate = {**self.state.policies, policy_id: source}
        try:
            self.state.interpreter(candidate, strict=True).build("true")
        except regopy.RegoError as error:
            self._error(400, "invalid_parameter", "error(s) occurred while compiling module(s)",
                        [{"code": "rego_parse_error", "message": str(error).strip()[:500]}])
            return
        with self.state.lock:
            self.state.policies[policy_id] = source
        self._send(200, {})

    def _put_data(self, path: str, body: bytes) -> None:
        try:
            value = json.loads(body)
        except json.JSONDecodeError as error:
            self._error(400, "invalid_parameter", f"body must be JSON: {error}")
            return
        node = self.state.data
        keys = [k for k in path.split("/") if k]
        if not keys:
            self._error(400, "invalid_parameter", "data path required")
            return
        with self.state.lock:
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = value
        self._send(204)

    def do_POST(self) -> None:
        path, query = self._route()
        if not path.startswith("/v1/data/"):
            self._error(404, "resource_not_found", f"{path} not found")
            return
        try:
            request = json.loads(self._body() or b"{}")
        except json.JSONDecodeError as error:
            self._error(400, "invalid_parameter", f"body must be JSON: {error}")
            return
        if not isinstance(request, dict) or set(request) - {"input"}:
            self._error(400, "invalid_parameter", "body must be an object with only an `input` key")
            return
        strict = query.get("strict-builtin-errors", ["false"])[0] == "true"
        entry = "/".join(k for k in path[len("/v1/data/"):].split("/") if k)
        try:
            defined, value = self.state.evaluate(entry, request.get("input"), strict=strict)
        except Exception as error:  # noqa: BLE001 - OPA answers 500, it does not hang up
            self._error(500, "internal_error", str(error).strip()[:500])
            return
        self._send(200, {"result": value} if defined else {})


class OpaEmulator:
    """`with OpaEmulator() as opa:` serves on 127.0.0.1:<ephemeral> in a thread."""

    def __init__(self) -> None:
        self.state = OpaState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
