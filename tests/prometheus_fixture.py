"""A real Prometheus (Debian's `prometheus`) on 127.0.0.1 scraping small fixture servers
that serve vLLM-shaped metrics through prometheus-client.

Each `ModelServer` owns a registry and a traffic thread: every tick it counts requests
(`http_requests_total{status="2xx"|"5xx"}` as prometheus-fastapi-instrumentator groups
them in vLLM's API server) and observes `vllm:e2e_request_latency_seconds`, with an
error fraction and latency the test chooses. Everything started is stopped.

The servers always answer in the text format 0.0.4: prometheus-client 0.26 rewrites the
`vllm:` colons to underscores in its OpenMetrics output (HELP/TYPE keep them), which
Prometheus 2.42 negotiates first, and the series would arrive as `vllm_*`."""
from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ModelServer:
    """vLLM-shaped /metrics with steady synthetic traffic."""

    def __init__(self, *, error_fraction: float, latency: float, requests_per_tick: int = 20):
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "requests", ["handler", "method", "status"], registry=self.registry)
        self.latency = Histogram("vllm:e2e_request_latency_seconds", "e2e latency", ["model_name"],
                                 buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry)
        self.waiting = Gauge("vllm:num_requests_waiting", "waiting", ["model_name"], registry=self.registry)
        self.error_fraction, self.latency_seconds, self.per_tick = error_fraction, latency, requests_per_tick
        self.port = free_port()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.registry))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._traffic = threading.Thread(target=self._run, daemon=True)
        self._traffic.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            errors = round(self.per_tick * self.error_fraction)
            ok = self.requests.labels("/v1/chat/completions", "POST", "2xx")
            ok.inc(self.per_tick - errors)
            self.requests.labels("/v1/chat/completions", "POST", "5xx").inc(errors)
            for _ in range(self.per_tick):
                self.latency.labels("m").observe(self.latency_seconds)
            self.waiting.labels("m").set(1)

    def stop(self) -> None:
        self._stop.set()
        self._traffic.join(timeout=5)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass
    return Metrics


@contextmanager
def prometheus(tmp: Path, targets: list[tuple[int, dict[str, str]]]) -> Iterator[str]:
    """Start Prometheus scraping `targets` ((port, labels)) every second; yield its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (Debian package `prometheus`; scripts/install-test-deps.sh)")
    port = free_port()
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": f"fixture-{i}", "static_configs": [{"targets": [f"127.0.0.1:{p}"],
                                                                                 "labels": labels}]}
                                 for i, (p, labels) in enumerate(targets)]}
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen([binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, tmp / "prometheus.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("prometheus did not become ready in 30s")


def wait_for_series(url: str, query: str, count: int, timeout: float = 30) -> None:
    """Until `query` returns `count` series (scrapes and rate windows have filled)."""
    import json
    import urllib.parse

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout=5) as r:
            if len(json.loads(r.read())["data"]["result"]) >= count:
                return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never returned {count} series for {query}")
