"""modelops's processes run the cyclic garbage collector at their own pace (generator.collector)."""
from __future__ import annotations

import gc
from pathlib import Path

from generator.collector import YOUNG_OBJECTS


def test_the_cli_collects_less_often_than_cpythons_default(tmp_path: Path, cli) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        code, _, err = cli("validate", str(manifest))
        assert (code, err) == (0, "")
        assert gc.get_threshold() == (YOUNG_OBJECTS, 10, 10)
    finally:
        gc.set_threshold(*before)
