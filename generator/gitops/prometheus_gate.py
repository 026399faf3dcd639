"""Gate a promotion or a canary step on what the model does in production: Prometheus'
HTTP API (`GET /api/v1/query`), over the soak window.

Each check asks for the worst value the soak saw (`max_over_time` over a subquery of the
alert's own expression), so a breach half-way through the soak is not averaged away.
No data is a failure, not a pass: a model that served nothing has proved nothing.
"""
from __future__ import annotations

import base64
import json
import math
import operator
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from generator.errors import ModelopsError
from generator.gitops.gates import parse_threshold
from generator.gitops.git import redact
from generator.monitoring.rules import MonitoringTarget, queries_for
from generator.monitoring.runtimes import selector

__all__ = ["MetricCheck", "MetricsVerdict", "PrometheusClient", "evaluate", "verdict_markdown"]

TOKEN_VARIABLE = "MODELOPS_PROMETHEUS_TOKEN"
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class PrometheusClient:
    """Instant queries against one Prometheus; errors name the query and the server (its
    URL with any credentials redacted). A bearer token comes from MODELOPS_PROMETHEUS_TOKEN."""

    def __init__(self, url: str, *, timeout: float = 10.0, token: str | None = None):
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        self.url, self.timeout = redact(url.rstrip("/")), timeout
        self.base = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() \
            if parts.username and parts.hostname else url.rstrip("/")
        self.auth = ""
        if parts.username:  # https://user:password@host: HTTP basic auth, never sent in the URL
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.auth = "Basic " + base64.b64encode(pair.encode()).decode()
        token = token if token is not None else os.environ.get(TOKEN_VARIABLE, "")
        if token:
            self.auth = f"Bearer {token}"

    def query(self, expr: str) -> list[float]:
        """The values of an instant vector (NaN dropped); [] when nothing matched."""
        headers = {"Accept": "application/json"}
        if self.auth:
            headers["Authorization"] = self.auth
        request = urllib.request.Request(f"{self.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}",
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: Any = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = _error_text(error)
            raise ModelopsError(f"Prometheus at {self.url} rejected the query {expr!r}: {detail}") from None
        except (urllib.error.URLError, OSError, json.JSONDecodeError) as error:
            raise ModelopsError(f"cannot query Prometheus at {self.url}: {redact(str(error))}") from None
        data = body.get("data", {}) if isinstance(body, dict) else {}
        if body.get("status") != "success" or data.get("resultType") not in ("vector", "scalar"):
            raise ModelopsError(f"Prometheus at {self.url}: unexpected answer to {expr!r}")
        if data["resultType"] == "scalar":
            return [float(data["result"][1])]
        values = [float(item["value"][1]) for item in data["result"]]
        return [v for v in values if not math.isnan(v)]


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read().decode("utf-8")).get("error", error.reason))
    except (ValueError, OSError):
        return str(error.reason)


@dataclass(frozen=True)
class MetricCheck:
    name: str
    query: str
    op: str
    bound: float
    value: float | None  # None: no data

    @property
    def passed(self) -> bool:
        return self.value is not None and _OPS[self.op](self.value, self.bound)

    def describe(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:.4g}"
        verdict = "ok" if self.passed else "FAILED"
        return f"{self.name} = {shown} (must be {self.op} {self.bound:g}) {verdict}: {self.query}"


@dataclass(frozen=True)
class MetricsVerdict:
    subject: str  # e.g. "support-chat in staging, version 8"
    soak: str
    checks: tuple[MetricCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def reason(self) -> str:
        failed = [c for c in self.checks if not c.passed]
        shown = failed or list(self.checks)
        return f"{self.subject} over {self.soak}: " + "; ".join(c.describe() for c in shown)


def _step(soak_seconds: int) -> str:
    return f"{min(60, max(1, soak_seconds // 30))}s"


def _worst(query: str, op: str, soak: str, step: str) -> str:
    # the worst moment of the soak: the highest value for an upper bound, the lowest for a lower one
    function = "max_over_time" if op in ("<", "<=", "==") else "min_over_time"
    return f"{function}(({query})[{soak}:{step}])"


def _specs(target: MonitoringTarget, version: str | None) -> list[tuple[str, str, str, float]]:
    queries, limits = queries_for(target, version), target.alerts
    specs = [("error_rate", queries["error_ratio"], "<=", float(limits["errorRate"])),
             ("p95_latency_seconds", queries["p95_seconds"], "<=", float(limits["p95LatencySeconds"]))]
    if target.quality:
        op, bound = parse_threshold(target.quality["threshold"])
        metric = target.quality["metric"]
        specs.append((metric, f"max({metric}{{{selector(target.model, target.environment, version)}}})", op, bound))
    return specs


def evaluate(client: PrometheusClient, target: MonitoringTarget, *, soak: str, soak_seconds: int,
             version: str | None = None) -> MetricsVerdict:
    """Every threshold of the model's monitoring, over the soak window, for one version or all."""
    step = _step(soak_seconds)
    checks = []
    for name, query, op, bound in _specs(target, version):
        worst = _worst(query, op, soak, step)
        values = client.query(worst)
        value = (max(values) if op in ("<", "<=", "==") else min(values)) if values else None
        checks.append(MetricCheck(name, worst, op, bound, value))
    subject = f"{target.model} in {target.environment}" + (f", version {version}" if version else "")
    return MetricsVerdict(subject, soak, tuple(checks))


def verdict_markdown(verdict: MetricsVerdict) -> str:
    rows = [f"| {c.name} | {'no data' if c.value is None else f'{c.value:.4g}'} | {c.op} {c.bound:g} | "
            f"{'pass' if c.passed else '**fail**'} | `{c.query}` |" for c in verdict.checks]
    head = f"### Live metrics: {'passed' if verdict.passed else 'FAILED'} ({verdict.subject}, soak {verdict.soak})"
    return "\n".join([head, "", "| Check | Value | Threshold | Result | Query |", "| --- | --- | --- | --- | --- |",
                      *rows, ""])
