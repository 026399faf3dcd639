"""The same evaluate interface against a remote OPA server (opa-python-client).

Policies are upgraded to v1 locally (OPA 1.x rejects v0), pushed with
`PUT /v1/policies/{id}`, data documents with `PUT /v1/data/{key}`, and each decision rule
is queried with `POST /v1/data/<package>/<rule>` and `strict-builtin-errors=true`.
Any transport or server error raises PolicyError: an unreachable server fails closed.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from opa_client.errors import ConnectionsError, RegoParseError
from opa_client.opa import OpaClient

from generator.policy import PolicyError
from generator.policy.engine import (
    PolicyModule,
    RuleResult,
    exception_packages,
    is_decision_rule,
    load_modules,
    merge_metadata,
    policy_file,
    results_from_value,
    rules_by_package,
)
from generator.policy.exceptions import EXCEPTION_RULE, RuleException, apply_exceptions

__all__ = ["RemotePolicySet", "policy_id"]

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


class RemotePolicySet:
    """Evaluate policies on an OPA server; same `evaluate` results as `PolicySet`."""

    def __init__(self, modules: Sequence[PolicyModule], data: dict[str, Any] | None = None, *,
                 host: str = "localhost", port: int = 8181, timeout: float = 5.0, retries: int = 0,
                 token: str | None = None, ssl: bool = False):
        self.modules = tuple(modules)
        self.data = dict(data or {})
        self.url = f"{'https' if ssl else 'http'}://{host}:{port}"
        self._client = OpaClient(host=host, port=port, timeout=timeout, retries=retries, token=token, ssl=ssl)
        self.rules = rules_by_package(self.modules, is_decision_rule)
        self.exception_packages = exception_packages(self.modules, self.rules)
        self._metadata = merge_metadata(self.modules)
        self._pushed = False

    @classmethod
    def load(cls, paths: Sequence[str | Path], **kwargs: Any) -> RemotePolicySet:
        modules, data = load_modules(paths)
        return cls(modules, data, **kwargs)

    @property
    def namespaces(self) -> list[str]:
        return sorted(self.rules)

    def _fail(self, action: str, error: Exception) -> PolicyError:
        return PolicyError(f"OPA server at {self.url}: {action} failed: {_server_message(error)}")

    def push(self) -> None:
        """Upload every module and data document (idempotent)."""
        if not self._client.check_health():
            raise PolicyError(f"OPA server at {self.url} is unreachable or unhealthy (GET /health)")
        for module in self.modules:
            try:
                self._client.update_policy_from_string(module.source, policy_id(module.path), rego_compat=False)
            except _CLIENT_ERRORS as error:
                raise self._fail(f"uploading {module.path}", error) from error
        for key, value in sorted(self.data.items()):
            try:
                self._put_data(key, value)
            except _CLIENT_ERRORS as error:
                raise self._fail(f"uploading data {key}", error) from error
        self._pushed = True

    def policy_file(self, namespace: str, rule: str) -> str:
        return policy_file(self.modules, namespace, rule)

    def _put_data(self, key: str, value: Any) -> None:
        if isinstance(value, dict):
            self._client.update_or_create_data(value, key)
            return
        # the client only uploads objects; lists and scalars go through the same Data API
        response = requests.put(f"{self.url}/v1/data/{key}", json=value, timeout=self._client.timeout,
                                headers=self._client.headers)
        response.raise_for_status()

    def query(self, namespace: str, rule: str, document: Any) -> tuple[bool, Any]:
        if not self._pushed:
            self.push()
        try:
            answer = self._client.query_rule(document, namespace, rule, query_params={"strict-builtin-errors": "true"})
        except _CLIENT_ERRORS as error:
            raise self._fail(f"querying data.{namespace}.{rule}", error) from error
        if not isinstance(answer, dict):
            raise PolicyError(f"OPA server at {self.url}: unexpected answer for data.{namespace}.{rule}: {answer!r}")
        return ("result" in answer), answer.get("result")

    def evaluate(self, document: Any, namespaces: Sequence[str] | None = None) -> list[RuleResult]:
        return self.evaluate_detailed(document, namespaces)[0]

    def evaluate_detailed(self, document: Any,
                          namespaces: Sequence[str] | None = None) -> tuple[list[RuleResult], list[RuleException]]:
        wanted = self.namespaces if namespaces is None else [ns for ns in namespaces if ns in self.rules]
        results: list[RuleResult] = []
        excepting: dict[str, Any] = {}
        for namespace in wanted:
            for rule in self.rules[namespace]:
                defined, value = self.query(namespace, rule, document)
                if defined:
                    results.extend(results_from_value(namespace, rule, value, metadata=self._metadata.get(namespace),
                                                      policy_file=self.policy_file(namespace, rule)))
            if namespace in self.exception_packages:
                defined, value = self.query(namespace, EXCEPTION_RULE, document)
                if defined:
                    excepting[namespace] = value
        return apply_exceptions(results, self.rules, excepting)

    def evaluate_many(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                      workers: int = 1) -> list[list[RuleResult]]:
        """`evaluate` per document, in order. Sequential: one HTTP session is not shared
        across threads (`workers` is accepted for interface parity with PolicySet)."""
        return [results for results, _ in self.evaluate_many_detailed(documents, namespaces, workers=workers)]

    def evaluate_many_detailed(self, documents: Sequence[Any], namespaces: Sequence[str] | None = None, *,
                               workers: int = 1) -> list[tuple[list[RuleResult], list[RuleException]]]:
        del workers
        return [self.evaluate_detailed(document, namespaces) for document in documents]

    def close(self) -> None:
        self._client.close_connection()
