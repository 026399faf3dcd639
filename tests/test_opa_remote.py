"""Remote OPA evaluation (opa-python-client) against the local OPA REST emulator."""
from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from generator.cli import main
from generator.policy import PolicyError
from generator.policy.engine import PolicySet
from generator.policy.engines.opa_server import policy_id
from tests.emulators.opa_server import OpaEmulator

FIXTURES = Path(__file__).parent / "fixtures" / "conftest"
DOCUMENTS = [
    {"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}},
    {"kind": "Service", "metadata": {"name": "svc"}},
    {"kind": "ConfigMap"},
]


@pytest.fixture
def opa() -> Iterator[OpaEmulator]:
    with OpaEmulator() as server:
        yield server


def remote(opa: OpaEmulator, *paths: Path) -> PolicySet:
    return on_server(list(paths), opa.port)


def on_server(paths: list[Path], port: int, timeout: float = 5.0) -> PolicySet:
    return PolicySet.load(paths, engine="opa-server",
                          engine_options={"host": "127.0.0.1", "port": port, "timeout": timeout})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def key(results: list) -> list:
    return [(r.namespace, r.rule, r.kind, r.msg, r.raw, r.id, r.policy_file) for r in results]


@pytest.mark.parametrize("directory", ["policy", "policy_v1", "gatekeeper"])
def test_remote_results_equal_the_embedded_engine(opa: OpaEmulator, directory: str) -> None:
    local = PolicySet.load([FIXTURES / directory])
    server = remote(opa, FIXTURES / directory)
    for document in DOCUMENTS:
        assert key(server.evaluate(document)) == key(local.evaluate(document))
    assert [key(r) for r in server.evaluate_many(DOCUMENTS, workers=2)] == \
        [key(r) for r in local.evaluate_many(DOCUMENTS, workers=2)]
    assert ("PUT", f"/v1/policies/{policy_id(str(FIXTURES / directory / 'deployment.rego'))}") in opa.state.requests \
        or directory == "gatekeeper"


def test_v0_policies_are_refused_then_pushed_upgraded_and_data_documents_too(opa: OpaEmulator) -> None:
    server = remote(opa, FIXTURES / "policy")
    assert server.engine_label == f"opa-server at http://127.0.0.1:{opa.port}"
    user_modules = {k: v for k, v in opa.state.policies.items() if "aggregate" not in k}
    assert user_modules and all("contains" in source for source in user_modules.values())
    assert opa.state.data == {"registries": ["registry.example.com/"]}
    assert ("GET", "/health") in opa.state.requests


def test_emulator_rejects_v0_like_opa_1(opa: OpaEmulator) -> None:
    v0 = (FIXTURES / "policy" / "deployment.rego").read_text()
    response = requests.put(f"http://127.0.0.1:{opa.port}/v1/policies/v0", data=v0,
                            headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert "`if` keyword is required before rule body" in body["errors"][0]["message"]


def test_emulator_is_strict_about_request_shapes(opa: OpaEmulator) -> None:
    base = f"http://127.0.0.1:{opa.port}"
    assert requests.get(f"{base}/health", timeout=5).json() == {}
    wrong_type = requests.put(f"{base}/v1/policies/x", json={"a": 1}, timeout=5)
    assert wrong_type.status_code == 400
    extra_key = requests.post(f"{base}/v1/data/main/deny", json={"input": {}, "unknown": 1}, timeout=5)
    assert (extra_key.status_code, extra_key.json()["code"]) == (400, "invalid_parameter")
    assert requests.delete(f"{base}/v1/policies/x", timeout=5).status_code == 501  # not emulated
    assert requests.post(f"{base}/v1/query", json={"query": "true"}, timeout=5).status_code == 404


def test_undefined_rule_is_no_result(opa: OpaEmulator) -> None:
    server = remote(opa, FIXTURES / "policy")
    assert server.query("main", "deny", {"kind": "ConfigMap"}) == (True, [])
    assert server.query("main", "no_such_rule", {}) == (False, None)


def write(root: Path, name: str, text: str) -> Path:
    (root / name).write_text(textwrap.dedent(text))
    return root


def test_runtime_error_fails_closed(opa: OpaEmulator, tmp_path: Path) -> None:
    write(tmp_path, "p.rego", """\
        package main
        import rego.v1
        deny contains msg if {
          x := input.kind + 1
          msg := sprintf("%v", [x])
        }
        """)
    with pytest.raises(PolicyError, match=r"querying data\.main\.deny failed: HTTP 500 internal_error"):
        remote(opa, tmp_path).evaluate({"kind": "Deployment"})


def test_network_builtin_is_refused_before_anything_is_pushed(opa: OpaEmulator, tmp_path: Path) -> None:
    write(tmp_path, "p.rego", """\
        package main
        import rego.v1
        deny contains "x" if {
          r := http.send({"method": "get", "url": "http://127.0.0.1:9"})
          r.status_code == 200
        }
        """)
    with pytest.raises(PolicyError, match="http.send is a network built-in"):
        remote(opa, tmp_path)
    assert opa.state.requests == []


def test_unreachable_server_fails_closed() -> None:
    with pytest.raises(PolicyError, match="unreachable"):
        on_server([FIXTURES / "policy"], free_port(), timeout=0.5)


def test_server_going_away_mid_run_fails_closed(tmp_path: Path) -> None:
    with OpaEmulator() as server_process:
        server = on_server([FIXTURES / "policy"], server_process.port, timeout=0.5)
        assert server.evaluate(DOCUMENTS[1])
    with pytest.raises(PolicyError, match=r"querying data\.main\.deny failed"):
        server.evaluate(DOCUMENTS[0])


def test_cli_eval_against_opa_matches_local(opa: OpaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = [str(FIXTURES / "inputs" / name) for name in ("deployment.yaml", "service.yaml")]
    local_rc = main(["policy", "eval", "-p", str(FIXTURES / "policy"), *inputs])
    local_out = capsys.readouterr().out
    remote_rc = main(["policy", "eval", "--opa", f"http://127.0.0.1:{opa.port}", "-p", str(FIXTURES / "policy"), *inputs])
    remote_out = capsys.readouterr().out
    assert (remote_rc, remote_out) == (local_rc, local_out) == (1, local_out)


def test_cli_unreachable_opa_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["policy", "eval", "--opa", f"http://127.0.0.1:{free_port()}", "-p", str(FIXTURES / "policy"),
               str(FIXTURES / "inputs" / "good.json")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "unreachable" in err


def test_remote_applies_conftest_exceptions_like_the_embedded_engine(opa: OpaEmulator, tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(
        'package main\nimport rego.v1\n'
        'deny_latest contains "latest image" if input.image == "x:latest"\n'
        'exception contains ["latest"] if input.name == "allowed"\n')
    local, server = PolicySet.load([tmp_path]), remote(opa, tmp_path)
    for document in ({"image": "x:latest", "name": "allowed"}, {"image": "x:latest", "name": "other"}):
        local_results, local_exceptions = local.evaluate_detailed(document)
        server_results, server_exceptions = server.evaluate_detailed(document)
        assert key(server_results) == key(local_results) and server_exceptions == local_exceptions
    assert [e.msg for e in server.evaluate_detailed({"image": "x:latest", "name": "allowed"})[1]] == \
        ['data.main.exception[_][_] == "latest"']
    assert any(method == "POST" and path.startswith("/v1/data/modelops_internal_aggregate_") and path.endswith("/results")
               for method, path in opa.state.requests)
