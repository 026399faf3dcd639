"""Emulates the documented OPA REST API subset modelops uses, evaluating with regorus (v1 only, as OPA 1.x).

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
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regorus


def _message(error: Exception) -> str:
    return " ".join(str(error).split("Stack backtrace:")[0].split())


class OpaState:
    """Policies and data as OPA 1.x holds them: Rego v1 only (regorus in v1 mode, its default)."""

    def __init__(self) -> None:
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    def engine(self, modules: dict[str, str]) -> Any:
        engine = regorus.Engine()
        for name, source in sorted(modules.items()):
            engine.add_policy(name, source)
        if self.data:
            engine.add_data(self.data)
        return engine

    def evaluate(self, path: str, document: Any, *, strict: bool) -> tuple[bool, Any]:
        with self.lock:
            engine = self.engine(self.policies)
        if document is not None:
            engine.set_input(document)
        try:
            text = engine.eval_rule_as_json("data." + path.replace("/", "."))
        except RuntimeError as error:
            if str(error).startswith("not a valid rule path"):
                return False, None  # OPA: no such document is undefined, not an error
            if strict:
                raise
            return False, None  # OPA without strict-builtin-errors: a built-in error is undefined
        return (False, None) if text == '"<undefined>"' else (True, json.loads(text))


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
        candidate = {**self.state.policies, policy_id: source}
        try:
            self.state.engine(candidate)
        except RuntimeError as error:
            self._error(400, "invalid_parameter", "error(s) occurred while compiling module(s)",
                        [{"code": "rego_parse_error", "message": _message(error)[:500]}])
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

    def __enter__(self) -> OpaEmulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
