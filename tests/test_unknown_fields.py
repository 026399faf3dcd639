"""Unknown fields in custom resources (generator.validate.unknown_fields): the validating
form (a kind's first documents) and the compiled copy (jsonschema-rs) give one verdict."""
from __future__ import annotations

import copy
import gzip
import json

import pytest

from generator.validate.schemas import VENDORED_CRDS, SchemaRegistry
from generator.validate.unknown_fields import StrictCrdValidator, relaxed_metadata, strict_crd_schema

WIDGET = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
        "spec": {"type": "object", "properties": {
            "size": {"type": "integer"},
            "part": {"$ref": "#/definitions/part"},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
                "a": {"type": "string"}}},
            "any": {"type": "object"},
            "either": {"anyOf": [{"type": "object", "properties": {"x": {"type": "integer"}}},
                                 {"type": "string"}]},
        }},
    },
    "definitions": {"part": {"type": "object", "properties": {"name": {"type": "string"}}}},
}
BASE = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {"size": 1, "part": {"name": "p"}, "free": {"a": "x"}, "any": {"z": 1}, "either": {"x": 1}}}


def _with(path: tuple[str, ...], value: object) -> dict:
    document = copy.deepcopy(BASE)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


CASES = [
    (BASE, []),
    (_with(("spec", "colour"), "red"), ["spec"]),  # a field the schema does not list
    (_with(("colour",), "red"), [""]),  # at the top level too
    (_with(("spec", "part", "colour"), "red"), ["spec.part"]),  # inside a `$ref`'d definition
    # inside a combinator's part: the part fails, so the anyOf does
    (_with(("spec", "either", "colour"), "red"), [("spec.either", "is not valid under any of the given schemas")]),
    (_with(("spec", "free", "colour"), "red"), []),  # the schema preserves unknown fields
    (_with(("spec", "any", "colour"), "red"), []),  # an object without properties takes any
    (_with(("metadata", "annotations"), {"a": "b"}), []),  # ObjectMeta is the API server's to check
]


def _violations(tmp_path, compile_after: int, document: dict) -> list[tuple[str, str]]:
    (tmp_path / "example.com").mkdir(exist_ok=True)
    (tmp_path / "example.com" / "widget_v1.json").write_text(json.dumps(WIDGET))
    registry = SchemaRegistry("1.33", schema_dirs=[tmp_path], compile_after=compile_after)
    return sorted({(v.path, v.message) for v in registry.validate(document)})


@pytest.mark.parametrize(("document", "paths"), CASES)
def test_both_forms_report_exactly_the_fields_the_api_server_would_drop(tmp_path, document, paths):
    validating = _violations(tmp_path, 10**6, document)  # python-jsonschema, the rule applied while validating
    compiled = _violations(tmp_path, 0, document)  # jsonschema-rs over the strict copy
    expected = [(path, "unknown field(s): colour") if isinstance(path, str) else path for path in paths]
    assert len(validating) == len(compiled) == len(expected)
    for (path, message), (compiled_path, compiled_message), (want_path, wanted) in zip(validating, compiled, expected,
                                                                                        strict=True):
        assert path == compiled_path == want_path
        assert message == compiled_message and message.endswith(wanted)


def test_a_field_of_another_kind_is_not_reported_when_not_strict(tmp_path):
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text(json.dumps(WIDGET))
    for compile_after in (0, 10**6):
        registry = SchemaRegistry("1.33", schema_dirs=[tmp_path], strict=False, compile_after=compile_after)
        assert registry.validate(_with(("spec", "colour"), "red")) == []


def test_the_strict_copy_leaves_the_parsed_schema_as_it_was():
    """The validating form reads the schema as parsed; the copy for jsonschema-rs must not
    change it under it (the old strict pass edited the parsed CRD in place)."""
    path = VENDORED_CRDS / "jobset.x-k8s.io_jobset_v1alpha2.json.gz"
    schema = json.loads(gzip.decompress(path.read_bytes()))
    before = json.dumps(schema, sort_keys=True)
    strict = strict_crd_schema(schema)
    assert json.dumps(schema, sort_keys=True) == before
    assert strict["additionalProperties"] is False and strict["properties"]["metadata"] == {"type": "object"}
    assert strict["properties"]["spec"]["additionalProperties"] is False


def test_the_validating_form_needs_no_rewritten_schema():
    """A one-spec check validates a kind's few documents without copying its CRD: the
    validator reads the parsed schema's own nodes (only the top level is new)."""
    path = VENDORED_CRDS / "argoproj.io_workflow_v1alpha1.json.gz"
    schema = json.loads(gzip.decompress(path.read_bytes()))
    relaxed = relaxed_metadata(schema)
    assert relaxed["properties"]["spec"] is schema["properties"]["spec"]
    validator = StrictCrdValidator(relaxed)
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
                "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}],
                         "podGC": {"strategy": "OnPodSuccess"}}}
    assert not list(validator.iter_errors(workflow))
    workflow["spec"]["templates"][0]["container"]["imagePullPolice"] = "Always"  # a typo
    assert [e.message for e in validator.iter_errors(workflow)] == [
        "Additional properties are not allowed ('imagePullPolice' was unexpected)"]
