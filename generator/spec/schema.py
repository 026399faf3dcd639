"""JSON Schemas of the model spec and the environment file.

They are the single source of truth for structure: the loader validates against them
(positions come from the YAML), `modelops schema` prints them for editors, and
`schemas/` in the repo holds the committed copies. Semantic checks that a schema cannot
express (known GPU types, duplicate names, environments that exist) live in
`generator.spec.validate`.
"""
from __future__ import annotations

import copy
from typing import Any

__all__ = ["MODEL_SCHEMA", "ENVIRONMENT_SCHEMA", "WAIVERS_SCHEMA", "partial", "ANY_LABEL_VALUE", "DNS_LABEL", "DURATION",
           "LABEL_KEY", "LABEL_VALUE", "URI"]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# A Kubernetes label value (non-empty): what a cost center and a model version become.
LABEL_VALUE = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
# A label key (an optional DNS-subdomain prefix and `/`, then a name) and a value, which
# may be empty: what the API server holds metadata.labels and nodeSelector to.
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
ANY_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"
LABELS: dict[str, Any] = {"type": "object", "propertyNames": {"pattern": LABEL_KEY, "maxLength": 317},
                          "additionalProperties": {"type": "string", "pattern": ANY_LABEL_VALUE}}
DURATION = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"
# A container image reference: registry/path[:tag][@sha256:digest]; no whitespace, no YAML structure.
IMAGE = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
URI = r"^[a-z][a-z0-9+.-]*://[^\s]+$"
VERSION = r"^v?[0-9]+\.[0-9]+(\.[0-9]+)?$"


def _string(pattern: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, **extra}
    if pattern:
        schema["pattern"] = pattern
    return schema


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


POSITIVE_INT = {"type": "integer", "minimum": 1}
RESOURCES = _object({
    "cpu": {"type": ["string", "integer"], "pattern": QUANTITY, "description": "CPU cores, e.g. \"8\" or 500m"},
    "memory": _string(QUANTITY, description="memory, e.g. 64Gi"),
})
ENV_VARS = {"type": "array", "items": _object({"name": _string(r"^[A-Za-z_][A-Za-z0-9_]*$"),
                                               "value": {"type": "string"}}, ("name", "value"))}

TRAINING = _object({
    "image": _string(IMAGE, description="training image, pinned by digest outside dev"),
    "command": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                "description": "module or script run by torchrun; omit to use the built-in trainer"},
    "args": {"type": "array", "items": {"type": "string"}, "description": "extra arguments after the command"},
    "gpus": _object({
        "type": _string(description="GPU type, e.g. nvidia-h100-80gb (see `modelops plan`)"),
        "perNode": {**POSITIVE_INT, "description": "GPUs per node (torchrun --nproc-per-node)"},
        "nodes": {**POSITIVE_INT, "default": 1, "description": "nodes; more than one renders a JobSet"},
    }, ("type", "perNode")),
    "strategy": {"enum": ["ddp", "fsdp"], "default": "ddp"},
    "precision": {"enum": ["bf16", "fp32"], "default": "bf16"},
    "dataset": _string(URI),
    "checkpoints": _string(URI, description="checkpoint location; required when retries > 0"),
    "maxDuration": _string(DURATION, description="deadline for the whole run, e.g. 12h"),
    "retries": {"type": "integer", "minimum": 0, "maximum": 20, "default": 2},
    "schedule": _string(r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$",
                        description="cron schedule; renders a CronWorkflow"),
    "resources": RESOURCES,
    "env": ENV_VARS,
    "architecture": _object({
        "preset": {"enum": ["gpt-tiny", "gpt-small", "gpt-medium", "gpt-large", "gpt-1b"],
                   "description": "a built-in GPT size for the reference trainer (generator/training/config.py)"},
        "parameters": {**POSITIVE_INT, "description": "declared parameter count when not a built-in preset"},
    }),
    "trainer": _object({
        "steps": POSITIVE_INT, "batchSize": POSITIVE_INT, "seqLen": POSITIVE_INT,
        "checkpointEvery": POSITIVE_INT, "compile": {"type": "boolean"},
        "checkpointInterval": _string(DURATION, description="time between checkpoints (default 30m)"),
        "collectiveTimeout": _string(DURATION, description="a hung rank fails the run after this (default 10m)"),
        "activationCheckpointing": {"type": "boolean", "description": "recompute activations in backward"},
        "initFrom": _string(URI, description="warm start from an earlier run's checkpoint folder"),
        "dataCacheSize": _string(QUANTITY, description="node disk for streamed dataset shards (default 100Gi)"),
        "optimizer": {"enum": ["adamw", "adam", "sgd", "lion", "adafactor"], "default": "adamw"},
    }),
}, ("image", "gpus", "dataset", "maxDuration"))

SERVING = _object({
    "runtime": {"enum": ["vllm", "triton", "custom"]},
    "image": _string(IMAGE),
    "modelUri": _string(URI),
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "custom runtime only"},
    "healthPath": _string(r"^/[^\s]*$", description="custom runtime only"),
    "args": {"type": "array", "items": {"type": "string"}},
    "env": ENV_VARS,
    "gpus": _object({"type": _string(), "count": POSITIVE_INT}, ("type", "count")),
    "replicas": _object({"min": POSITIVE_INT, "max": POSITIVE_INT}, ("min", "max")),
    "autoscaling": _object({"targetCPUUtilization": {"type": "integer", "minimum": 1, "maximum": 100}}),
    "resources": RESOURCES,
    "shmSize": _string(QUANTITY),
    "target": {"enum": ["chart", "kserve"],
               "description": "how it is served: the built-in Helm chart or a KServe InferenceService "
                              "(default: the environment's serving.target, else chart)"},
    "monitoring": _object({
        "alerts": _object({
            "p95LatencySeconds": {"type": "number", "exclusiveMinimum": 0, "default": 2},
            "errorRate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.05,
                          "description": "fraction of requests failing (5xx) that fires an alert and fails a gate"},
            "gpuUtilizationLow": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.2,
                                  "description": "below this for 1h: GPUs paid for and idle"},
            "gpuUtilizationHigh": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.95},
            "queueDepth": {"type": "integer", "minimum": 1, "default": 50},
        }),
        "quality": _object({
            "metric": _string(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
                              description="a model-quality or drift metric the server exports"),
            "threshold": _string(r"^(>=|<=|>|<|==)\s*-?[0-9]+(\.[0-9]+)?$",
                                 description="alert (and gate) when the metric breaks it, e.g. \"<= 0.3\""),
        }, ("metric", "threshold")),
    }),
}, ("runtime", "image", "modelUri", "replicas"))

RELEASE = _object({
    "image": _string(IMAGE, description="serving image promoted to this environment"),
    "trainingImage": _string(IMAGE),
    "modelUri": _string(URI),
    "modelVersion": {"type": "string", "minLength": 1, "pattern": LABEL_VALUE},
    "chartRevision": _string(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", description="git revision of the serving chart"),
    "source": _string(r"^\S+$", maxLength=500,
                      description="where the release came from, e.g. models:/NAME/3 or workflow:NS/NAME"),
    "metrics": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_.-]*$"},
                "additionalProperties": {"type": "number"},
                "description": "metrics the release was accepted on (compared by promotion.metrics)"},
})

# Freeze windows (issue 14): dated (start/end) or weekly, in a time zone; promote and
# release refuse inside one unless overridden with a reason.
_DATE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
FREEZE_WINDOW = {
    **_object({
        "name": _string(description="shown when a promotion is refused"),
        "timeZone": _string(description="IANA time zone, e.g. Europe/Berlin (default UTC)"),
        "start": _string(_DATE_TIME, description="first moment of a dated window, e.g. 2026-12-20 or 2026-12-20T18:00"),
        "end": _string(_DATE_TIME, description="end of a dated window (a date alone means the end of that day)"),
        "weekly": _object({
            "days": {"type": "array", "minItems": 1, "uniqueItems": True,
                     "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
            "start": _string(_CLOCK), "end": _string(_CLOCK, description="end time; before start means the next day"),
        }, ("days", "start", "end")),
    }, ("name",)),
    "oneOf": [{"required": ["start", "end"], "not": {"required": ["weekly"]}},
              {"required": ["weekly"], "not": {"anyOf": [{"required": ["start"]}, {"required": ["end"]}]}}],
}

METRIC_GATE = _string(r"^(>=|<=|>|<|==)\s*-?[0-9]+(\.[0-9]+)?$", description="e.g. \">= 0.92\"")


def partial(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with nothing required: per-environment overrides set only what differs."""
    out = copy.deepcopy(schema)
    stack = [out]
    while stack:
        node = stack.pop()
        node.pop("required", None)
        node.pop("default", None)
        stack.extend(v for v in node.get("properties", {}).values() if isinstance(v, dict))
    return out


MODEL_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://modelops.dev/schemas/model-v1.json",
    "title": "modelops Model",
    **_object({
        "apiVersion": {"const": "modelops.dev/v1"},
        "kind": {"const": "Model"},
        "metadata": _object({
            "name": _string(DNS_LABEL, maxLength=53, description="DNS-1123 label; file name must match"),
            "team": _string(DNS_LABEL),
            "costCenter": _string(LABEL_VALUE),
            "owner": _string(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="contact e-mail"),
            "description": {"type": "string"},
        }, ("name", "team", "costCenter", "owner")),
        "training": TRAINING,
        "serving": SERVING,
        "environments": {
            "type": "object",
            "propertyNames": {"pattern": DNS_LABEL},
            "additionalProperties": _object({"training": partial(TRAINING), "serving": partial(SERVING)}),
            "description": "per-environment overrides, merged over training/serving",
        },
        "releases": {
            "type": "object",
            "propertyNames": {"pattern": DNS_LABEL},
            "additionalProperties": RELEASE,
            "description": "what is promoted to each environment (written by `modelops promote`)",
        },
        "canaries": {
            "type": "object",
            "propertyNames": {"pattern": DNS_LABEL},
            "additionalProperties": _object({**RELEASE["properties"], "weight": {
                "type": "integer", "minimum": 1, "maximum": 99,
                "description": "percent of traffic the candidate gets"}}, ("weight",)),
            "description": "a release rolling out as a canary (written by `modelops promote` and `modelops rollout`)",
        },
        "promotion": _object({
            "metrics": {"type": "object", "additionalProperties": METRIC_GATE,
                        "description": "metric thresholds a candidate must meet, e.g. accuracy: \">= 0.92\""},
            "soak": _string(DURATION, description="time the source must be Synced and Healthy"),
        }),
    }, ("apiVersion", "kind", "metadata")),
}

# GPU types this environment knows beyond (or instead of) the built-in catalogue (generator/gpus.py).
GPU_TYPES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "GPU types this environment knows, added to (or replacing) the built-in catalogue",
    "propertyNames": {"pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
    "additionalProperties": _object({
        "product": _string(LABEL_VALUE, description="node label value of nvidia.com/gpu.product"),
        "memoryGiB": {"type": "number", "exclusiveMinimum": 0},
        "precisions": {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"enum": ["fp32", "tf32", "fp16", "bf16", "fp8"]}},
        "tflops": {"type": "object", "description": "dense peak TFLOPs per GPU by precision, for planning",
                   "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
    }, ("product", "memoryGiB")),
}


ENVIRONMENT_SERVING = _object({
    "target": {"enum": ["chart", "kserve"], "default": "chart", "description": "default serving target"},
    "kserveDeploymentMode": {"enum": ["Serverless", "RawDeployment"], "default": "Serverless",
                             "description": "KServe mode; canaries (canaryTrafficPercent) need Serverless (Knative)"},
    "canary": _object({
        "steps": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 100},
                  "minItems": 1, "default": [10, 50, 100],
                  "description": "traffic percentages a canary goes through; the last must be 100"},
        "route": _object({
            "gateway": _string(DNS_LABEL, description="Gateway API parent of the chart's weighted HTTPRoute"),
            "gatewayNamespace": _string(DNS_LABEL),
        }, ("gateway",)),
    }),
    "monitoring": _object({
        "prometheusUrl": _string(URI, description="Prometheus HTTP API base the promotion gates query"),
        "ruleLabels": {**LABELS, "description": "labels the Prometheus ruleSelector / podMonitorSelector match"},
        "dashboardNamespace": _string(DNS_LABEL, description="namespace Grafana's sidecar watches"),
        "window": _string(DURATION, description="rate() window of alerts and gates (default 5m)"),
    }),
})

ENVIRONMENT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://modelops.dev/schemas/environment-v1.json",
    "title": "modelops Environment",
    **_object({
        "apiVersion": {"const": "modelops.dev/v1"},
        "kind": {"const": "Environment"},
        "metadata": _object({"name": _string(DNS_LABEL), "description": {"type": "string"}}, ("name",)),
        "promotesFrom": {"type": ["string", "null"], "pattern": DNS_LABEL},
        "cluster": _object({
            "server": _string(URI), "name": _string(),
            "argoWorkflows": _string(VERSION, description="Argo Workflows version: fields newer than it are not rendered"),
            "jobset": _string(VERSION, description="JobSet controller version (multi-node training)"),
            "kueue": _string(VERSION, description="Kueue version, when Kueue admits training"),
            "rdma": {"type": "boolean", "description": "nodes have RDMA NICs: request them and set IPC_LOCK"},
        }),
        "namespace": _string(DNS_LABEL),
        "argocd": _object({
            "namespace": _string(DNS_LABEL), "project": _string(DNS_LABEL),
            "repoURL": _string(), "targetRevision": _string(),
        }, ("project", "repoURL")),
        "syncPolicy": _object({"automated": {"type": "boolean"}, "prune": {"type": "boolean"},
                               "selfHeal": {"type": "boolean"}}, ("automated",)),
        "gpus": _object({
            "allowed": {"type": "array", "items": _string(), "uniqueItems": True},
            "quota": {"type": "integer", "minimum": 0},
            "nodeSelectors": {"type": "object", "additionalProperties": LABELS},
        }, ("allowed", "quota")),
        "registries": {"type": "array", "items": _string(), "minItems": 1},
        "gpuTypes": GPU_TYPES_SCHEMA,
        "policy": _object({"enforcement": {"enum": ["warn", "deny"]}}, ("enforcement",)),
        "kubernetesVersion": _string(r"^1\.[0-9]+$"),
        "training": _object({
            "serviceAccount": _string(DNS_LABEL),
            "priorityClassName": _string(DNS_LABEL),
            "queueName": _string(DNS_LABEL, description="Kueue LocalQueue for gang admission"),
            "checkpointClaim": _string(DNS_LABEL, description="PVC mounted at /checkpoints"),
            "ncclSocketIfname": _string(),
            "ncclIbHca": _string(description="NCCL_IB_HCA on RDMA clusters, e.g. mlx5"),
            "rdmaResource": _string(description="extended resource for the RDMA device (default rdma/ib)"),
            "semaphore": _object({"configMap": _string(DNS_LABEL), "key": _string()}, ("configMap", "key")),
        }),
        "freezeWindows": {"type": "array", "items": FREEZE_WINDOW,
                          "description": "times when promote and release refuse (unless --override-freeze)"},
        "serving": ENVIRONMENT_SERVING,
    }, ("apiVersion", "kind", "metadata", "namespace", "argocd", "syncPolicy", "gpus", "registries", "policy")),
}

WAIVERS_SCHEMA: dict[str, Any] = {"type": "object"}  # documented in generator.policy.waivers
