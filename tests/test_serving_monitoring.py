"""KServe and monitoring objects in the example repository: upstream CRDs (KServe,
prometheus-operator from ../shared), Prometheus' own `promtool check rules`, and
dashboards that name only metrics the model's runtime exports."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from generator.monitoring.runtimes import DCGM_METRICS, RUNTIMES
from generator.validate.schemas import SchemaRegistry
from tests.conftest import CONFORMANCE, ROOT

CRDS = CONFORMANCE / "crds"
NEW_KINDS = {"InferenceService", "ServingRuntime", "PodMonitor", "PrometheusRule"}


def _documents(kinds: set[str]) -> list[tuple[str, dict]]:
    found = []
    for path in sorted((ROOT / "environments").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in kinds:
                found.append((path.relative_to(ROOT).as_posix(), doc))
    return found


@pytest.fixture(scope="module")
def upstream():
    if not (CRDS / "kserve").is_dir() or not (CRDS / "prometheus-operator").is_dir():
        pytest.skip(f"upstream KServe / prometheus-operator CRDs not present under {CRDS}")
    return SchemaRegistry("1.33", schema_dirs=[CRDS / "kserve", CRDS / "prometheus-operator"])


def test_example_has_shelf_vision_on_kserve_in_dev_and_staging():
    isvcs = {(p.split("/")[1], d["metadata"]["name"]) for p, d in _documents({"InferenceService"})}
    assert isvcs == {("dev", "shelf-vision"), ("staging", "shelf-vision")}
    assert not (ROOT / "environments/staging/shelf-vision/serving/values.yaml").exists()
    app = yaml.safe_load((ROOT / "environments/staging/shelf-vision/app-serving.yaml").read_text())
    assert app["spec"]["source"]["path"] == "environments/staging/shelf-vision/serving"


@pytest.fixture(scope="module")
def all_on_kserve(tmp_path_factory):
    """The example with every model on KServe in every environment (vLLM, Triton, custom)."""
    from generator.render.pipeline import render_repository
    from generator.spec.load import load_repository
    from tests.conftest import copy_example

    work = copy_example(tmp_path_factory.mktemp("kserve") / "repo")
    for env in ("dev", "staging", "prod"):
        path = work / f"environments/{env}/environment.yaml"
        path.write_text(path.read_text().replace("  target: chart\n", "  target: kserve\n"))
    for model in ("support-chat", "churn-scorer"):
        assert "target:" not in (work / f"models/{model}.yaml").read_text()
    files = render_repository(load_repository(work))
    return {f.path: list(f.documents) for f in files}


def test_new_objects_pass_the_upstream_crds(upstream, all_on_kserve):
    seen = set()
    documents = _documents(NEW_KINDS) + [(path, doc) for path, docs in sorted(all_on_kserve.items())
                                         for doc in docs if doc.get("kind") in NEW_KINDS]
    for path, doc in documents:
        seen.add(doc["kind"])
        assert upstream.validate(doc) == [], path
    assert seen == NEW_KINDS
    runtimes = {d["spec"]["containers"][0]["command"][0] for p, d in documents if d["kind"] == "ServingRuntime"}
    assert runtimes == {"vllm", "tritonserver"}
    assert any("containers" in d["spec"]["predictor"] for p, d in documents if d["kind"] == "InferenceService")


def test_upstream_crds_reject_a_typo_in_the_predictor(upstream):
    _path, doc = _documents({"InferenceService"})[0]
    doc["spec"]["predictor"]["canaryTrafficPercnt"] = 10
    assert any("canaryTrafficPercnt" in v.message for v in upstream.validate(doc))


def test_vendored_crds_agree_with_upstream(upstream):
    vendored = SchemaRegistry("1.33")
    for _path, doc in _documents(NEW_KINDS):
        doc["spec"]["bogus"] = 1
        assert vendored.validate(doc) == upstream.validate(doc) != []


def test_vllm_runs_the_pinned_release_image_through_a_serving_runtime(all_on_kserve):
    [runtime] = all_on_kserve["environments/dev/support-chat/serving/servingruntime.yaml"]
    [isvc] = all_on_kserve["environments/dev/support-chat/serving/inferenceservice.yaml"]
    container = runtime["spec"]["containers"][0]
    assert container["image"].split("@")[1].startswith("sha256:")
    assert container["command"] == ["vllm", "serve"] and "--tensor-parallel-size" in container["args"]
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["storageUri"] == "s3://models/support-chat/v8/"
    assert model["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert isvc["spec"]["predictor"]["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_every_rendered_rule_file_passes_promtool(promtool, tmp_path):
    rules = _documents({"PrometheusRule"})
    assert len(rules) == 9
    files = []
    for index, (_path, doc) in enumerate(rules):
        file = tmp_path / f"rules-{index}.yaml"
        file.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}))
        files.append(str(file))
    result = subprocess.run([promtool, "check", "rules", *files], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_really_rejects_broken_promql(promtool, tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]}))
    result = subprocess.run([promtool, "check", "rules", str(file)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


_METRIC = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")


def _allowed(spec: dict, env: str) -> set[str]:
    serving = {**spec["serving"], **spec.get("environments", {}).get(env, {}).get("serving", {})}
    allowed = set(RUNTIMES[serving["runtime"]].exports)
    if serving.get("gpus"):
        allowed |= DCGM_METRICS
    quality = serving.get("monitoring", {}).get("quality")
    if quality:
        allowed.add(quality["metric"])
    return allowed


def test_every_dashboard_is_json_naming_only_its_runtimes_metrics():
    configmaps = [(p, d) for p, d in _documents({"ConfigMap"}) if d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(configmaps) == 9
    for path, doc in configmaps:
        env, model = path.split("/")[1:3]
        spec = yaml.safe_load((ROOT / f"models/{model}.yaml").read_text())
        [(name, text)] = doc["data"].items()
        assert name == f"{env}-{model}.json"
        dashboard = json.loads(text)
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
        assert exprs, path
        named = {m for expr in exprs for m in _METRIC.findall(expr)}
        assert named and named <= _allowed(spec, env), (path, named - _allowed(spec, env))


def test_alert_thresholds_come_from_the_spec():
    doc = yaml.safe_load((ROOT / "environments/staging/shelf-vision/monitoring/prometheusrule.yaml").read_text())
    alerts = {r["alert"]: r["expr"] for r in doc["spec"]["groups"][0]["rules"]}
    assert alerts["ModelHighErrorRate"].endswith(") > 0.01")
    assert alerts["ModelHighLatencyP95"].endswith(") > 0.25")
    assert "nv_inference_request_failure" in alerts["ModelHighErrorRate"]
    assert {"ModelGPUUnderused", "ModelGPUSaturated", "ModelQueueBacklog"} <= set(alerts)
    assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_built_in_policies_apply_to_kserve_objects(tmp_path, cli):
    from tests.conftest import copy_example

    work = copy_example(tmp_path / "repo")
    spec = work / "models/shelf-vision.yaml"
    pinned = "registry.example.com/nvidia/tritonserver@sha256:5f9a5c5aa0f6a8dfe5c6e4bdc5d799e7f4ecd5adb8d6fbcac9b8a7f6e5d4c3b2"
    text = spec.read_text()
    staging = text.index("  staging:\n    image: ")
    # the staging release's image: a tag instead of a digest
    spec.write_text(text[:staging] + text[staging:].replace(pinned, "registry.example.com/nvidia/tritonserver:24.08-py3", 1))
    assert cli("-C", str(work), "render")[0] == 0
    code, out, err = cli("-C", str(work), "check", "--env", "staging")
    assert code == 1, out + err
    assert "[DENY] MO-IMG-001" in out and "tritonserver:24.08-py3' (ServingRuntime) is not pinned" in out
    assert "1 deny" in out


CANARY_V15 = "canaries:\n  staging: {weight: 10, modelVersion: \"15\"}\nreleases:\n"


@pytest.mark.parametrize("edits, message", [
    ([("environments/dev/environment.yaml", "    steps: [10, 50, 100]\n", "    steps: [10, 50]\n")],
     "environments/dev/environment.yaml:"),
    # the chart in staging has no Gateway route to weight a canary
    ([("models/churn-scorer.yaml", "releases:\n", CANARY_V15)], "models/churn-scorer.yaml:"),
    # KServe's canaryTrafficPercent needs Knative: not in RawDeployment mode
    ([("models/shelf-vision.yaml", "releases:\n", CANARY_V15),
      ("environments/staging/environment.yaml", "  target: chart\n", "  target: chart\n  kserveDeploymentMode: RawDeployment\n")],
     "models/shelf-vision.yaml:"),
])
def test_canary_configuration_errors_name_file_and_line(tmp_path, cli, edits, message):
    from tests.conftest import copy_example

    work = copy_example(tmp_path / "repo")
    for path, old, new in edits:
        text = (work / path).read_text()
        assert old in text
        (work / path).write_text(text.replace(old, new, 1))
    code, _, err = cli("-C", str(work), "render")
    assert code == 2 and message in err, err
    assert ("canary steps must rise strictly and end at 100" in err) or ("cannot split traffic" in err)


def test_podmonitors_reach_each_runtimes_metrics_port():
    def endpoint(env: str, model: str) -> dict:
        doc = yaml.safe_load((ROOT / f"environments/{env}/{model}/monitoring/podmonitor.yaml").read_text())
        assert doc["spec"]["podTargetLabels"] == ["modelops.dev/model", "modelops.dev/environment",
                                                  "app.kubernetes.io/version"]
        assert doc["spec"]["scrapeProtocols"] == ["PrometheusText0.0.4"]
        return doc["spec"]["podMetricsEndpoints"][0]
    assert endpoint("prod", "shelf-vision")["portNumber"] == 8002  # chart: Triton's metrics port is declared
    kserve = endpoint("staging", "shelf-vision")  # Knative declares only 8080: rewrite the address to 8002
    assert kserve["portNumber"] == 8080 and kserve["relabelings"][0]["replacement"] == "${1}:8002"
    assert endpoint("prod", "support-chat")["portNumber"] == 8000 and endpoint("prod", "churn-scorer")["portNumber"] == 8080


def test_quality_metric_gets_an_alert_and_a_panel():
    rules = yaml.safe_load((ROOT / "environments/prod/churn-scorer/monitoring/prometheusrule.yaml").read_text())
    quality = [r for r in rules["spec"]["groups"][0]["rules"] if r["alert"] == "ModelQualityDegraded"]
    assert quality and quality[0]["expr"].startswith("max(churn_score_drift_psi{") and quality[0]["expr"].endswith("> 0.3")
    dashboard = yaml.safe_load((ROOT / "environments/prod/churn-scorer/monitoring/dashboard.yaml").read_text())
    panels = json.loads(dashboard["data"]["prod-churn-scorer.json"])["panels"]
    assert any("churn_score_drift_psi" in p["targets"][0]["expr"] for p in panels)
