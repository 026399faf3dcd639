"""CEL rules (`x-kubernetes-validations`) of the vendored CRDs, one family at a time, in
`check` and in `validate`: an object the API server would reject fails with the rule's
message, file and line; a rule the library cannot evaluate never passes silently."""
from __future__ import annotations

import copy
import gzip
import json

import pytest
import yaml

from generator.validate.cel import build_plan, evaluate_plan
from generator.validate.schemas import VENDORED_CRDS, SchemaRegistry
from tests.conftest import CONFORMANCE, ROOT

WORKFLOW_TEMPLATE = "environments/dev/shelf-vision/training/workflowtemplate.yaml"


def _messages(document):
    return [v.message for v in SchemaRegistry("1.33").validate(document) if v.source.startswith("cel")]


def _jobset(**spec):
    job = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}
    return {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js"},
            "spec": {"replicatedJobs": [{"name": "a", "replicas": 1, "template": job},
                                        {"name": "b", "replicas": 1, "template": copy.deepcopy(job)}], **spec}}


def test_jobset_startup_policy_and_depends_on_are_exclusive():
    valid = _jobset(startupPolicy={"startupPolicyOrder": "InOrder"})
    assert _messages(valid) == []
    broken = copy.deepcopy(valid)
    broken["spec"]["replicatedJobs"][1]["dependsOn"] = [{"name": "a", "status": "Ready"}]
    assert _messages(broken) == ["StartupPolicy and DependsOn APIs are mutually exclusive"]
    # the same object without InOrder is accepted: the rule, not the field, decides
    broken["spec"]["startupPolicy"]["startupPolicyOrder"] = "AnyOrder"
    assert _messages(broken) == []


def test_jobset_volume_claim_template_namespace_and_transition_rule():
    claim = {"metadata": {"name": "data", "namespace": "other"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    broken = _jobset(volumeClaimPolicies=[{"templates": [claim]}], failurePolicy={"maxRestarts": 2})
    # `self == oldSelf` (failurePolicy immutable) is a transition rule: skipped on create, as the API server does
    assert _messages(broken) == ["namespace cannot be set for VolumeClaimPolicies templates"]


def _workflow_template():
    return yaml.safe_load((ROOT / WORKFLOW_TEMPLATE).read_text())


def test_argo_workflows_rules():
    document = _workflow_template()
    assert _messages(document) == []
    document["spec"]["templates"][0]["script"] = {"image": "busybox", "source": "true"}
    document["spec"]["templates"].append({"name": "fan", "dag": {"tasks": [
        {"name": "1st", "template": "train", "depends": "x", "dependencies": ["x"]}]}})
    assert sorted(_messages(document)) == sorted([
        "template must have at most one template type", "cannot use both 'depends' and 'dependencies'",
        "task name cannot begin with a digit when using 'depends' or 'dependencies'"])


ARGO_CD_RULE = {"rule": "!(has(self.source) && has(self.sources))", "message": "use source or sources, not both"}


def _argocd_crd_with_rule(tmp_path):
    schema = json.loads(gzip.decompress((VENDORED_CRDS / "argoproj.io_application_v1alpha1.json.gz").read_bytes()))
    assert build_plan(schema) is None  # upstream Argo CD CRDs carry no CEL rule today
    schema["properties"]["spec"]["x-kubernetes-validations"] = [ARGO_CD_RULE]
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "applications.argoproj.io"},
           "spec": {"group": "argoproj.io", "names": {"kind": "Application"},
                    "versions": [{"name": "v1alpha1", "schema": {"openAPIV3Schema": schema}}]}}
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "application.yaml").write_text(yaml.safe_dump(crd))
    return folder


def test_argo_cd_application_rule_from_schema_dir(tmp_path, cli):
    """Argo CD's CRDs carry no rules; a CRD that does (an in-house fork, a newer release) is enforced."""
    folder = _argocd_crd_with_rule(tmp_path)
    app = yaml.safe_load((ROOT / "environments/dev/shelf-vision/app-serving.yaml").read_text())
    assert SchemaRegistry("1.33", [folder]).validate(app) == []
    app["spec"]["sources"] = [copy.deepcopy(app["spec"].get("source") or app["spec"]["sources"][0])]
    app["spec"].setdefault("source", app["spec"]["sources"][0])
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump(app, sort_keys=False))
    code, out, _ = cli("validate", "--schema-dir", str(folder), str(manifest))
    assert code == 1
    line = next(n for n, text in enumerate(manifest.read_text().splitlines(), 1) if text.startswith("spec:"))
    assert f"app.yaml:{line}:1 - Application " in out and "use source or sources, not both" in out


def test_unevaluable_rule_is_reported_not_passed():
    plan = build_plan({"type": "object", "properties": {"size": {"type": "string"}},
                       "x-kubernetes-validations": [{"rule": "isQuantity(self.size)", "message": "bad size"}]})
    found = list(evaluate_plan(plan, {"size": "1Gi"}))
    assert len(found) == 1 and found[0].unevaluable and "isQuantity" in found[0].message


def test_missing_key_in_rule_rejects_like_the_api_server():
    plan = build_plan({"type": "object", "x-kubernetes-validations": [{"rule": "self.a > 1", "message": "a > 1"}]})
    [violation] = evaluate_plan(plan, {})
    assert not violation.unevaluable and "no such key: a" in violation.message


@pytest.mark.skipif(not (CONFORMANCE / "crds" / "kserve").is_dir(), reason="shared conformance CRDs not present")
def test_kserve_llm_inference_service_rules_compile_and_run():
    """The richest rule set in the shared CRDs (duration(), filter, exists_one, raw strings) compiles."""
    docs = yaml.safe_load_all((CONFORMANCE / "crds/kserve/serving.kserve.io_llminferenceservices.yaml").read_text())
    crd = next(d for d in docs if d and d.get("kind") == "CustomResourceDefinition")
    plan = build_plan(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    rules, stack = [], [plan]
    while stack:
        node = stack.pop()
        rules += node.rules
        stack += [*node.properties.values(), *(n for n in (node.items, node.additional) if n)]
    assert len(rules) > 40 and all(rule.program is not None for rule in rules)


def test_check_reports_cel_rule_with_spec_file_and_line(example_repo, cli):
    path = example_repo / WORKFLOW_TEMPLATE
    text = path.read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    document = yaml.safe_load(text)
    document["spec"]["templates"][0]["script"] = {"image": "busybox", "source": "true"}
    path.write_text(header + yaml.safe_dump(document, sort_keys=False))
    code, out, err = cli("-C", str(example_repo), "check", "--rendered", "--format", "json", "--env", "dev",
                         "--model", "shelf-vision")
    assert code == 1, err
    findings = [f for f in json.loads(out)["findings"] if f["rule"] == "MO-CEL-001"]
    assert [f["message"] for f in findings] == [
        "WorkflowTemplate shelf-vision-training: spec.templates: template must have at most one template type"]
    assert findings[0]["file"] == "models/shelf-vision.yaml" and findings[0]["line"] > 1
    assert findings[0]["rendered_file"] == WORKFLOW_TEMPLATE


def test_vendored_cel_index_is_current():
    """The index `check` builds CEL plans from lists every rule of the vendored CRDs."""
    from generator.validate.cel import rule_paths
    from generator.validate.schemas import CEL_INDEX

    index = json.loads(CEL_INDEX.read_text())
    for path in sorted(VENDORED_CRDS.glob("*.json.gz")):
        schema = json.loads(gzip.decompress(path.read_bytes()))
        assert index.get(path.name, []) == rule_paths(schema), path.name
    assert "jobset.x-k8s.io_jobset_v1alpha2.json.gz" in index


def _route(rule: dict) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule]}}


def test_schema_defaults_apply_before_cel_rules_as_the_api_server_does():
    """HTTPRoute's rules read `matches` and a backendRef's `kind`, both defaulted by the
    schema: without the defaults a valid route was reported (rule error: no such key)."""
    assert _messages(_route({"backendRefs": [{"name": "svc", "port": 8080, "weight": 90}]})) == []
    # the default kind is Service, and a Service reference needs a port: a real rejection
    assert _messages(_route({"backendRefs": [{"name": "svc", "weight": 90}]})) == [
        "Must have port for Service reference"]


def test_kubernetes_own_types_carry_no_rules_yet():
    """Kubernetes' own schemas reach rules only through `$ref`s, which the CEL plan does not
    follow: this fails the day kubernetes-validate ships a built-in type with rules."""
    import kubernetes_validate.utils as kv

    version = max(kv.all_versions(), key=kv.major_minor)
    definitions = kv.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    carrying = [name for name, schema in definitions["$defs"].items()
                if "x-kubernetes-validations" in json.dumps(schema)
                and not name.startswith("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.")]
    assert carrying == []


def test_rules_at_one_node_share_self_and_each_keeps_its_verdict():
    """Several rules at one node see one converted `self`; each still passes, fails, or
    errors on its own, in the schema's order."""
    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.size == 1", "message": "passes"},
        {"rule": "self.size == 2", "message": "size must be 2"},
        {"rule": "self.missing == 1", "message": "reads a missing field"},
        {"rule": "self.size / 0 == 1", "message": "divides by zero"}]}
    violations = list(evaluate_plan(build_plan(schema), {"size": 1}))
    assert [v.message.split(" (rule error")[0] for v in violations] == \
        ["size must be 2", "reads a missing field", "divides by zero"]
    assert "no such key: missing" in violations[1].message and not any(v.unevaluable for v in violations)
