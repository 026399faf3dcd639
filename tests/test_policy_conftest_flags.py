"""conftest's flags on `policy eval` and `policy test`, network built-ins failing closed in
every command that runs Rego, and the engine named in --version and reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.policy.engines import installed_engines
from tests.conftest import copy_example
from tests.conftest import write_files as write

NETWORK_RULE = """\
package modelops.custom.callout
import rego.v1
deny contains "unreachable" if {
  r := http.send({"method": "get", "url": "http://127.0.0.1:9"})
  r.status_code == 200
}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("engine", installed_engines())
def test_network_builtin_fails_closed_in_check_eval_and_test(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            engine: str) -> None:
    repo = copy_example(tmp_path / "repo")
    write(repo / "policies", {"callout.rego": NETWORK_RULE,
                              "callout_test.rego": "package modelops.custom.callout\nimport rego.v1\n"
                                                   "test_x if count(deny) >= 0\n"})
    rc, out, err = run(capsys, "-C", str(repo), "check", "--no-cache", "--engine", engine)
    assert rc == 2 and "callout.rego:4:8: http.send is a network built-in" in err and "passed" not in out
    rc, _, err = run(capsys, "policy", "test", "--engine", engine, str(repo / "policies"))
    assert rc == 2 and "http.send is a network built-in" in err
    manifest = write(tmp_path, {"m.yaml": "kind: ConfigMap\n"}) / "m.yaml"
    rc, _, err = run(capsys, "policy", "eval", "--engine", engine, "-p", str(repo / "policies"), str(manifest))
    assert rc == 2 and "http.send is a network built-in" in err
    rc, _, err = run(capsys, "policy", "eval", "--allow-network", "--all-namespaces", "--engine", engine,
                     "-p", str(repo / "policies" / "callout.rego"), str(manifest))
    assert "network built-in" not in err  # allowed explicitly: it loads (and fails to connect, or passes)


def test_capabilities_refuse_unlisted_builtins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {
        "p/main.rego": 'package main\nimport rego.v1\nimport data.lib\n'
                       'deny contains sprintf("%v", [upper(input.a)]) if lib.bad(input)\n'
                       'deny contains "x" if { count(input.b) > 1; local(input) }\nlocal(x) if x.c\n',
        "p/lib.rego": "package lib\nimport rego.v1\nbad(x) if x.a\n",
        "caps.json": json.dumps({"builtins": [{"name": "sprintf"}, {"name": "count"}, {"name": "gt"}]}),
        "in.yaml": "a: x\n",
    })
    rc, _, err = run(capsys, "policy", "eval", "--capabilities", str(tmp_path / "caps.json"),
                     "-p", str(tmp_path / "p"), str(tmp_path / "in.yaml"))
    assert rc == 2
    assert err.count("undefined function") == 1 and "main.rego:4:" in err and "undefined function upper" in err


def test_conftest_toml_and_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"rules/deny.rego": 'package conftest\nimport rego.v1\ndeny contains "no" if input.bad\n',
                     "conftest.toml": 'policy = "rules"\nnamespace = "conftest"\n',
                     "other.toml": 'policy = ["rules"]\nnamespace = ["nothing"]\n',
                     "bad.yaml": "bad: true\n"})
    monkeypatch.chdir(tmp_path)
    rc, out, _ = run(capsys, "policy", "eval", "bad.yaml")
    assert rc == 1 and "FAIL - bad.yaml - conftest - no" in out
    rc, out, _ = run(capsys, "policy", "eval", "-c", "other.toml", "bad.yaml")
    assert rc == 0 and "no policies found" in out
    write(tmp_path, {"broken.toml": "policy = [\n"})
    rc, _, err = run(capsys, "policy", "eval", "-c", "broken.toml", "bad.yaml")
    assert rc == 2 and "broken.toml: invalid TOML" in err


def test_parse_config_builtins(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "p/main.rego": 'package main\nimport rego.v1\n'
                       'deny contains "inline" if parse_config("yaml", "a: 1\\n").a == 1\n'
                       'deny contains "file" if parse_config_file("extra.json").on == true\n'
                       'deny contains "combined" if count(parse_combined_config_files(["extra.json", "x.yaml"])) == 2\n',
        "p/extra.json": '{"on": true}', "p/x.yaml": "k: v\n", "in.yaml": "a: 1\n"})
    monkeypatch.chdir(tmp_path)
    for engine in installed_engines():
        rc, out, _ = run(capsys, "policy", "eval", "--engine", engine, "-p", "p", "in.yaml")
        assert rc == 1 and all(f"- main - {m}" in out for m in ("inline", "file", "combined")), engine


def test_table_and_junit_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"p/main.rego": 'package main\nimport rego.v1\ndeny contains "no" if input.bad\n'
                                    'warn contains "hmm" if input.bad\n', "in.yaml": "bad: true\n"})
    rc, out, _ = run(capsys, "policy", "eval", "-o", "table", "-p", str(tmp_path / "p"), str(tmp_path / "in.yaml"))
    assert rc == 1 and "| RESULT " in out and "| failure | " in out and "| warning | " in out
    rc, out, _ = run(capsys, "policy", "eval", "-o", "junit", "-p", str(tmp_path / "p"), str(tmp_path / "in.yaml"))
    assert rc == 1 and 'failures="1"' in out and 'tests="2"' in out


def test_flags_no_engine_here_honours_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"p/main.rego": 'package main\nimport rego.v1\ndeny contains "no" if input.bad\n',
                     "in.yaml": "bad: true\n"})
    rc, _, err = run(capsys, "policy", "eval", "--strict", "-p", str(tmp_path / "p"), str(tmp_path / "in.yaml"))
    assert rc == 2 and "--strict" in err
    rc, _, err = run(capsys, "policy", "eval", "--trace", "--engine", "regorus", "-p", str(tmp_path / "p"),
                     str(tmp_path / "in.yaml"))
    assert rc == 2 and "--trace needs --engine opa" in err


@pytest.mark.skipif("opa" not in installed_engines(), reason="OPA in-process is not installed")
def test_trace_on_opa_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"p/main.rego": 'package main\nimport rego.v1\ndeny contains "no" if input.bad\n',
                     "in.yaml": "bad: true\n"})
    rc, out, err = run(capsys, "policy", "eval", "--trace", "--engine", "opa", "-o", "json", "-p", str(tmp_path / "p"),
                       str(tmp_path / "in.yaml"))
    assert rc == 1 and json.loads(out)[0]["failures"][0]["msg"] == "no"
    assert "Enter" in err and "data.main.deny" in err


def test_version_and_reports_name_the_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "engine regorus 0." in capsys.readouterr().out
    repo = copy_example(tmp_path / "repo")
    rc, out, _ = run(capsys, "-C", str(repo), "check", "-f", "json")
    assert rc == 0 and json.loads(out)["tool"]["engine"].startswith("regorus ")
    rc, out, _ = run(capsys, "-C", str(repo), "check", "-f", "sarif")
    assert json.loads(out)["runs"][0]["tool"]["driver"]["properties"]["engine"].startswith("regorus ")
