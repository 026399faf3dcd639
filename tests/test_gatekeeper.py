"""Gatekeeper ConstraintTemplates/Constraints evaluated offline, and `modelops policy verify` (gator suites)."""
from __future__ import annotations

import re

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ModelopsError
from generator.policy.engines import installed_engines
from generator.policy.gatekeeper import (
    ConstraintSchemaError,
    admission_request,
    load_gatekeeper,
    matches,
    read_documents,
    review_input,
)
from generator.policy.gator_verify import Assertion, verify_suites

FIXTURES = Path(__file__).parent / "fixtures" / "gatekeeper"
LIBRARY = FIXTURES / "library"
SUITES = FIXTURES / "suites"


def workloads() -> list[dict[str, Any]]:
    return [doc.data for doc in read_documents(FIXTURES / "objects" / "workloads.yaml")]


def by_name(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def library():
    return load_gatekeeper(LIBRARY)


# -- evaluation of the v0 library ------------------------------------------------------------

def test_v0_templates_give_exactly_the_expected_violations(library) -> None:
    found = {(v.constraint_name, f"{v.kind}/{v.name}", v.enforcement_action, v.msg) for v in library.evaluate(workloads())}
    assert found == {
        ("deployments-have-owner", "Deployment/chat-bad", "deny",
         "label <owner: Bob> does not match ^[a-z.-]+@example\\.com$"),
        ("deployments-have-owner", "Deployment/batch-job", "deny", 'you must provide labels: {"owner"}'),
        ("prod-namespaces-have-cost-center", "Deployment/chat-bad", "warn",
         "workloads in prod namespaces need a cost-center label"),
        ("ml-images-from-our-registry", "Deployment/chat-bad", "deny",
         'container <trainer> has an invalid image repo <docker.io/someone/trainer:latest>, '
         'allowed repos are ["registry.example.com/"]'),
        ("ml-images-from-our-registry", "Pod/debug", "deny",
         'container <shell> has an invalid image repo <docker.io/library/busybox:1.36>, '
         'allowed repos are ["registry.example.com/"]'),
        ("at-most-two-gpus", "Deployment/chat-bad", "dryrun", "container trainer asks for 4 x nvidia.com/gpu, more than 2"),
        ("at-most-two-gpus", "Deployment/chat-bad", "dryrun", "container trainer sets a nvidia.com/gpu limit without a request"),
        ("service-account-exists", "Deployment/chat-bad", "deny",
         "service account missing-sa does not exist in namespace ml-prod"),
    }


def test_templates_load_as_written_and_keep_their_line_numbers(library) -> None:
    template = library.templates["K8sRequiredLabels"]
    main = template.modules[0]
    assert "violation[{" in main.source  # Rego v0, not rewritten
    yaml_lines = (LIBRARY / "templates" / "k8srequiredlabels.yaml").read_text().splitlines()
    rego_lines = main.source.splitlines()
    line = next(i for i, text in enumerate(yaml_lines) if "package k8srequiredlabels" in text)
    assert rego_lines[line].strip() == "package k8srequiredlabels"


def test_details_and_libs(library) -> None:
    found = library.evaluate(workloads())
    missing = next(v for v in found if v.name == "batch-job")
    assert missing.details == {"missing_labels": ["owner"]}
    gpu = next(v for v in found if "more than 2" in v.msg)
    assert gpu.details == {"container": "trainer"}
    assert library.templates["K8sGpuLimits"].modules[1].package == "lib.workloads"


def test_enforcement_actions_map_to_levels(library) -> None:
    levels = {(v.constraint_name, v.level) for v in library.evaluate(workloads())}
    assert ("deployments-have-owner", "deny") in levels
    assert ("prod-namespaces-have-cost-center", "warn") in levels
    assert ("at-most-two-gpus", "info") in levels
    finding = next(v for v in library.evaluate(workloads()) if v.enforcement_action == "dryrun").to_finding(file="x.yaml")
    assert (finding.level, finding.source, finding.rule, finding.resource_kind, finding.file) == \
        ("info", "gatekeeper", "K8sGpuLimits/at-most-two-gpus", "Deployment", "x.yaml")


def test_inventory_holds_the_evaluated_objects(library) -> None:
    objects = workloads()
    good = by_name(objects, "chat-good")
    account = by_name(objects, "chat-sa")
    names = lambda found: {(v.constraint_name, v.name) for v in found}  # noqa: E731
    assert ("service-account-exists", "chat-good") not in names(library.evaluate([good, account]))
    # alone, the ServiceAccount is not in data.inventory: the referential constraint fires
    assert ("service-account-exists", "chat-good") in names(library.evaluate([good]))
    # an explicit inventory replaces the evaluated set
    assert ("service-account-exists", "chat-good") not in names(library.evaluate([good], inventory=[account]))


def test_default_namespace_is_given_to_objects_without_one(library) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "docker.io/x:1"}]}}
    repos = lambda found: [(v.name, v.namespace) for v in found if v.constraint_kind == "K8sAllowedRepos"]  # noqa: E731
    # without a namespace, `namespaces: [ml-*]` cannot disqualify the object (Gatekeeper's rule)
    assert repos(library.evaluate([pod])) == [("p", "")]
    assert repos(library.evaluate([pod], default_namespace="kube-system")) == []
    assert repos(library.evaluate([pod], default_namespace="ml-dev")) == [("p", "ml-dev")]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-x"}}
    assert library.evaluate([namespace], default_namespace="ml-dev") == []


def test_review_input_is_gatekeepers() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}
    document = review_input(obj, {"a": 1}, {"metadata": {"name": "n"}})
    review = document["review"]
    assert review["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert (review["name"], review["namespace"], review["operation"], review["object"]) == ("d", "n", "CREATE", obj)
    assert review["_unstable"] == {"namespace": {"metadata": {"name": "n"}}}
    assert document["parameters"] == {"a": 1}
    assert review_input({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})["parameters"] == {}


# -- match semantics ---------------------------------------------------------------------------

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "chat-a", "namespace": "ml-prod", "labels": {"tier": "serving", "team": "a"}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "kube-system"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1"}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-prod", "labels": {"env": "prod"}}}


@pytest.mark.parametrize(("match", "obj", "expected"), [
    ({}, DEPLOY, True),
    ({"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]}, DEPLOY, True),
    ({"kinds": [{"apiGroups": [""], "kinds": ["Deployment"]}]}, DEPLOY, False),
    ({"kinds": [{"apiGroups": ["*"], "kinds": ["*"]}]}, POD, True),
    ({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}, {"apiGroups": ["apps"], "kinds": ["StatefulSet"]}]}, DEPLOY, False),
    ({"namespaces": ["ml-*"]}, DEPLOY, True),
    ({"namespaces": ["*-prod"]}, DEPLOY, True),
    ({"namespaces": ["ml-dev"]}, DEPLOY, False),
    ({"namespaces": ["ml-dev"]}, NODE, True),  # cluster-scoped objects are not filtered by namespace
    ({"namespaces": ["ml-prod"]}, NAMESPACE, True),  # a Namespace is matched by its own name
    ({"excludedNamespaces": ["kube-*"]}, POD, False),
    ({"excludedNamespaces": ["kube-*"]}, DEPLOY, True),
    ({"labelSelector": {"matchLabels": {"tier": "serving"}}}, DEPLOY, True),
    ({"labelSelector": {"matchLabels": {"tier": "training"}}}, DEPLOY, False),
    ({"labelSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]}}, DEPLOY, True),
    ({"labelSelector": {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}}, DEPLOY, False),
    ({"labelSelector": {"matchExpressions": [{"key": "absent", "operator": "NotIn", "values": ["a"]}]}}, DEPLOY, True),
    ({"labelSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]}}, DEPLOY, True),
    ({"labelSelector": {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}}, DEPLOY, False),
    ({"labelSelector": {}}, POD, True),
    ({"namespaceSelector": {"matchLabels": {"env": "prod"}}}, NAMESPACE, True),
    ({"namespaceSelector": {"matchLabels": {"env": "prod"}}}, DEPLOY, False),  # unknown namespace: empty labels
    ({"namespaceSelector": {"matchLabels": {"env": "prod"}}}, NODE, True),
    ({"scope": "Namespaced"}, DEPLOY, True),
    ({"scope": "Namespaced"}, NODE, False),
    ({"scope": "Cluster"}, NODE, True),
    ({"scope": "Cluster"}, NAMESPACE, True),
    ({"scope": "Cluster"}, DEPLOY, False),
    ({"scope": "*"}, DEPLOY, True),
    ({"name": "chat-*"}, DEPLOY, True),
    ({"name": "chat-b"}, DEPLOY, False),
])
def test_match(match: dict[str, Any], obj: dict[str, Any], expected: bool) -> None:
    assert matches(match, obj) is expected


def test_namespace_selector_uses_the_namespace_object() -> None:
    selector = {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}}
    assert matches(selector, DEPLOY, NAMESPACE)
    assert not matches(selector, DEPLOY, {**NAMESPACE, "metadata": {"name": "ml-prod", "labels": {"env": "dev"}}})


def test_match_filters_the_library(library) -> None:
    found = {(v.constraint_name, v.name) for v in library.evaluate(workloads())}
    assert ("deployments-have-owner", "coredns") not in found  # excludedNamespaces kube-*
    assert ("ml-images-from-our-registry", "batch-job") not in found  # labelSelector DoesNotExist
    assert ("ml-images-from-our-registry", "coredns") not in found  # namespaces ml-*
    assert ("service-account-exists", "batch-job") not in found  # name chat-*
    assert not [n for c, n in found if c == "prod-namespaces-have-cost-center" and n != "chat-bad"]


# -- failing closed ----------------------------------------------------------------------------

TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: {name}
spec:
  crd:
    spec:
      names:
        kind: {kind}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
{rego}
"""
GOOD_REGO = 'package k8sdemo\nviolation[{"msg": "always"}] {\n  true\n}\n'


def template(tmp_path: Path, *, name: str = "k8sdemo", kind: str = "K8sDemo", rego: str = GOOD_REGO,
             constraint: str = "") -> Path:
    indented = "\n".join("        " + line if line else "" for line in rego.splitlines())
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(name=name, kind=kind, rego=indented))
    if constraint:
        (tmp_path / "constraint.yaml").write_text(constraint)
    return tmp_path


def constraint(kind: str = "K8sDemo", spec: str = "{}") -> str:
    return f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: demo\nspec: {spec}\n"


def test_a_valid_tmp_template_works(tmp_path: Path) -> None:
    gk = load_gatekeeper(template(tmp_path, constraint=constraint()))
    found = gk.evaluate([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    assert [(v.msg, v.level) for v in found] == [("always", "deny")]


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"rego": 'package k8sdemo\nviolation[{"msg": m}] {\n  m := concat("", ["a"]\n}\n'}, r"template\.yaml:1[3-6]:"),
    ({"name": "k8sother"}, "must be the lowercase of its kind"),
    ({"rego": "package k8sdemo\ndeny[msg] {\n  msg := \"x\"\n}\n"}, "no `violation` rule"),
    ({"rego": "package k8sdemo\nviolation[{\"msg\": m}] {\n  m := http.send({})\n}\n",
      "constraint": constraint()}, "http.send|unknown|not supported|builtin"),
    ({"constraint": constraint(kind="K8sMissing")}, "no ConstraintTemplate defines kind K8sMissing"),
    ({"constraint": constraint(spec="{enforcementAction: block}")}, "enforcementAction 'block'"),
    ({"constraint": constraint(spec="{match: {labelSelector: {matchExpressions: [{key: a, operator: Has}]}}}")},
     "operator 'Has'"),
    ({"constraint": constraint(spec="{match: {labelSelector: {matchExpressions: [{key: a, operator: In}]}}}")},
     "needs a non-empty `values`"),
])
def test_invalid_policies_fail_closed(tmp_path: Path, kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(ModelopsError, match=error):
        gk = load_gatekeeper(template(tmp_path, **kwargs))
        gk.evaluate([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])


def test_parameters_are_checked_against_the_schema() -> None:
    with pytest.raises(ConstraintSchemaError, match=r"spec.parameters.repos: .* is not of type 'array'"):
        load_gatekeeper([LIBRARY / "templates", SUITES / "passing" / "samples" / "invalid-repos-constraint.yaml"])


def test_cel_only_templates_and_bad_libs_are_refused(tmp_path: Path) -> None:
    cel = (LIBRARY / "templates" / "k8sgpulimits.yaml").read_text()
    only_cel = cel[:cel.index("        - engine: Rego")]
    (tmp_path / "cel.yaml").write_text(only_cel)
    with pytest.raises(ModelopsError, match="K8sNativeValidation, which modelops cannot evaluate"):
        load_gatekeeper(tmp_path)
    (tmp_path / "cel.yaml").write_text(cel.replace("package lib.workloads", "package workloads"))
    with pytest.raises(ModelopsError, match="must start with `lib.`"):
        load_gatekeeper(tmp_path)


def test_non_objects_are_refused(library) -> None:
    with pytest.raises(ModelopsError, match="object #1 is not a Kubernetes object"):
        library.evaluate([{"model": "x"}])


# -- Rego v0 idioms of the Gatekeeper library, as written (deprecated any/all included) --------

IDIOM_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
    {"name": "web", "image": "docker.io/web:1", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
    {"name": "api", "image": "registry.example.com/api:1", "securityContext": {"capabilities": {"add": ["chown"]}}},
]}}
IDIOM_PARAMETERS = "{parameters: {prefixes: [registry.example.com/], caps: [CHOWN]}}"


# What OPA itself refuses in these v0 idioms (regorus evaluates them): OPA 1.x's type checker
# rejects the deprecated any()/all() even when registered, and `_` inside a negated call is
# unsafe in OPA (v0 included).
OPA_REFUSES = {"any": "deprecated built-in function calls in expression: any",
               "all": "deprecated built-in function calls in expression: all",
               "not startswith": "var _ is unsafe"}


@pytest.mark.parametrize(("body", "expected"), [
    # any() over a comprehension that unifies fresh variables with a call reading `c`
    ('c := input.review.object.spec.containers[_]\n'
     'ok := [good | prefix = input.parameters.prefixes[_]; good = startswith(c.image, prefix)]\n'
     'not any(ok)\nmsg := c.name', ["web"]),
    # iteration inside a call inside set comprehensions
    ('c := input.review.object.spec.containers[_]\nallowed := {x | x := lower(input.parameters.caps[_])}\n'
     'added := {x | x := lower(c.securityContext.capabilities.add[_])}\ncount(added - allowed) > 0\nmsg := c.name',
     ["web"]),
    # a negated call over a wildcard: no prefix matches
    ('c := input.review.object.spec.containers[_]\nnot startswith(c.image, input.parameters.prefixes[_])\n'
     'msg := c.name', ["web"]),
    # all() over a comprehension
    ('c := input.review.object.spec.containers[_]\n'
     'all([ok | some p in input.parameters.prefixes; ok := startswith(c.image, p)])\nmsg := c.name', ["api"]),
    # a named index inside call arguments, and a call with string arguments on the same line
    ('name := lower(input.review.object.spec.containers[i].name)\n'
     'msg := sprintf("%v:%v", [i, object.get(input.review.object.spec.containers[i], "name", "")])',
     ["0:web", "1:api"]),
])
@pytest.mark.parametrize("engine", installed_engines())
def test_gatekeeper_library_idioms_evaluate_like_opa(tmp_path: Path, body: str, expected: list[str],
                                                     engine: str) -> None:
    rego = ("package k8sdemo\nimport future.keywords.in\nviolation[{\"msg\": msg}] {\n"
            + textwrap.indent(body, "  ") + "\n}\n")
    refused = next((why for marker, why in OPA_REFUSES.items() if f"{marker}(" in body or f"{marker}" in body
                    and marker == "not startswith"), None) if engine == "opa" else None
    if refused:
        with pytest.raises(ModelopsError, match=re.escape(refused)):
            load_gatekeeper(template(tmp_path, rego=rego, constraint=constraint(spec=IDIOM_PARAMETERS)),
                            engine=engine).evaluate([IDIOM_POD])
        return
    gk = load_gatekeeper(template(tmp_path, rego=rego, constraint=constraint(spec=IDIOM_PARAMETERS)), engine=engine)
    assert sorted(v.msg for v in gk.evaluate([IDIOM_POD])) == sorted(expected)


# -- AdmissionReview case objects (gator reviews the request: userInfo, operation, oldObject) ---

PROTECT_REGO = """\
package k8sprotect
violation[{"msg": msg}] {
  input.review.operation != "UPDATE"
  not admin(input.review.userInfo)
  review := input.review
  msg := sprintf("%v may not %v %v", [review.userInfo.username, review.operation, review.object.metadata.name])
}
admin(user) {
  user.groups[_] == "admins"
}
"""
PROTECT_CONSTRAINT = constraint(kind="K8sProtect", spec="{match: {kinds: [{apiGroups: [''], kinds: [ConfigMap]}], "
                                                       "namespaces: [prod]}}")


def admission(operation: str = "CREATE", *, user: str = "alice", groups: str = "[dev]", namespace: str = "prod",
              objects: str = "object") -> str:
    obj = "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}"
    held = "".join(f"  {key}: {obj}\n" for key in objects.split(",") if key)
    return (f"apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  operation: {operation}\n"
            f"  namespace: {namespace}\n  userInfo: {{username: {user}, groups: {groups}}}\n{held}")


def test_verify_reviews_admission_requests(tmp_path: Path) -> None:
    template(tmp_path, name="k8sprotect", kind="K8sProtect", rego=PROTECT_REGO, constraint=PROTECT_CONSTRAINT)
    cases = {
        "create-by-developer": (admission(), "[{violations: 1, message: ^alice may not CREATE settings$}]"),
        "create-by-admin": (admission(user="bob", groups="[admins]"), "[{violations: no}]"),
        "update-is-exempt": (admission("UPDATE", objects="object,oldObject"), "[{violations: no}]"),
        "delete-reviews-old-object": (admission("DELETE", objects="oldObject"), "[{violations: 1, message: DELETE}]"),
        "other-namespace": (admission(namespace="dev"), "[{violations: no}]"),
        "no-request": ("apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n", "[{violations: no}]"),
        "no-object": (admission(objects=""), "[{violations: no}]"),
        "unknown-field": (admission() + "  extra: 1\n", "[{violations: no}]"),
    }
    lines = ["kind: Suite", "apiVersion: test.gatekeeper.sh/v1alpha1", "tests:", "- name: protect",
             "  template: template.yaml", "  constraint: constraint.yaml", "  cases:"]
    for name, (text, assertions) in cases.items():
        (tmp_path / f"{name}.yaml").write_text(text)
        lines += [f"  - name: {name}", f"    object: {name}.yaml", f"    assertions: {assertions}"]
    (tmp_path / "suite.yaml").write_text("\n".join(lines) + "\n")
    results = {r.case: (r.status, r.message) for r in verify_suites([tmp_path / "suite.yaml"]).results}
    assert {case: status for case, (status, _) in results.items()} == {
        "create-by-developer": "ok", "create-by-admin": "ok", "update-is-exempt": "ok",
        "delete-reviews-old-object": "ok", "other-namespace": "ok",
        "no-request": "error", "no-object": "error", "unknown-field": "error"}
    assert "did not actually pass in an AdmissionRequest" in results["no-request"][1]
    assert 'does not contain an "object" or "oldObject"' in results["no-object"][1]
    assert "unknown field 'extra'" in results["unknown-field"][1]


def test_admission_request_gets_gatekeepers_defaults(tmp_path: Path) -> None:
    request = admission_request(read_documents(_write(tmp_path, admission("DELETE", objects="oldObject")))[0].data)
    assert request["object"] == request["oldObject"]  # a DELETE reviews what is deleted
    assert request["kind"] == {"group": "", "version": "", "kind": ""} and request["uid"] == ""
    gk = load_gatekeeper(template(tmp_path, name="k8sprotect", kind="K8sProtect", rego=PROTECT_REGO,
                                  constraint=PROTECT_CONSTRAINT))
    [violation] = gk.evaluate_request(request)
    assert (violation.kind, violation.name, violation.namespace) == ("ConfigMap", "settings", "prod")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "review.yaml"
    path.write_text(text)
    return path


# -- gator verify ------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "messages", "problem"), [
    ({"violations": "yes"}, ["a"], ""),
    ({}, [], "got 0 violations but want at least 1"),
    ({"violations": "no"}, [], ""),
    ({"violations": False}, ["a"], "got 1 violations but want none"),  # YAML 1.1 `no`
    ({"violations": 2}, ["a", "b"], ""),
    ({"violations": 1, "message": "^b"}, ["a", "b", "ab"], ""),
    ({"violations": 0, "message": "b"}, ["a", "ab"], "got 1 violations containing 'b' but want exactly 0"),
    ({"violations": "yes", "message": "owner"}, ["missing team"], "containing 'owner' but want at least 1"),
])
def test_assertion_semantics(spec: dict[str, Any], messages: list[str], problem: str) -> None:
    result = Assertion.parse(spec).check(messages)
    assert (problem in result) if problem else result == ""


@pytest.mark.parametrize("spec", [{"violations": -1}, {"violations": "some"}, {"message": "("}])
def test_bad_assertions_are_errors(spec: dict[str, Any]) -> None:
    with pytest.raises(ModelopsError):
        Assertion.parse(spec)


Cli = Callable[..., tuple[int, str, str]]


def test_verify_passing_suite(cli: Cli) -> None:
    code, out, err = cli("policy", "verify", str(SUITES / "passing" / "suite.yaml"))
    assert code == 0, out + err
    assert "ok    " in out and "FAIL" not in out and "ERROR" not in out
    assert "required-labels / unlabelled" in out
    assert "SKIP  " in out and "skipped-case" in out
    assert out.strip().splitlines()[-1] == "14 tests, 14 passed, 0 failed, 1 skipped"


def test_verify_failing_suite_exits_1(cli: Cli) -> None:
    code, out, _ = cli("policy", "verify", str(SUITES / "failing" / "suite.yaml"))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith("FAIL ") and "allowed-repos / docker-hub-is-fine: got 1 violations but want none" in lines[0]
    assert lines[1].startswith("ok ") and "our-registry" in lines[1]
    assert "got 1 violations but want exactly 2" in lines[2]
    assert lines[-1] == "3 tests, 1 passed, 2 failed"


def test_verify_broken_template_exits_2(cli: Cli) -> None:
    code, out, _ = cli("policy", "verify", str(SUITES / "broken" / "suite.yaml"))
    assert code == 2
    assert out.startswith("ERROR ") and "template-broken.yaml:1" in out
    assert out.strip().splitlines()[-1] == "1 tests, 0 passed, 1 failed"


def test_verify_a_directory_and_run_filter(cli: Cli) -> None:
    code, out, _ = cli("policy", "verify", str(SUITES / "passing"))
    assert code == 0 and "14 passed" in out
    code, out, _ = cli("policy", "verify", "--run", "^allowed-repos$", str(SUITES / "passing"))
    assert code == 0
    ran = [line for line in out.splitlines() if line.startswith("ok")]
    assert len(ran) == 3 and all("allowed-repos /" in line for line in ran)


def test_verify_all_three_suites_together() -> None:
    report = verify_suites([SUITES])
    assert report.exit_code == 2
    assert (report.count("ok"), report.count("fail"), report.count("error")) == (15, 2, 1)


@pytest.mark.parametrize(("setup", "error"), [
    (lambda p: None, "no such file or directory"),
    (lambda p: p.write_text("kind: Pod\n"), "not a gator Suite"),
    (lambda p: p.write_text("kind: Suite\ntests: [\n"), "YAML syntax error"),
])
def test_verify_unreadable_suites_exit_2(cli: Cli, tmp_path: Path, setup: Callable[[Path], Any], error: str) -> None:
    path = tmp_path / "suite.yaml"
    setup(path)
    code, _, err = cli("policy", "verify", str(path))
    assert code == 2 and error in err


def test_case_problems_are_errors(tmp_path: Path) -> None:
    library = LIBRARY.resolve()
    (tmp_path / "suite.yaml").write_text(f"""\
kind: Suite
apiVersion: test.gatekeeper.sh/v1alpha1
tests:
  - name: repos
    template: {library}/templates/k8sallowedrepos.yaml
    constraint: {library}/constraints/allowed-repos.yaml
    cases:
      - name: no-assertions
        object: {SUITES.resolve()}/passing/samples/pod-docker-hub.yaml
      - name: missing-object
        object: nothing.yaml
        assertions: [{{violations: no}}]
  - name: not-invalid
    template: {library}/templates/k8sallowedrepos.yaml
    constraint: {library}/constraints/allowed-repos.yaml
    invalid: true
""")
    report = verify_suites([tmp_path / "suite.yaml"])
    assert [(r.case, r.status) for r in report.results] == [
        ("no-assertions", "error"), ("missing-object", "error"), ("", "fail")]
    assert "assertions must be non-empty" in report.results[0].message
    assert report.exit_code == 2
