"""`modelops check`: the example passes; broken specs fail with rule id, file and line in
every format; errors fail closed (exit 2), never pass."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ROOT

CHAT = "models/support-chat.yaml"
DIGEST_IMAGE = "registry.example.com/vllm/vllm-openai@sha256:2c6d2f2dd7c3d5acb2f3b1eaf2a466b4c1b9f2dae5a3c8b7f6e5d4c3b2a19080"


def _line_of(path, needle):
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The example with `latest` in prod and 64 more GPUs than the prod quota allows."""
    from tests.conftest import copy_example

    repo = copy_example(tmp_path_factory.mktemp("broken") / "repo")
    spec = repo / CHAT
    text = spec.read_text()
    prod_release = text.rindex(f"image: {DIGEST_IMAGE}")
    text = text[:prod_release] + "image: registry.example.com/vllm/vllm-openai:latest" + \
        text[prod_release + len(f"image: {DIGEST_IMAGE}"):]
    text = text.replace("perNode: 8, nodes: 2}", "perNode: 8, nodes: 24}")
    spec.write_text(text)
    return repo


def test_example_repository_passes(cli):
    code, out, err = cli("-C", str(ROOT), "check")
    assert code == 0, out + err
    assert "Policy check passed" in out


def _findings_json(cli, repo, *extra):
    code, out, _err = cli("-C", str(repo), "check", "--format", "json", *extra)
    return code, json.loads(out)


def test_broken_spec_fails_with_rule_file_and_line(broken, cli):
    code, report = _findings_json(cli, broken)
    assert code == 1
    latest_line = _line_of(broken / CHAT, "vllm-openai:latest")
    gpu_line = _line_of(broken / CHAT, "nodes: 24")
    by_rule = {}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule"], []).append(finding)
    latest = [f for f in by_rule["MO-IMG-002"] if f["environment"] == "prod"]
    assert latest and all(f["file"] == CHAT and f["line"] == latest_line for f in latest)
    assert all(f["level"] == "deny" for f in latest)
    quota = [f for f in by_rule["MO-GPU-002"] if f["environment"] == "prod" and f["model"] == "support-chat"]
    assert quota and quota[0]["file"] == CHAT and quota[0]["line"] == gpu_line
    assert quota[0]["level"] == "deny"
    assert "quota" in quota[0]["message"]


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit", "github", "markdown"])
def test_every_format_names_rule_file_and_line(broken, cli, fmt):
    code, out, _ = cli("-C", str(broken), "check", "--format", fmt)
    assert code == 1
    line = _line_of(broken / CHAT, "vllm-openai:latest")
    if fmt == "text":
        assert f"{CHAT}:{line}:" in out and "MO-IMG-002" in out
    elif fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        hits = [r for r in results if r["ruleId"] == "MO-IMG-002"]
        location = hits[0]["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == CHAT and location["region"]["startLine"] == line
    elif fmt == "junit":
        root = ET.fromstring(out)
        failures = [f for f in root.iter("failure") if "MO-IMG-002" in (f.get("message", "") + (f.text or ""))]
        assert failures and any(f"{CHAT}:{line}" in (f.text or "") for f in failures)
    elif fmt == "github":
        assert f"::error file={CHAT},line={line}" in out and "MO-IMG-002" in out
    else:
        assert "<!-- modelops:check -->" in out and "MO-IMG-002" in out and f"{CHAT}:{line}" in out


def test_enforcement_warn_in_dev_deny_in_prod(broken, cli):
    _, report = _findings_json(cli, broken)
    quota = {f["environment"]: f["level"] for f in report["findings"] if f["rule"] == "MO-GPU-002"
             and f["model"] == "support-chat"}
    assert quota.get("dev") == "warn" and quota.get("prod") == "deny"


def test_fail_on_warn(example_repo, cli):
    (example_repo / "environments/dev/environment.yaml").write_text(
        (example_repo / "environments/dev/environment.yaml").read_text().replace("quota: 64", "quota: 1"))
    code, _, _ = cli("-C", str(example_repo), "check", "--env", "dev")
    assert code == 0
    code, _, _ = cli("-C", str(example_repo), "check", "--env", "dev", "--fail-on", "warn")
    assert code == 1


def test_waiver_and_expired_waiver(broken, cli, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: MO-IMG-002\n    models: [support-chat]\n    environments: [prod]\n"
                       "    reason: vendor image has no digest yet\n    owner: ml-assist@example.com\n"
                       "    expires: 2030-01-31\n")
    _, report = _findings_json(cli, broken, "--waivers", str(waivers), "--today", "2026-11-27")
    latest = [f for f in report["findings"] if f["rule"] == "MO-IMG-002" and f["environment"] == "prod"]
    assert latest and all(f["waived"] for f in latest)
    _, report = _findings_json(cli, broken, "--waivers", str(waivers), "--today", "2030-02-01")
    assert any(f["rule"] == "MO-WAIVER-EXPIRED" and f["level"] == "deny" for f in report["findings"])


def test_checks_committed_output_with_rendered(example_repo, cli):
    values = example_repo / "environments/prod/support-chat/serving/values.yaml"
    values.write_text(values.read_text().replace("registry.example.com/vllm", "docker.io/vllm"))
    code, report = _findings_json(cli, example_repo, "--rendered", "--env", "prod")
    assert code == 1
    assert any(f["rule"] == "MO-IMG-003" for f in report["findings"])
    code, _ = _findings_json(cli, example_repo, "--env", "prod")
    assert code == 0


def test_unknown_fields_in_rendered_objects_are_schema_findings(example_repo, cli):
    template = example_repo / "blueprints/templates/app-training.yaml.j2"
    template.write_text(template.read_text().replace("  revisionHistoryLimit: 10", "  revisionHistoryLimt: 10"))
    code, report = _findings_json(cli, example_repo, "--env", "dev")
    assert code == 1
    schema = [f for f in report["findings"] if f["rule"] == "MO-SCHEMA-001"]
    assert schema and "revisionHistoryLimt" in schema[0]["message"]


# -- fail closed ---------------------------------------------------------------------------

def test_policy_that_errors_is_exit_2(example_repo, cli, tmp_path):
    policy = tmp_path / "policies"
    policy.mkdir()
    (policy / "broken.rego").write_text("package team.broken\nimport rego.v1\n"
                                        "deny contains msg if { x := input.kind + 1; msg := sprintf(\"%v\", [x]) }\n")
    code, out, err = cli("-C", str(example_repo), "check", "--env", "dev", "--policy", str(policy))
    assert code == 2, out + err
    assert "team.broken" in err or "broken.rego" in err


def test_unsupported_builtin_is_exit_2(example_repo, cli, tmp_path):
    policy = tmp_path / "policies"
    policy.mkdir()
    (policy / "net.rego").write_text('package team.net\nimport rego.v1\n'
                                     'deny contains "x" if { http.send({"method": "get", "url": "http://127.0.0.1:1"}) }\n')
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev", "--policy", str(policy))
    assert code == 2, err


def test_unreachable_opa_is_exit_2(example_repo, cli):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = cli("-C", str(example_repo), "check", "--env", "dev", "--opa-url", f"http://127.0.0.1:{port}")
    assert code == 2, out + err
    assert "OPA" in err


def test_chart_that_fails_to_render_is_exit_2(example_repo, cli):
    chart = example_repo / "blueprints/charts/model-serving"
    import shutil

    shutil.copytree(ROOT / "blueprints/charts/model-serving", chart, dirs_exist_ok=True)
    (chart / "templates/deployment.yaml").write_text("{{ .Values.nope.missing }}\n")
    code, out, err = cli("-C", str(example_repo), "check", "--env", "dev")
    assert code == 2, out + err
    assert "serving chart failed to render" in err


def test_missing_schema_is_exit_2(example_repo, cli):
    template = example_repo / "blueprints/templates/app-training.yaml.j2"
    template.write_text(template.read_text().replace("kind: Application", "kind: Applicashun"))
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev")
    assert code == 2
    assert "no schema for Applicashun" in err


def test_a_kubernetes_version_without_schemas_is_exit_2_where_it_was_written(example_repo, cli):
    """`1.9` sorted after `1.37` as a string: such an environment was checked against the
    newest schemas, and passed. Now each place a version is written is named."""
    env = example_repo / "environments/dev/environment.yaml"
    env.write_text(env.read_text().replace('kubernetesVersion: "1.33"', 'kubernetesVersion: "1.9"'))
    line = _line_of(env, "kubernetesVersion")
    for extra in ((), ("--no-cache",)):
        code, out, err = cli("-C", str(example_repo), "check", "--env", "dev", *extra)
        assert (code, out) == (2, ""), out + err
        assert err.startswith(f"modelops: error: environments/dev/environment.yaml:{line}:20: kubernetesVersion: "
                              "Kubernetes 1.9 is older than the schemas modelops has"), err
    assert cli("-C", str(example_repo), "check", "--env", "dev", "--kubernetes-version", "1.33")[0] == 0
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev", "--kubernetes-version", "1.99")
    assert code == 2 and err.startswith("modelops: error: --kubernetes-version: Kubernetes 1.99 is newer"), err
    (example_repo / ".modelops.yaml").write_text('failOn: deny\nkubernetesVersion: "1.99"\n')
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev")
    assert code == 2 and err.startswith("modelops: error: .modelops.yaml:2:20: kubernetesVersion: Kubernetes 1.99 "
                                        "is newer than the schemas modelops has"), err


def test_unloadable_schema_dir_is_exit_2(example_repo, cli, tmp_path):
    bad = tmp_path / "schemas" / "argoproj.io"
    bad.mkdir(parents=True)
    (bad / "application_v1alpha1.json").write_text("{not json")
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev", "--schema-dir", str(tmp_path / "schemas"))
    assert code == 2 and "cannot load schema" in err


def test_gatekeeper_constraints_run_in_check(example_repo, cli, tmp_path):
    """The Gatekeeper library fixtures (v0 Rego templates) against the rendered objects."""
    import shutil

    library = tmp_path / "gatekeeper"
    shutil.copytree(ROOT / "tests/fixtures/gatekeeper/library", library)
    code, report = _findings_json(cli, example_repo, "--env", "prod", "--gatekeeper", str(library))
    gatekeeper = [f for f in report["findings"] if f["source"] == "gatekeeper"]
    code_clean, _ = _findings_json(cli, example_repo, "--env", "prod")
    assert code_clean == 0
    # Every violation is located in a model spec (or an environment file), never lost.
    for finding in gatekeeper:
        assert finding["rule"].count("/") == 1 and finding["environment"] == "prod"
        assert finding["file"].startswith(("models/", "environments/"))
    required = [f for f in gatekeeper if f["rule"] == "K8sRequiredLabels/deployments-have-owner"]
    assert {f["model"] for f in required} == {"support-chat", "churn-scorer", "shelf-vision"}
    assert all(f["level"] == "deny" and f["resource_kind"] == "Deployment" for f in required)
    assert code == 1


def test_plan_that_cannot_fit_is_a_finding(example_repo, cli):
    spec = example_repo / "models/shelf-vision.yaml"
    text = spec.read_text().replace("architecture: {parameters: 86000000}", "architecture: {parameters: 7000000000}")
    text = text.replace("gpus: {type: nvidia-a100-80gb, perNode: 4}", "gpus: {type: nvidia-l4, perNode: 1}")
    spec.write_text(text)
    code, report = _findings_json(cli, example_repo, "--env", "dev", "--fail-on", "warn")
    capacity = [f for f in report["findings"] if f["rule"] == "MO-CAP-001"]
    assert code == 1 and capacity
    assert "does not fit" in capacity[0]["message"] or "fit" in capacity[0]["message"]
    assert capacity[0]["file"] == "models/shelf-vision.yaml"


def test_builtin_policy_library_tests_pass(cli):
    code, out, _ = cli("policy", "test", str(ROOT / "policies"))
    assert code == 0
    summary = out.strip().splitlines()[-1]
    total, passed = int(summary.split()[0]), int(summary.split(", ")[1].split()[0])
    assert total == passed and total >= 2 * 15


def test_a_spec_nested_past_the_depth_limit_is_exit_2_with_its_line(example_repo, cli):
    """A spec nesting 990 levels (libyaml's limit is 1,000) ended `check` and `render` in a
    RecursionError traceback (exit 3)."""
    spec = example_repo / CHAT
    spec.write_text(spec.read_text() + "zz: " + "[" * 990 + "]" * 990 + "\n")
    line = len(spec.read_text().splitlines())
    for command in ("check", "render"):
        code, out, err = cli("-C", str(example_repo), command)
        assert (code, out) == (2, "") and err == (f"modelops: error: {CHAT}:{line}:133: zz[0]...: nested deeper "
                                                  "than 128 levels; refusing to load\n"), err


def test_a_scheduled_model_whose_cron_workflow_name_argo_refuses_fails(example_repo, cli):
    """Argo's controller refuses a CronWorkflow named past 52 characters, which the CRD
    schema does not limit: a 45-character scheduled model passed `check` and its weekly
    training never ran. 43 characters (`<model>-training` is 52) still pass."""
    def renamed(name):
        for old in (example_repo / "models").glob("support-chat*.yaml"):
            text = old.read_text()
            old.unlink()
        current = text.split("\n  name: ", 1)[1].split("\n", 1)[0]
        text = text.replace(f"name: {current}\n", f"name: {name}\n", 1)
        # one node: a multi-node run's pod names limit the name further (generator.spec.names)
        (example_repo / "models" / f"{name}.yaml").write_text(text.replace("nodes: 2}", "nodes: 1}"))

    renamed("support-chat-assistant-for-enterprise-ticke")  # 43
    code, report = _findings_json(cli, example_repo)
    assert code == 0 and not [f for f in report["findings"] if f["rule"] == "MO-TRN-007"]
    renamed("support-chat-assistant-for-enterprise-tickets")  # 45
    code, report = _findings_json(cli, example_repo)
    found = [f for f in report["findings"] if f["rule"] == "MO-TRN-007"]
    assert code == 1 and {f["environment"] for f in found if f["level"] == "deny"} == {"staging", "prod"}
    assert all("has 54 characters; Argo Workflows refuses more than 52" in f["message"] for f in found)


def test_a_raw_deployment_inference_service_whose_host_kserve_cannot_name_fails(example_repo, cli):
    """In RawDeployment mode KServe names the predictor's host `<name>-predictor-<namespace>`
    (its default domainTemplate) and refuses one past 63 characters: a 43-character KServe
    model in `ml-staging` passed `check` and never became ready. 42 characters still pass,
    and the same name in Serverless mode passes."""
    env = example_repo / "environments" / "staging" / "environment.yaml"
    serverless = env.read_text()
    env.write_text(serverless.replace("serving:\n  target: chart\n",
                                      "serving:\n  target: chart\n  kserveDeploymentMode: RawDeployment\n", 1))

    def renamed(name):
        old = next((example_repo / "models").glob("shelf-vision*.yaml"))
        text = old.read_text()
        old.unlink()
        current = text.split("\n  name: ", 1)[1].split("\n", 1)[0]
        (example_repo / "models" / f"{name}.yaml").write_text(text.replace(f"name: {current}\n", f"name: {name}\n", 1))

    fits, too_long = "shelf-vision-for-every-store-in-the-region", "shelf-vision-for-every-store-in-the-regions"
    assert (len(fits), len(too_long)) == (42, 43)
    renamed(fits)
    code, report = _findings_json(cli, example_repo)
    assert code == 0 and not [f for f in report["findings"] if f["rule"] == "MO-SRV-007"], report["findings"]
    renamed(too_long)
    code, report = _findings_json(cli, example_repo)
    found = [f for f in report["findings"] if f["rule"] == "MO-SRV-007"]
    assert code == 1 and [(f["environment"], f["level"], f["resource_kind"]) for f in found] == \
        [("staging", "deny", "InferenceService")], found
    assert f"'{too_long}-predictor-ml-staging' (KServe's default domainTemplate), 64 characters" in found[0]["message"]
    env.write_text(serverless)
    code, report = _findings_json(cli, example_repo)
    assert not [f for f in report["findings"] if f["rule"] == "MO-SRV-007"]
