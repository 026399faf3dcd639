"""The committed JSON Schemas under schemas/ are exactly what `modelops schema` prints (drift gate).

Regenerate with `make schemas` after changing generator/spec/schema.py.
"""
from __future__ import annotations

import json

import pytest

from generator.commands.schema import schema_text
from tests.conftest import ROOT


@pytest.mark.parametrize("kind", ["model", "environment"])
def test_committed_schema_matches_the_code(kind, cli):
    committed = (ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), f"schemas/{kind}.schema.json is stale: run `make schemas`"
    code, out, _ = cli("schema", kind)
    assert code == 0 and out == committed


@pytest.mark.parametrize("kind", ["model", "environment"])
def test_committed_schema_is_a_json_schema(kind):
    schema = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("http://json-schema.org/")
    assert schema["properties"]["kind"] == {"const": kind.capitalize()}
