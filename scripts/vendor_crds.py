"""Extract the openAPIV3Schema of the CRDs modelops renders into generator/data/crds/.

The upstream CRD files (../shared/conformance/crds) are large; `check` needs only the
schema of each served version. Run by hand when the upstream CRDs are updated:
    python scripts/vendor_crds.py ../shared/conformance/crds

Controllers whose CRDs change between releases in ways the blueprints follow (Argo
Workflows, JobSet) are also vendored per release, so that `check` validates an
environment's objects against the release it declares (`cluster.argoWorkflows`,
`cluster.jobset`). From a git clone of the upstream repository, one release at a time:
    python scripts/vendor_crds.py --release argo-workflows v4.1.2 ~/src/argo-workflows
    python scripts/vendor_crds.py --release jobset v0.8.2 ~/src/jobset
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
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


CRDS = Path(__file__).resolve().parent.parent / "generator" / "data" / "crds"
# Per release: where the CRDs are in the upstream repository, and which kinds to keep.
RELEASED = {
    "argo-workflows": ("manifests/base/crds/full", {("argoproj.io", "WorkflowTemplate"),
                                                    ("argoproj.io", "CronWorkflow")}),
    "jobset": ("config/components/crd/bases", {("jobset.x-k8s.io", "JobSet")}),
}


def main(source: str, out: Path = CRDS, wanted: set[tuple[str, str]] = WANTED) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            if (group, kind) not in wanted:
                continue
            for version in doc["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema:
                    name = out / f"{group}_{kind.lower()}_{version['name']}.json.gz"
                    data = json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()
                    name.write_bytes(gzip.compress(data, mtime=0))
                    print(f"{name.name}: {len(data)} bytes")
    write_cel_index()


def release(product: str, tag: str, clone: str) -> None:
    """Vendor `product`'s CRDs as of git tag `tag` into releases/<product>/<version>/."""
    folder, wanted = RELEASED[product]
    with tempfile.TemporaryDirectory() as tmp:
        names = subprocess.run(["git", "-C", clone, "ls-tree", "--name-only", tag, folder + "/"], check=True,
                               capture_output=True, text=True).stdout.split()
        for name in names:
            if name.endswith(".yaml"):
                text = subprocess.run(["git", "-C", clone, "show", f"{tag}:{name}"], check=True,
                                      capture_output=True, text=True).stdout
                (Path(tmp) / Path(name).name).write_text(text)
        main(tmp, CRDS / "releases" / product / tag.lstrip("v"), wanted)


def write_cel_index() -> None:
    """Where the rules are, for every vendored schema (those vendored from other folders
    too), keyed by the path under generator/data/crds."""
    cel_index: dict[str, list] = {}
    for name in sorted(CRDS.rglob("*.json.gz")):
        paths = rule_paths(json.loads(gzip.decompress(name.read_bytes())))
        if paths:
            cel_index[name.relative_to(CRDS).as_posix()] = paths
    (CRDS / "cel-rules.json").write_text(json.dumps(cel_index, sort_keys=True, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--release"]:
        release(*sys.argv[2:5])
    else:
        for folder in sys.argv[1:] or ["../shared/conformance/crds"]:
            main(folder)
