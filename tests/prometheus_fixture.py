"""A real Prometheus (Debian's `prometheus`) on 127.0.0.1 scraping small fixture servers
that serve vLLM-shaped metrics through prometheus-client.

Each `ModelServer` is a process with a registry and a traffic thread: every tick it counts
requests (`http_requests_total{status="2xx"|"5xx"}` as prometheus-fastapi-instrumentator groups
them in vLLM's API server) and observes `vllm:e2e_request_latency_seconds`, with an
error fraction and latency the test chooses. Everything started is stopped.

The servers always answer in the text format 0.0.4: prometheus-client 0.26 rewrites the
`vllm:` colons to underscores in its OpenMetrics output (HELP/TYPE keep them), which
Prometheus 2.42 negotiates first, and the series would arrive as `vllm_*`."""
from __future__ import annotations

import multiprocessing
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
from typing import Any

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
    """vLLM-shaped /metrics with steady synthetic traffic, served by a process of its own.

    A real model server is never starved by the command under test. Served from a thread
    of the test process, it was: `promote --live` runs in-process and holds the GIL while
    it renders and checks, a scrape missed Prometheus's one-second timeout, the series went
    stale, and the gate saw "no data" on a slow machine."""

    def __init__(self, *, error_fraction: float, latency: float, requests_per_tick: int = 20):
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(send, error_fraction, latency, requests_per_tick),
                                        daemon=True)
        self._process.start()
        send.close()
        if not receive.poll(60):
            self._process.kill()
            raise RuntimeError("the metrics fixture server did not start in 60 s")
        self.port: int = receive.recv()
        receive.close()

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)


def _serve(ready: Any, error_fraction: float, latency: float, per_tick: int) -> None:
    """The server process: a registry, a traffic thread ticking every 0.2 s, and /metrics."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "requests", ["handler", "method", "status"], registry=registry)
    histogram = Histogram("vllm:e2e_request_latency_seconds", "e2e latency", ["model_name"],
                          buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry)
    waiting = Gauge("vllm:num_requests_waiting", "waiting", ["model_name"], registry=registry)

    def traffic() -> None:
        while True:
            errors = round(per_tick * error_fraction)
            requests.labels("/v1/chat/completions", "POST", "2xx").inc(per_tick - errors)
            requests.labels("/v1/chat/completions", "POST", "5xx").inc(errors)
            for _ in range(per_tick):
                histogram.labels("m").observe(latency)
            waiting.labels("m").set(1)
            time.sleep(0.2)

    server = _QuietServer(("127.0.0.1", 0), _handler(registry))
    threading.Thread(target=traffic, daemon=True).start()
    ready.send(server.server_address[1])
    ready.close()
    server.serve_forever()


class _QuietServer(ThreadingHTTPServer):
    """A scraper that gave up after its timeout has closed the connection: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


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


def scrape_history(url: str, seconds: int = 90) -> str:
    """What Prometheus saw of its targets: each job's last error and its `up` over the last
    `seconds` (1 scraped, 0 failed, . no scrape), so a gate that saw no data explains itself."""
    import json
    import urllib.parse

    def get(path: str, **params: object) -> object:
        with urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(params)}", timeout=5) as response:
            return json.loads(response.read())["data"]

    try:
        now = time.time()
        targets: Any = get("/api/v1/targets", state="active")
        ups: Any = get("/api/v1/query", query=f"up[{seconds}s]", time=now)  # every scrape's raw sample
    except (OSError, ValueError, KeyError) as error:
        return f"Prometheus at {url} did not answer: {error}"
    lines = [f"Prometheus scrape history, last {seconds}s (1 up, 0 down, . none):"]
    history = {series["metric"]["job"]: {int(float(t)): v for t, v in series["values"]} for series in ups["result"]}
    for target in sorted(targets["activeTargets"], key=lambda t: t["labels"]["job"]):
        job = target["labels"]["job"]
        seen = history.get(job, {})
        marks = "".join(seen.get(int(now) - seconds + i, ".")[:1] for i in range(seconds + 1))
        lines.append(f"  {job} {target['scrapeUrl']} {target['health']} last {target['lastScrapeDuration']:.3f}s "
                     f"error {target['lastError'] or '-'!r}: {marks}")
    return "\n".join(lines)


def wait_for_series(url: str, query: str, count: int, timeout: float = 60) -> None:
    """Until `query` returns `count` series (scrapes and rate windows have filled)."""
    import json
    import urllib.parse

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout=5) as r:
            if len(json.loads(r.read())["data"]["result"]) >= count:
                return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never returned {count} series for {query}\n{scrape_history(url)}")


def wait_for_history(url: str, targets: int, seconds: int) -> None:
    """Until each of `targets` has been scraped for `seconds` (one scrape a second).

    A gate asks for the worst value over a subquery whose steps are aligned to multiples
    of the step, not to now: two fresh scrapes can both fall after the last step, and the
    gate then sees no data. So the soak needs history of a rate window plus a step."""
    wait_for_series(url, f"count_over_time(up[{seconds + 30}s]) >= {seconds}", targets, timeout=seconds + 60)
