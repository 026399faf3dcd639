"""`modelops completion`: scripts generated from the argparse tree, checked by the real shells."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import available_commands, build_parser
from generator.commands.completion import bash_script, walk, zsh_script

needs_zsh = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")


@pytest.fixture(scope="module")
def nodes():
    return walk(build_parser())


def _script(cli, shell: str) -> str:
    code, out, err = cli("completion", shell)
    assert code == 0, err
    return out


def test_walk_covers_commands_nested_commands_and_options(nodes):
    by_path = {node.path: node for node in nodes}
    assert set(by_path["modelops"].subcommands) == set(available_commands())
    assert {"-C", "--repo-root", "-q", "--verbose"} <= set(by_path["modelops"].options)
    assert {"test", "eval"} <= set(by_path["modelops policy"].subcommands)
    assert "modelops policy test" in by_path
    model = by_path["modelops new model"]
    assert model.value_options["--runtime"] == ["vllm", "triton", "custom"]
    assert model.value_options["--gpus"] == []
    assert "--training" in model.options and "--training" not in model.value_options
    assert by_path["modelops completion"].choices == ["bash", "zsh"]


def test_hidden_options_are_not_offered(nodes):
    for node in nodes:
        assert not any("SUPPRESS" in text for text in node.options.values()), node.path


def test_bash_script_is_valid_and_names_every_command(cli, tmp_path):
    script = _script(cli, "bash")
    path = tmp_path / "modelops.bash"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    for name in available_commands():
        assert f"'modelops {name}') cmdpath=" in script
    assert script.rstrip().endswith("complete -o default -F _modelops modelops")


def _bash_complete(script: Path, *words: str) -> list[str]:
    driver = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              'COMPREPLY=(); _modelops; printf "%s\\n" "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "-c", driver, "bash", str(script), *words],
                            check=True, capture_output=True, text=True)
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(("words", "expected"), [
    (("modelops", "po"), ["policy"]),
    (("modelops", "-C", "/tmp", "ren"), ["render"]),  # a global option's value is skipped
    (("modelops", "policy", ""), ["test", "eval"]),
    (("modelops", "new", ""), ["model"]),
    (("modelops", "new", "model", "x", "--runtime", ""), ["vllm", "triton", "custom"]),
    (("modelops", "check", "--format", "sa"), ["sarif"]),
    (("modelops", "schema", "e"), ["environment"]),
    (("modelops", "completion", ""), ["bash", "zsh"]),
    (("modelops", "render", "--ch"), ["--check"]),
])
def test_bash_completes(cli, tmp_path, words, expected):
    path = tmp_path / "modelops.bash"
    path.write_text(_script(cli, "bash"))
    offered = _bash_complete(path, *words)
    assert set(expected) <= set(offered), offered


@needs_zsh
def test_zsh_script_is_valid(cli, tmp_path):
    path = tmp_path / "_modelops"
    path.write_text(_script(cli, "zsh"))
    subprocess.run(["zsh", "-n", str(path)], check=True)
    assert path.read_text().startswith("#compdef modelops\n")


@needs_zsh
def test_zsh_completes(cli, tmp_path):
    path = tmp_path / "_modelops"
    path.write_text(_script(cli, "zsh"))
    # The completion system's builtins are stubbed to print what they were offered.
    driver = f"""
compdef() {{ : }}
_describe() {{ local arr=$4; print -rl -- ${{(P)arr}} }}
compadd() {{ [[ $1 == -- ]] && shift; print -rl -- "$@" }}
_files() {{ print -r -- FILES }}
source {str(path)!r}
t() {{ words=("$@"); CURRENT=${{#words}}; PREFIX=${{words[-1]}}; print -r -- "== $*"; _modelops }}
t modelops ''
t modelops policy ''
t modelops new model x --runtime ''
t modelops check --
t modelops check --output ''
"""
    out = subprocess.run(["zsh", "-f", "-c", driver], check=True, capture_output=True, text=True).stdout
    sections = {block.split("\n", 1)[0]: block for block in out.split("== ")[1:]}
    assert "render:render specs" in sections["modelops "]
    assert "test:run every test_* rule" in sections["modelops policy "]
    assert sections["modelops new model x --runtime "].split()[-3:] == ["vllm", "triton", "custom"]
    assert "--fail-on:" in sections["modelops check --"]
    assert "FILES" in sections["modelops check --output "]


def test_quoting_survives_odd_help_text():
    from generator.commands.completion import Node

    node = Node("modelops", subcommands={"it's": "a 'quoted' $(help): =x"}, options={"--x": "say \"hi\""})
    assert "'modelops it'\\''s'" in bash_script([node])
    assert "'it'\\''s:a '\\''quoted'\\'' $(help): =x'" in zsh_script([node])
