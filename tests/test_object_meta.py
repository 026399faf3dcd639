"""Names, labels and annotations as the API server checks them, whatever the schema says.

A schema types labels and annotations as maps of strings; the API server refuses a label
value of 64 characters, an annotation key with a space, a custom resource named with an
underscore. Before, `check` and `validate` passed all of these."""
from __future__ import annotations

import json

import pytest

from generator.validate.object_meta import label_value, metadata_problems, path_segment, qualified_name
from tests.conftest import write_files


@pytest.mark.parametrize("key", ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
                                 "now-with-dashes/simple", "now-with-dashes/now-with-dashes",
                                 "now.with.dots/simple", "now-with.dashes-and.dots/simple",
                                 "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
                                 "example.com/Uppercase_Is_OK_123", "requests.storage-foo",
                                 "a" * 63, "a" * 253 + "/" + "b" * 63])
def test_label_keys_the_api_server_accepts(key):
    assert qualified_name(key) == ()


@pytest.mark.parametrize("key", ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-",
                                 "only/one/slash", "Example.com/abc", "example_com/abc", "example.com/",
                                 "/simple", "a" * 64, "a" * 254 + "/abc", "bad key!", ""])
def test_label_keys_the_api_server_refuses(key):
    assert qualified_name(key) != ()


def test_label_values():
    for good in ("", "simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63,
                 "Uppercase_Is_OK_123"):
        assert label_value(good) == (), good
    for bad in ("nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad", "-starts",
                "ends-", "a" * 64, "has space", "cc-2210-"):
        assert label_value(bad) != (), bad


def test_rbac_names_are_path_segments_and_annotation_keys_ignore_case():
    assert path_segment("system:controller:foo") == ()
    assert path_segment("a/b") and path_segment("..") and path_segment("50%")
    cluster_role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "system:aggregate-to-view",
                                 "annotations": {"Example.COM/Owner": "ml-platform"}}}
    assert metadata_problems(cluster_role, custom_resource=False) == []


def test_name_rules_by_kind():
    def named(api_version, kind, name, custom=False):
        document = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
        return [path for path, _ in metadata_problems(document, custom)]

    assert named("v1", "Service", "3d-vision") == [("metadata", "name")]  # a DNS-1035 label starts with a letter
    assert named("v1", "ConfigMap", "3d-vision") == []
    assert named("v1", "Namespace", "team.ml") == [("metadata", "name")]  # a DNS-1123 label has no dots
    assert named("argoproj.io/v1alpha1", "Application", "dev.churn-scorer", custom=True) == []
    assert named("argoproj.io/v1alpha1", "Application", "churn_Scorer", custom=True) == [("metadata", "name")]
    assert named("argoproj.io/v1alpha1", "Application", "a" * 254, custom=True) == [("metadata", "name")]


def test_pod_template_labels_and_the_annotation_size_limit():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"template": {"metadata": {"labels": {"tier": "gold plated"}}}}}
    assert [path for path, _ in metadata_problems(deployment, False)] == \
        [("spec", "template", "metadata", "labels", "tier")]
    big = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "big", "annotations": {"a": "x" * (256 * 1024 - 3), "b": "y"}}}
    assert metadata_problems(big, False) == []  # keys and values: exactly 256 KiB is allowed
    big["metadata"]["annotations"]["b"] = "yy"
    problems = metadata_problems(big, False)
    assert [path for path, _ in problems] == [("metadata", "annotations")]
    assert "262145" in problems[0][1]


BAD_META = """\
apiVersion: v1
kind: Service
metadata:
  name: 3d-vision
spec:
  ports:
    - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    "owner team": ml
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels:
        app: web
        costCenter: "cc-2210-"
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: Train_Churn
spec:
  templates:
    - name: main
      container:
        image: busybox:1.36
"""


def test_validate_reports_metadata_problems_at_their_lines(tmp_path, cli):
    write_files(tmp_path, {"bad.yaml": BAD_META})
    code, out, _ = cli("validate", str(tmp_path / "bad.yaml"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{tmp_path}/bad.yaml:4:3 - Service 3d-vision is invalid: metadata.name: "
                               "Invalid value: '3d-vision': a DNS-1035 label")
    assert lines[1].startswith(f"{tmp_path}/bad.yaml:14:5 - Deployment web is invalid: "
                               "metadata.annotations.owner team: Invalid value: 'owner team': name part")
    assert lines[2].startswith(f"{tmp_path}/bad.yaml:22:9 - Deployment web is invalid: "
                               "spec.template.metadata.labels.costCenter: Invalid value: 'cc-2210-'")
    assert lines[3].startswith(f"{tmp_path}/bad.yaml:31:3 - WorkflowTemplate Train_Churn is invalid: metadata.name: "
                               "Invalid value: 'Train_Churn': a lowercase RFC 1123 subdomain")
    assert len(lines) == 4


def _team_podmonitor(repo, edit):
    """The `assistants` team's own PodMonitor blueprint, `edit` applied to the shared one."""
    shared = (repo / "blueprints/templates/monitoring-podmonitor.yaml.j2").read_text()
    team = repo / "blueprints/teams/assistants/monitoring-podmonitor.yaml.j2"
    team.parent.mkdir(parents=True, exist_ok=True)
    team.write_text(edit(shared))
    assert team.read_text() != shared


def test_check_refuses_a_team_blueprint_whose_labels_the_api_server_refuses(example_repo, cli):
    _team_podmonitor(example_repo, lambda text: text.replace(
        "  labels: {{ monitoring.labels | json }}",
        "  labels:\n    tier: gold plated\n  annotations:\n    \"owner team\": ml", 1).replace(
        "  name: {{ model.name | q }}", "  name: {{ (model.name ~ '_monitor') | q }}", 1))
    code, out, err = cli("-C", str(example_repo), "check", "--env", "dev", "--format", "json")
    assert code == 1, err
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "MO-SCHEMA-002"]
    assert {(f["resource_kind"], f["message"].split(": Invalid value")[0]) for f in found} == {
        ("PodMonitor", "PodMonitor support-chat_monitor: metadata.name"),
        ("PodMonitor", "PodMonitor support-chat_monitor: metadata.annotations.owner team"),
        ("PodMonitor", "PodMonitor support-chat_monitor: metadata.labels.tier")}
    assert all(f["model"] == "support-chat" and f["level"] == "deny" for f in found)


def test_the_example_repository_has_no_metadata_problem(example_repo, cli):
    code, out, err = cli("-C", str(example_repo), "check", "--no-cache", "--format", "json")
    assert code == 0, err
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "MO-SCHEMA-002"]


def test_metadata_of_what_argo_and_jobset_create_is_checked_without_their_expressions():
    """Argo gives a template's `metadata` (and `podMetadata`) to the pod it creates, JobSet
    its templates' to the Jobs and pods: the API server refuses those when the run starts."""
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "train"},
                "spec": {"podMetadata": {"labels": {"run": "{{workflow.name}}", "owner": "ml team"}},
                         "templates": [{"name": "a"}, {"name": "b", "metadata": {"annotations": {"bad key!": "x"}}}]}}
    assert [path for path, _ in metadata_problems(workflow, True)] == [
        ("spec", "podMetadata", "labels", "owner"), ("spec", "templates", 1, "metadata", "annotations", "bad key!")]
    cron = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "nightly"},
            "spec": {"workflowSpec": {"podMetadata": {"labels": {"tier": "-gold"}}}}}
    problems = metadata_problems(cron, True)
    assert [path for path, _ in problems] == [("spec", "workflowSpec", "podMetadata", "labels", "tier")]
    assert "in what the CronWorkflow's controller creates" in problems[0][1]
    jobset = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "{{workflow.name}}"},
              "spec": {"replicatedJobs": [{"name": "workers", "template": {"spec": {"template": {"metadata": {
                  "labels": {"modelops.dev/model": "x" * 64}}}}}}]}}
    assert [path for path, _ in metadata_problems(jobset, True, templated=True)] == [
        ("spec", "replicatedJobs", 0, "template", "spec", "template", "metadata", "labels", "modelops.dev/model")]


def test_check_refuses_pod_labels_a_team_workflow_blueprint_gives_its_runs(example_repo, cli):
    """A team blueprint labelling its training pods `owner: ml team` synced green; every run
    failed when Argo created its first pod."""
    shared = (example_repo / "blueprints/templates/training-workflowtemplate.yaml.j2").read_text()
    team = example_repo / "blueprints/teams/assistants/training-workflowtemplate.yaml.j2"
    team.parent.mkdir(parents=True)
    team.write_text(shared.replace("    labels: {{ pod_labels | json }}",
                                   "    labels: {{ pod_labels | json }}\n    annotations: {\"run by\": \"{{ '{{' }}workflow.name}}\"}", 1))
    assert team.read_text() != shared
    code, out, err = cli("-C", str(example_repo), "check", "--env", "dev", "--format", "json")
    assert code == 1, err
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "MO-SCHEMA-002"]
    assert [f["message"].split(": Invalid value")[0] for f in found] == \
        ["WorkflowTemplate support-chat-training: spec.podMetadata.annotations.run by"]
    assert "in what the WorkflowTemplate's controller creates" in found[0]["message"]


def test_a_built_in_kind_from_a_schema_dir_keeps_its_own_name_rule(tmp_path, cli):
    """A `--schema-dir` may carry schemas for Kubernetes' own kinds (kubeconform's layout);
    such a kind is not a custom resource, and an RBAC name with colons is valid."""
    write_files(tmp_path, {
        "schemas/role-rbac-v1.json": json.dumps({"type": "object"}),
        "role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n"
                     "  name: system:aggregate-to-view\n  namespace: ml\n"})
    code, out, _ = cli("validate", "--schema-dir", str(tmp_path / "schemas"), str(tmp_path / "role.yaml"))
    assert code == 0, out
    write_files(tmp_path, {"role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n"
                                        "  name: team/view\n  namespace: ml\n"})
    code, out, _ = cli("validate", "--schema-dir", str(tmp_path / "schemas"), str(tmp_path / "role.yaml"))
    assert code == 1 and "may not contain '/'" in out


def test_a_namespace_is_checked_where_the_kind_is_namespaced():
    def namespaced(api_version, kind, custom=False):
        document = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "ML_Team"}}
        return [path for path, _ in metadata_problems(document, custom)]

    assert namespaced("v1", "ConfigMap") == [("metadata", "namespace")]
    assert namespaced("monitoring.coreos.com/v1", "PodMonitor", custom=True) == [("metadata", "namespace")]
    # the API server clears a namespace sent with a cluster-scoped object
    assert namespaced("rbac.authorization.k8s.io/v1", "ClusterRole") == []
    assert namespaced("kueue.x-k8s.io/v1beta1", "ClusterQueue", custom=True) == []
