"""The built-in library reviews a plain Kubernetes manifest as well as modelops's envelope.

Issue 15, item 5: `policy eval -p policies bad.yaml` on a privileged, hostNetwork,
`:latest` Deployment with a plaintext password reported "40 passed", because every rule
read `input.document` only.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.policy.engines import installed_engines
from tests.conftest import ROOT

BAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: nginx:latest
          securityContext: {privileged: true}
          env:
            - {name: DB_PASSWORD, value: "hunter2-plaintext-pw"}
"""


@pytest.mark.parametrize("engine", installed_engines())
def test_builtin_rules_review_a_plain_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               engine: str) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(BAD)
    rc = main(["policy", "eval", "--all-namespaces", "--engine", engine, "-p", str(ROOT / "policies"), str(manifest)])
    out = capsys.readouterr().out
    assert rc == 1
    for expected in ("modelops.serving.host_isolation - container 'web' is privileged",
                     "modelops.serving.host_isolation - pod sets hostNetwork: true",
                     "modelops.images.no_latest - image 'nginx:latest' uses the mutable ':latest' tag",
                     "modelops.secrets.plaintext_env - env var 'DB_PASSWORD' holds a literal value"):
        assert expected in out
