"""Extract the openAPIV3Schema of the CRDs modelops renders into generator/data/crds/.

The upstream CRD files (../shared/conformance/crds) are large; `check` needs only the
schema of each served version. Run by hand when the upstream CRDs are updated:
    python scripts/vendor_crds.py ../shared/conformance/crds
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from generator.validate.cel import rule_paths

WANTED = {("argoproj.io", "WorkflowTemplate"), ("argoproj.io", "CronWorkflow"), ("argoproj.io", "Workflow"),
          ("argoproj.io", "Application"), ("argoproj.io", "ApplicationSet"), ("argoproj.io", "AppProject"),
          ("jobset.x-k8s.io", "JobSet"), ("serving.kserve.io", "InferenceService"),
          ("serving.kserve.io", "ServingRuntime"), ("monitoring.coreos.com", "PodMonitor"),
          ("monitoring.coreos.com", "ServiceMonitor"), ("monitoring.coreos.com", "PrometheusRule"),
          # Gateway API v1.6.1 standard channel (kubernetes-sigs/gateway-api, config/crd/standard),
          # for the chart canary's weighted HTTPRoute: python scripts/vendor_crds.py DIR-WITH-IT
          ("gateway.networking.k8s.io", "HTTPRoute")}


def main(source: str) -> None:
    out = Path(__file__).resolve().parent.parent / "generator" / "data" / "crds"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            if (group, kind) not in WANTED:
                continue
            for version in doc["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    name = out / f"{group}_{kind.lower()}_{version['name']}.json.gz"
                    data = json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()
                    name.write_bytes(gzip.compress(data, mtime=0))
                    print(f"{name.name}: {len(data)} bytes")
    write_cel_index(out)


def write_cel_index(out: Path) -> None:
    """Where the rules are, for every vendored schema (those vendored from other folders too)."""
    cel_index: dict[str, list] = {}
    for name in sorted(out.glob("*.json.gz")):
        paths = rule_paths(json.loads(gzip.decompress(name.read_bytes())))
        if paths:
            cel_index[name.name] = paths
    (out / "cel-rules.json").write_text(json.dumps(cel_index, sort_keys=True, indent=1) + "\n")


if __name__ == "__main__":
    for folder in sys.argv[1:] or ["../shared/conformance/crds"]:
        main(folder)
