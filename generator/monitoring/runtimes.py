"""What each serving runtime exports to Prometheus, and the PromQL that reads it.

One table per runtime, checked against upstream (2026-12):
- vLLM's OpenAI server: `vllm:*` engine metrics (vllm/v1/metrics/loggers.py) and the HTTP
  metrics of prometheus-fastapi-instrumentator (`http_requests_total{status="5xx"}`, codes
  grouped) on the serving port, path /metrics.
- Triton: `nv_inference_*` per model and `nv_gpu_utilization` per GPU on the metrics
  port 8002; the latency summary `nv_inference_request_summary_us` needs
  `--metrics-config=summary_latencies=true`, which the rendered runtimes pass.
- custom: the contract for a team's own server is prometheus-client / instrumentator
  style `http_requests_total{status}` and `http_request_duration_seconds` on its port.
GPU utilisation for runtimes that do not export it comes from NVIDIA's dcgm-exporter
(`DCGM_FI_DEV_GPU_UTIL`, 0-100, labelled with the pod and namespace by the GPU operator).

Series are selected by the labels the PodMonitor copies from the pods
(`podTargetLabels`): model, environment and version (`app.kubernetes.io/version`).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DCGM_METRICS",
    "ENV_LABEL",
    "MODEL_LABEL",
    "POD_LABELS",
    "RUNTIMES",
    "VERSION_LABEL",
    "Runtime",
    "selector",
]

# Pod labels copied onto every scraped series, and the Prometheus label names they become.
POD_LABELS = ("modelops.dev/model", "modelops.dev/environment", "app.kubernetes.io/version")
MODEL_LABEL, ENV_LABEL, VERSION_LABEL = ("modelops_dev_model", "modelops_dev_environment", "app_kubernetes_io_version")
DCGM_METRICS = frozenset({"DCGM_FI_DEV_GPU_UTIL"})


@dataclass(frozen=True)
class Runtime:
    """PromQL templates over one runtime's metrics; `{sel}` is the label selector, `{w}` the window."""

    name: str
    exports: frozenset[str]
    error_ratio: str
    p95_seconds: str
    request_rate: str
    queue_depth: str | None
    gpu_utilization: str  # 0..1
    metrics_port: int | None  # None: the serving port

    def query(self, template: str, sel: str, window: str, *, namespace: str = "", pods: str = "") -> str:
        return (template.replace("{sel}", sel).replace("{w}", window)
                .replace("{ns}", _quote(namespace)).replace("{pods}", _quote(pods)))


# dcgm-exporter labels the GPU's pod `namespace`/`pod`; scraped without honorLabels (the
# GPU operator's default) those become `exported_namespace`/`exported_pod`: match either.
_DCGM_UTIL = ('avg(DCGM_FI_DEV_GPU_UTIL{namespace="{ns}", pod=~"{pods}"} '
              'or DCGM_FI_DEV_GPU_UTIL{exported_namespace="{ns}", exported_pod=~"{pods}"}) / 100')
_HTTP_ERRORS = ('sum(rate(http_requests_total{{sel}, status=~"5.."}[{w}])) '
                '/ sum(rate(http_requests_total{{sel}}[{w}]))')

RUNTIMES: dict[str, Runtime] = {
    "vllm": Runtime(
        name="vllm",
        exports=frozenset({"vllm:e2e_request_latency_seconds_bucket", "vllm:num_requests_waiting",
                           "vllm:num_requests_running", "vllm:kv_cache_usage_perc", "vllm:request_success_total",
                           "vllm:time_to_first_token_seconds_bucket", "vllm:generation_tokens_total",
                           "http_requests_total"}),
        error_ratio=_HTTP_ERRORS,
        p95_seconds="histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{{sel}}[{w}])))",
        request_rate="sum(rate(http_requests_total{{sel}}[{w}]))",
        queue_depth="sum(vllm:num_requests_waiting{{sel}})",
        gpu_utilization=_DCGM_UTIL,
        metrics_port=None,
    ),
    "triton": Runtime(
        name="triton",
        exports=frozenset({"nv_inference_request_success", "nv_inference_request_failure",
                           "nv_inference_request_summary_us", "nv_inference_pending_request_count",
                           "nv_inference_queue_duration_us", "nv_gpu_utilization"}),
        error_ratio=("sum(rate(nv_inference_request_failure{{sel}}[{w}])) / (sum(rate(nv_inference_request_success"
                     "{{sel}}[{w}])) + sum(rate(nv_inference_request_failure{{sel}}[{w}])))"),
        p95_seconds='max(nv_inference_request_summary_us{{sel}, quantile="0.95"}) / 1e6',
        request_rate=("sum(rate(nv_inference_request_success{{sel}}[{w}])) "
                      "+ sum(rate(nv_inference_request_failure{{sel}}[{w}]))"),
        queue_depth="sum(nv_inference_pending_request_count{{sel}})",
        gpu_utilization="avg(nv_gpu_utilization{{sel}})",
        metrics_port=8002,
    ),
    "custom": Runtime(
        name="custom",
        exports=frozenset({"http_requests_total", "http_request_duration_seconds_bucket"}),
        error_ratio=_HTTP_ERRORS,
        p95_seconds="histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{sel}}[{w}])))",
        request_rate="sum(rate(http_requests_total{{sel}}[{w}]))",
        queue_depth=None,
        gpu_utilization=_DCGM_UTIL,
        metrics_port=None,
    ),
}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def selector(model: str, environment: str, version: str | None = None) -> str:
    """Label matchers (without braces) for one model in one environment, optionally one version."""
    parts = [f'{MODEL_LABEL}="{_quote(model)}"', f'{ENV_LABEL}="{_quote(environment)}"']
    if version:
        parts.append(f'{VERSION_LABEL}="{_quote(version)}"')
    return ", ".join(parts)
