"""`modelops validate`: kubeconform's job (strict schemas, CRDs, --schema-dir, formats, exit
codes) with CEL rules and file:line per problem; compiled validators agree with
python-jsonschema on every document of the example repository, valid or mutated."""
from __future__ import annotations

import copy
import io
import json
import xml.etree.ElementTree as ET

import jsonschema_rs
import pytest

from generator.check.documents import collect_documents
from generator.render.pipeline import render_repository
from generator.spec.load import load_repository
from generator.validate.schemas import SchemaRegistry
from tests.conftest import ROOT, write_files

BAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          ports: [{containerPort: eighty}]
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: wt
spec:
  templates:
    - name: both
      container: {image: busybox}
      script: {image: busybox, source: "true"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
"""

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
"""


def _mutations(document):
    """Documents the schemas must reject: an unknown field, and a wrong type at the top."""
    unknown = copy.deepcopy(document)
    unknown["spec" if "spec" in unknown else "metadata"]["notAField"] = 1
    wrong = copy.deepcopy(document)
    wrong["metadata"] = "not-an-object" if "spec" in wrong else wrong["metadata"]
    return [document, unknown, wrong]


def test_compiled_validators_agree_with_jsonschema_on_the_example():
    repo = load_repository(ROOT)
    documents = [d for d in collect_documents(render_repository(repo, None, None), repo.root) if d.has_schema]
    registry = SchemaRegistry("1.33")
    verdicts, refused = 0, set()
    for doc in documents:
        compiled = registry.validator(doc.document["apiVersion"], doc.document["kind"])
        try:
            fast = compiled.fast
        except jsonschema_rs.ValidationError:  # a schema jsonschema-rs will not compile
            refused.add(doc.kind)
            fast = None
        for variant in _mutations(doc.document):
            expected = not list(compiled.readable.iter_errors(variant))
            assert (fast.is_valid(variant) if fast is not None else expected) == expected, (doc.kind, doc.name)
            assert compiled.is_valid(variant) == expected  # the path check takes, refused schemas included
            verdicts += 1
    assert verdicts == 3 * len(documents) and len(documents) > 50
    assert refused <= {"PrometheusRule"}  # prometheus-operator's `(?i)` patterns are not ECMA-262


def test_text_output_file_line_and_exit_code(tmp_path, cli):
    write_files(tmp_path, {"bad.yaml": BAD, "good.yaml": GOOD})
    code, out, _ = cli("validate", "--summary", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    assert f"{tmp_path}/bad.yaml:15:20 - Deployment web is invalid: spec.template.spec.containers[0].ports[0]" \
        ".containerPort: expected integer" in lines[0]
    assert lines[1] == (f"{tmp_path}/bad.yaml:22:3 - WorkflowTemplate wt is invalid: spec.templates: "
                        "template must have at most one template type")
    assert lines[2] == f"{tmp_path}/bad.yaml:27:1 - Widget w failed validation: could not find schema for Widget " \
        "(example.com/v1)"
    assert lines[3] == "Summary: 4 resources found in 2 files - Valid: 1, Invalid: 2, Errors: 1, Skipped: 0"


def test_valid_stdin_exits_0_and_missing_schemas_can_be_skipped(monkeypatch, cli):
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "---\n" + BAD.split("---\n")[2]))
    code, out, _ = cli("validate", "--summary", "--ignore-missing-schemas", "-")
    assert code == 0
    assert out == "Summary: 2 resources found parsing stdin - Valid: 1, Invalid: 0, Errors: 0, Skipped: 1\n"


@pytest.mark.parametrize("fmt", ["json", "junit", "tap"])
def test_machine_formats(tmp_path, cli, fmt):
    write_files(tmp_path, {"bad.yaml": BAD})
    code, out, _ = cli("validate", "-o", fmt, "--summary", str(tmp_path / "bad.yaml"))
    assert code == 1
    if fmt == "json":
        document = json.loads(out)
        assert document["summary"] == {"valid": 0, "invalid": 2, "errors": 1, "skipped": 0}
        cel = document["resources"][1]
        assert cel["status"] == "statusInvalid" and cel["validationErrors"][0]["source"] == "cel"
        assert cel["validationErrors"][0]["line"] == 22 and cel["validationErrors"][0]["path"] == "/spec/templates"
    elif fmt == "junit":
        root = ET.fromstring(out)
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "1")
        assert "bad.yaml:22:3: spec.templates: template must have at most one template type" in out
    else:
        assert out.splitlines()[0] == "TAP version 13" and out.splitlines()[-1] == "1..3"
        assert out.count("not ok ") == 3


def test_schema_dir_in_kubeconform_layout(tmp_path, cli):
    widget = {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}},
                 "x-kubernetes-validations": [{"rule": "self.size <= 10", "message": "size at most 10"}]}}}
    write_files(tmp_path, {"schemas/example.com/widget_v1.json": json.dumps(widget),
                           "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                                     "spec:\n  size: 11\n"})
    code, out, _ = cli("validate", "--schema-dir", str(tmp_path / "schemas"), str(tmp_path / "w.yaml"))
    assert code == 1
    assert out == f"{tmp_path}/w.yaml:4:1 - Widget w is invalid: spec: size at most 10\n"


def test_unparsable_file_and_bad_flag(tmp_path, cli):
    write_files(tmp_path, {"broken.yaml": "a: [1, 2\n"})
    code, out, _ = cli("validate", str(tmp_path / "broken.yaml"))
    assert code == 1 and "failed validation: " in out and "YAML syntax error" in out
    code, _, err = cli("validate", "--schema-dir", str(tmp_path / "nope"), str(tmp_path / "broken.yaml"))
    assert code == 2 and "not a directory" in err


PROMETHEUS_RULE = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: alerts
spec:
  groups:
    - name: serving
      partial_response_strategy: {strategy}
      rules:
        - alert: Down
          expr: up == 0
"""


def test_patterns_are_read_as_the_api_server_reads_them(tmp_path, cli):
    """Go's regexp (RE2 syntax) takes `(?i)` anywhere; Python's `re` raised on it mid-pattern,
    which ended `validate` with a traceback for any PrometheusRule that sets the field."""
    write_files(tmp_path, {"ok.yaml": PROMETHEUS_RULE.format(strategy="WARN"),
                           "bad.yaml": PROMETHEUS_RULE.format(strategy="sometimes")})
    code, out, _ = cli("validate", str(tmp_path / "ok.yaml"))
    assert (code, out) == (0, "")
    code, out, _ = cli("validate", str(tmp_path / "bad.yaml"))
    assert code == 1
    assert out == (f"{tmp_path}/bad.yaml:8:7 - PrometheusRule alerts is invalid: spec.groups[0]."
                   "partial_response_strategy: 'sometimes' does not match '^(?i)(abort|warn)?$'\n")


def test_a_schema_pattern_that_is_not_re2_is_a_violation_not_a_crash(tmp_path, cli):
    widget = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^(a"}}}}}
    write_files(tmp_path, {"schemas/example.com/widget_v1.json": json.dumps(widget),
                           "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                                     "spec:\n  name: a\n"})
    code, out, err = cli("validate", "--schema-dir", str(tmp_path / "schemas"), str(tmp_path / "w.yaml"))
    assert code == 1 and err == ""
    assert out == (f"{tmp_path}/w.yaml:5:3 - Widget w is invalid: spec.name: the schema's pattern '^(a' is not "
                   "a valid RE2 expression: missing ): ^(a\n")


def test_folders_are_walked_in_lexical_order_without_entering_links(tmp_path):
    from generator.validate.manifests import manifest_files

    outside = tmp_path / "outside"
    write_files(tmp_path, {"tree/a/x.yaml": "", "tree/a.yaml": "", "tree/a-b.yaml": "", "tree/.yaml": "",
                           "tree/b/c/z.yml": "", "tree/b/y.json": "", "tree/b/notes.txt": "", "outside/e.yaml": ""})
    (tmp_path / "tree" / "linked").symlink_to(outside)
    (tmp_path / "tree" / "l.yaml").symlink_to(tmp_path / "tree" / "a.yaml")
    (tmp_path / "tree" / "dangling.yaml").symlink_to(tmp_path / "missing.yaml")
    found = [p.relative_to(tmp_path / "tree").as_posix() for p in manifest_files([str(tmp_path / "tree")])]
    assert found == ["a/x.yaml", "a-b.yaml", "a.yaml", "b/c/z.yml", "b/y.json", "l.yaml"]


CONFIG_MAP_LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
    data: {k: v}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: b}
    data: {k: 1}
"""


def test_a_list_is_validated_item_by_item_as_kubeconform_does(tmp_path, cli):
    """`kubectl get -o yaml` prints a List; each item is a resource (it was 'no schema for List')."""
    write_files(tmp_path, {"list.yaml": CONFIG_MAP_LIST, "empty.yaml": "apiVersion: v1\nkind: List\nitems: []\n"})
    code, out, _ = cli("validate", "--summary", "--verbose-results", str(tmp_path / "list.yaml"))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path}/list.yaml - ConfigMap a is valid",
        f"{tmp_path}/list.yaml:11:12 - ConfigMap b is invalid: data.k: expected ['string', 'null'], got int 1",
        "Summary: 2 resources found in 1 file - Valid: 1, Invalid: 1, Errors: 0, Skipped: 0"]
    code, out, _ = cli("validate", "--summary", str(tmp_path / "empty.yaml"))
    # no item, no resource: kubeconform counts the files its resources come from
    assert (code, out) == (0, "Summary: 0 resource found in 0 file - Valid: 0, Invalid: 0, Errors: 0, Skipped: 0\n")


def test_skip_and_reject_take_kinds_or_gvks_skip_first(tmp_path, cli):
    write_files(tmp_path, {"list.yaml": CONFIG_MAP_LIST})
    target = str(tmp_path / "list.yaml")
    assert cli("validate", "--summary", "--skip", "v1/ConfigMap", target)[:2] == \
        (0, "Summary: 2 resources found in 1 file - Valid: 0, Invalid: 0, Errors: 0, Skipped: 2\n")
    assert cli("validate", "--summary", "--skip", "ConfigMap", "--reject", "ConfigMap", target)[:2] == \
        (0, "Summary: 2 resources found in 1 file - Valid: 0, Invalid: 0, Errors: 0, Skipped: 2\n")
    code, out, _ = cli("validate", "--reject", "v1/ConfigMap", target)
    assert code == 1 and out.count("prohibited resource kind ConfigMap") == 2
    code, out, _ = cli("validate", "--reject", "apps/v1/ConfigMap", target)  # another group's GVK: not this kind
    assert code == 1 and "prohibited" not in out and "ConfigMap b is invalid" in out


def test_a_malformed_api_version_or_kind_has_no_schema_and_the_run_goes_on(tmp_path, cli):
    """`apiVersion: foo/bar/baz` made kubernetes-validate's lookup raise, which ended the whole
    run with exit 2 and an empty reason; a kind is never part of a file name unchecked."""
    write_files(tmp_path, {"odd.yaml": "apiVersion: foo/bar/baz\nkind: X\nmetadata: {name: a}\n---\n"
                                       "apiVersion: v1\nkind: ../../x\nmetadata: {name: b}\n---\n" + GOOD})
    code, out, err = cli("validate", "--summary", str(tmp_path / "odd.yaml"))
    assert code == 1 and err == ""
    assert "X a failed validation: could not find schema for X (foo/bar/baz)" in out
    assert "../../x b failed validation: could not find schema for ../../x (v1)" in out
    assert out.splitlines()[-1] == "Summary: 3 resources found in 1 file - Valid: 1, Invalid: 0, Errors: 2, Skipped: 0"


def test_a_list_whose_items_are_not_a_list_is_an_error_not_a_pass(tmp_path, cli):
    """kubeconform reads `items: 5` as an empty List and passes it; kubectl cannot apply it."""
    write_files(tmp_path, {"list.yaml": "apiVersion: v1\nkind: List\nitems: 5\n"})
    code, out, _ = cli("validate", "--summary", str(tmp_path / "list.yaml"))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path}/list.yaml:3:1 - failed validation: List items must be a list, got int",
        "Summary: 1 resource found in 1 file - Valid: 0, Invalid: 0, Errors: 1, Skipped: 0"]


def test_kubernetes_versions_compare_as_numbers_and_unknown_ones_are_refused(tmp_path, cli):
    """As strings, `1.9` and `abc` came after `1.37`: both were validated against the newest
    schemas without a word. A version newer than every shipped set is refused, as
    kubernetes-validate refuses it (a removed API would pass against older schemas)."""
    from generator.validate.kubernetes_versions import kubernetes_schema_version

    assert kubernetes_schema_version("1.33") == "1.33.0" and kubernetes_schema_version("v1.30.4") == "1.30.0"
    write_files(tmp_path, {"good.yaml": GOOD})
    target = str(tmp_path / "good.yaml")
    assert cli("validate", "--kubernetes-version", "v1.30.4", target)[0] == 0
    for version, reason in (("abc", "'abc' is not a version: expected X.Y"),
                            ("1.9", "1.9 is older than the schemas modelops has: kubernetes-validate ships"),
                            ("1.99", "1.99 is newer than the schemas modelops has: kubernetes-validate ships")):
        code, out, err = cli("validate", "--kubernetes-version", version, target)
        assert (code, out) == (2, "") and err.startswith("modelops: error: --kubernetes-version: "), err
        assert reason in err and len(err.strip().splitlines()) == 1


def test_junit_stays_well_formed_when_a_name_holds_control_characters(tmp_path, cli):
    """XML 1.0 cannot carry \\x01 even escaped: the report was not well-formed, so a CI's
    test-report step rejected the whole file (`check`'s JUnit already replaced them)."""
    write_files(tmp_path, {"ctl.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "a\\x01b<&>"}\n'
                                       'data: {"k\\x02": 1}\n'})
    code, out, _ = cli("validate", "-o", "junit", str(tmp_path / "ctl.yaml"))
    assert code == 1
    root = ET.fromstring(out)
    [case] = root.iter("testcase")
    assert case.get("name") == "a\ufffdb<&>"
    [failure] = case.iter("failure")
    assert "data.k\ufffd: expected ['string', 'null'], got int 1" in failure.get("message", "")


WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n"


def _widget_schema(spec: object) -> str:
    return json.dumps({"type": "object", "properties": {"apiVersion": {}, "kind": {}, "metadata": {}, "spec": spec}})


def test_a_schema_dir_schema_that_refers_outside_itself_is_refused_without_fetching(tmp_path, cli):
    """Both validators fetched a remote `$ref` (python-jsonschema with no timeout) and ended in a
    traceback when that failed: a CI gate must not reach the network, nor crash."""
    import http.server
    import threading

    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = f"http://127.0.0.1:{server.server_address[1]}/defs.json#/size"
        write_files(tmp_path, {"schemas/example.com/widget_v1.json": _widget_schema({"$ref": remote}),
                               "w.yaml": WIDGET})
        many = [str(tmp_path / "w.yaml")] * 45  # past COMPILE_AFTER: jsonschema-rs compiles the schema too
        for files in ([str(tmp_path / "w.yaml")], many):
            code, out, err = cli("validate", "--schema-dir", str(tmp_path / "schemas"), *files)
            assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
            assert f"widget_v1.json: $ref '{remote}' points outside the schema, and modelops fetches no schema" in err
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


@pytest.mark.parametrize(("spec", "reason"), [
    ({"required": 5}, "not a valid JSON Schema at properties.spec.required: 5 is not of type 'array'"),
    ({"type": "strin"}, "not a valid JSON Schema at properties.spec.type: 'strin' is not valid"),
    ({"$ref": "#/definitions/missing"}, ("the schema of Widget (example.com/v1) cannot be used: $ref "
                                         "'/definitions/missing' resolves to nothing")),
])
def test_a_malformed_schema_in_a_schema_dir_is_exit_2_naming_it(tmp_path, cli, spec, reason):
    """Each of these ended `validate` (and `check --schema-dir`) in a traceback, exit 3."""
    write_files(tmp_path, {"schemas/example.com/widget_v1.json": _widget_schema(spec), "w.yaml": WIDGET})
    for files in ([str(tmp_path / "w.yaml")], [str(tmp_path / "w.yaml")] * 45):
        code, out, err = cli("validate", "--schema-dir", str(tmp_path / "schemas"), *files)
        assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1 and reason in err, err


@pytest.mark.parametrize(("spec", "reason"), [
    ("", "spec must be a mapping"),
    ("spec: {group: 5}", "spec.group must be a string"),
    ("spec: {group: example.com, names: {kind: Widget}, versions: 5}", "spec.versions must be a list"),
    ("spec: {group: example.com, names: {kind: Widget}, versions: [{schema: {}}]}",
     "spec.versions[0].name must be a string"),
])
def test_a_malformed_crd_file_in_a_schema_dir_is_exit_2_naming_the_field(tmp_path, cli, spec, reason):
    """A CRD without spec, group or version name ended in a KeyError or TypeError traceback."""
    write_files(tmp_path, {"crds/widget.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                                               f"metadata: {{name: widgets.example.com}}\n{spec}\n",
                           "w.yaml": WIDGET})
    code, out, err = cli("validate", "--schema-dir", str(tmp_path / "crds"), str(tmp_path / "w.yaml"))
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1, err
    assert err == f"modelops: error: cannot load CRD file {tmp_path}/crds/widget.yaml (document 1): {reason}\n"


def test_an_alias_bomb_is_refused_before_anything_walks_it(tmp_path, cli):
    """Aliases share one object, so a billion-laughs document was built in milliseconds and
    then expanded by everything that walked it: `validate` did not return. kubectl and
    kubeconform (go-yaml) refuse such "excessive aliasing"; a document whose aliases only
    repeat a few values stays valid."""
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 7)]
    bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n" + "".join(f"  {x}\n" for x in levels)
    shared = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n  labels: &l {a: b}\n  annotations: *l\n"
    write_files(tmp_path, {"bomb.yaml": bomb, "shared.yaml": shared})
    code, out, _ = cli("validate", str(tmp_path / "bomb.yaml"), str(tmp_path / "shared.yaml"))
    assert code == 1
    assert out == (f"{tmp_path}/bomb.yaml - failed validation: {tmp_path}/bomb.yaml:1:1: a document expands its "
                   "aliases to 6,053,461 values, over ten times its own size (YAML alias/anchor bomb?); refusing to "
                   "load\n")


def test_a_document_nested_past_the_depth_limit_is_refused_not_a_traceback(tmp_path, cli):
    """libyaml reads 1,000 levels; 990 ended `validate` in a RecursionError traceback (exit 3)."""
    deep = "[" * 990 + "]" * 990
    write_files(tmp_path, {"deep.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  x: {deep}\n",
                           "merge.yaml": f"base: &b {{y: 1}}\nm: {{<<: *b}}\nx: {deep}\n"})
    code, out, err = cli("validate", str(tmp_path / "deep.yaml"), str(tmp_path / "merge.yaml"))
    assert (code, err) == (1, "")
    assert out == (f"{tmp_path}/deep.yaml - failed validation: {tmp_path}/deep.yaml:5:132: nested deeper than 128 "
                   f"levels; refusing to load\n{tmp_path}/merge.yaml - failed validation: {tmp_path}/merge.yaml:1:1: "
                   "nested deeper than 128 levels; refusing to load\n")
