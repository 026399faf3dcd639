"""A remote OPA server over its REST API (opa-python-client): `--opa-url`.

Modules are uploaded as written with `PUT /v1/policies/{id}`; one that the server rejects
for Rego v0 syntax (OPA 1.x reads v1 only) is uploaded again with the v0 -> v1 syntax
upgrade. Data goes up with `PUT /v1/data/{key}`, and each query is
`POST /v1/data/<path>` with `strict-builtin-errors=true`. Any transport or server error
raises PolicyError: an unreachable server fails closed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests
from opa_client.errors import ConnectionsError, RegoParseError
from opa_client.opa import OpaClient

from generator.policy import PolicyError
from generator.policy.engines.aggregate import aggregate_module, aggregate_package, split_results
from generator.policy.engines.base import NO_INPUT, Outcome, plain_input, plain_value
from generator.policy.engines.opa_engine_hints import V0_HINTS
from generator.policy.rego_v1 import upgrade_to_v1

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["OpaServerEngine", "policy_id"]

_CLIENT_ERRORS = (requests.exceptions.RequestException, ConnectionsError, RegoParseError, ValueError)


def policy_id(path: str) -> str:
    """A stable OPA policy id for a module path (URL-safe)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.strip("/")) or "policy"


def _server_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code}: {response.text[:300]}"
        details = "; ".join(e.get("message", "") for e in body.get("errors", []) if isinstance(e, dict))
        text = f"HTTP {response.status_code} {body.get('code', '')}: {body.get('message', '')}"
        return f"{text}: {details}" if details else text
    return str(error)


class OpaServerEngine:
    name = "opa-server"

    def __init__(self, *, host: str = "localhost", port: int = 8181, timeout: float = 5.0, retries: int = 0,
                 token: str | None = None, ssl: bool = False):
        self.url = f"{'https' if ssl else 'http'}://{host}:{port}"
        self._aggregates: set[str] = set()
        self._client = OpaClient(host=host, port=port, timeout=timeout, retries=retries, token=token, ssl=ssl)

    def version(self) -> str:
        return f"at {self.url}"

    def _fail(self, action: str, error: Exception) -> PolicyError:
        return PolicyError(f"OPA server at {self.url}: {action} failed: {_server_message(error)}")

    def load(self, modules: Sequence[PolicyModule], data: Mapping[str, Any]) -> None:
        if not self._client.check_health():
            raise PolicyError(f"OPA server at {self.url} is unreachable or unhealthy (GET /health)")
        for module in modules:
            self._upload(module)
        for key, value in sorted(data.items()):
            try:
                self._put_data(key, value)
            except _CLIENT_ERRORS as error:
                raise self._fail(f"uploading data {key}", error) from error

    def _upload(self, module: PolicyModule) -> None:
        try:
            self._client.update_policy_from_string(module.source, policy_id(module.path), rego_compat=False)
            return
        except _CLIENT_ERRORS as error:
            if not any(hint in _server_message(error) for hint in V0_HINTS):
                raise self._fail(f"uploading {module.path}", error) from error
        try:
            self._client.update_policy_from_string(upgrade_to_v1(module.source), policy_id(module.path),
                                                   rego_compat=False)
        except _CLIENT_ERRORS as error:
            raise self._fail(f"uploading {module.path}", error) from error

    def _put_data(self, key: str, value: Any) -> None:
        if isinstance(value, dict):
            self._client.update_or_create_data(value, key)
            return
        # the client only uploads objects; lists and scalars go through the same Data API
        response = requests.put(f"{self.url}/v1/data/{key}", json=value, timeout=self._client.timeout,
                                headers=self._client.headers)
        response.raise_for_status()

    def evaluate(self, path: str, document: Any = NO_INPUT) -> Outcome:
        package, _, rule = path.rpartition(".")
        given = None if document is NO_INPUT else plain_input(document)
        try:
            answer = self._client.query_rule(given, package, rule, query_params={"strict-builtin-errors": "true"})
        except _CLIENT_ERRORS as error:
            raise self._fail(f"querying data.{path}", error) from error
        if not isinstance(answer, dict):
            raise PolicyError(f"OPA server at {self.url}: unexpected answer for data.{path}: {answer!r}")
        return Outcome(True, plain_value(answer["result"])) if "result" in answer else Outcome(False)

    def evaluate_rules(self, paths: Sequence[str], document: Any = NO_INPUT) -> dict[str, Outcome]:
        """One aggregate query (uploaded once per set of rules): one round trip per input."""
        package = aggregate_package(paths)
        if package not in self._aggregates:
            try:
                self._client.update_policy_from_string(aggregate_module(package, paths), policy_id(package),
                                                       rego_compat=False)
            except _CLIENT_ERRORS as error:
                raise self._fail("uploading the aggregate query", error) from error
            self._aggregates.add(package)
        return split_results(paths, self.evaluate(f"{package}.results", document))

    def evaluate_batch(self, path: str, documents: Sequence[Any]) -> list[Outcome]:
        return [self.evaluate(path, document) for document in documents]

    def take_prints(self) -> list[str]:
        return []  # the server writes print() output to its own log

    def close(self) -> None:
        self._client.close_connection()
