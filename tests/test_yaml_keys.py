"""YAML keys need not be strings (`true:`, `1:`, `null:`); each validator must take them.

Before, a mapping with a boolean key next to string keys ended `validate` in a traceback
while wording an unknown-field error (Python cannot sort the mixed keys), a `null:` key
ended it in jsonschema-rs once a kind was compiled, and in the CEL library when it
converted a node with several rules."""
from __future__ import annotations

from generator.validate.schemas import SchemaRegistry
from tests.conftest import write_files

MIXED_KEYS = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: wt
spec:
  true: 1
  bogus: 2
  templates:
    - name: main
      container: {image: busybox:1.36}
"""


def test_unknown_fields_with_keys_that_are_not_strings_are_named(tmp_path, cli):
    write_files(tmp_path, {"wt.yaml": MIXED_KEYS})
    code, out, err = cli("validate", str(tmp_path / "wt.yaml"))
    assert code == 1 and "Traceback" not in err
    assert "spec: unknown field(s): bogus, true" in out


def test_a_null_key_is_validated_once_a_kind_is_compiled():
    registry = SchemaRegistry("1.33", compile_after=0)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    assert registry.validate(config) == []  # compiled by jsonschema-rs
    assert registry.validate({**config, "data": {None: "b", "a": 1}}) != []  # `1` is not a string


def test_a_null_key_under_several_cel_rules_is_each_rules_error():
    from generator.validate.cel import build_plan, evaluate_plan

    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "size(self) < 5", "message": "small"}, {"rule": "has(self.a)", "message": "has a"}],
        "additionalProperties": {"type": "string"}}
    plan = build_plan(schema)
    assert plan is not None
    assert list(evaluate_plan(plan, {"a": "x"})) == []
    broken = list(evaluate_plan(plan, {None: "x", "a": "y"}))
    assert len(broken) == 2 and all("rule error" in v.message for v in broken)
