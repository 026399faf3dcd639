"""Schema defaults as the API server fills them before CEL rules run (generator.validate.defaults)."""
from __future__ import annotations

import copy
import gzip
import json

from generator.validate.defaults import MAX_DEPTH, SchemaDefaults
from generator.validate.schemas import VENDORED_CRDS

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "default": "Fast"},
                "limits": {"type": "object", "default": {"cpu": 1}, "properties": {
                    "cpu": {"type": "integer"}, "unit": {"type": "string", "default": "core"}}},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "protocol": {"type": "string", "default": "TCP"}, "port": {"type": "integer"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "kind": {"type": "string", "default": "Service"}}}},
            },
            "allOf": [{"properties": {"mode": {"default": "Slow"}, "tier": {"default": "gold"}}}],
        },
    },
}


def test_absent_fields_are_filled_at_every_level_the_document_reaches():
    document = {"spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}],
                         "labels": {"a": {}, "b": {"kind": "Pod"}}}}
    assert SchemaDefaults(SCHEMA).apply(document) == {"spec": {
        "mode": "Fast",  # the node's own default wins over an allOf part's
        "tier": "gold",  # an allOf part adds what the node lacks
        "limits": {"cpu": 1, "unit": "core"},  # a filled default is defaulted inside too
        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
        "labels": {"a": {"kind": "Service"}, "b": {"kind": "Pod"}},
    }}


def test_the_callers_document_is_never_modified_and_unchanged_parts_are_shared():
    document = {"spec": {"mode": "Slow", "tier": "x", "limits": {"cpu": 2, "unit": "m"}, "ports": [{"port": 1}]}}
    before = copy.deepcopy(document)
    filled = SchemaDefaults(SCHEMA).apply(document)
    assert document == before
    assert filled["spec"]["limits"] is document["spec"]["limits"]
    assert filled["spec"]["ports"][0] == {"port": 1, "protocol": "TCP"}
    complete = {"spec": {"mode": "Slow", "tier": "x", "limits": {"cpu": 2, "unit": "m"}}}
    assert SchemaDefaults(SCHEMA).apply(complete) is complete


def test_a_field_absent_from_the_document_is_not_defaulted_inside():
    """Only present objects get their fields' defaults (`spec` absent: nothing to fill)."""
    assert SchemaDefaults(SCHEMA).apply({"status": {}}) == {"status": {}}
    assert SchemaDefaults(SCHEMA).apply("text") == "text"


def test_a_document_deeper_than_any_manifest_is_returned_without_recursing_forever():
    recursive: dict = {"type": "object", "properties": {"x": {"type": "string", "default": "d"}}}
    recursive["properties"]["child"] = recursive  # JSONSchemaProps-like: the schema refers to itself
    document: dict = {}
    node = document
    for _ in range(MAX_DEPTH * 3):
        node["child"] = {}
        node = node["child"]
    filled = SchemaDefaults(recursive).apply(document)
    assert filled["x"] == "d" and filled["child"]["x"] == "d"


def test_only_the_schema_nodes_on_the_documents_paths_are_read():
    """An Argo Workflows CRD has tens of thousands of schema nodes; defaulting a Workflow
    reads a few (the whole schema was walked before, for every kind, in every process)."""
    path = next(VENDORED_CRDS.glob("argoproj.io_workflow_v1alpha1.json.gz"))
    schema = json.loads(gzip.decompress(path.read_bytes()))
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
                "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}]}}
    defaults = SchemaDefaults(schema)
    defaults.apply(workflow)
    assert 0 < defaults.nodes_read < 20
