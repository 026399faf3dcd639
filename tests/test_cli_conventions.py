"""Issue 15, item 8: one spelling per concept across every subcommand (docs/cli.md).

The walk covers whatever is registered in `generator.cli.COMMANDS`, nested subcommands
included, so commands added later are held to the same conventions.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import RETIRED, build_parser, subparsers

LONG = re.compile(r"^--[a-z0-9]+(-[a-z0-9]+)*$")
# A short option means the same long option everywhere.
SHORTS = {"-f": "--format", "-o": "--output", "-p": "--policy", "-q": "--quiet", "-v": "--verbose",
          "-C": "--repo-root", "-d": "--data", "-n": "--namespace", "-c": "--config-file", "-h": "--help"}
GLOBAL = ("-q", "-v", "-C")


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield " ".join(("modelops", *path)), parser
    for name, child in subparsers(parser):
        yield from _walk(child, (*path, name))


PARSERS = list(_walk(build_parser()))
LEAVES = [(name, parser) for name, parser in PARSERS if not subparsers(parser)]


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help != argparse.SUPPRESS
            and not isinstance(a, (argparse._SubParsersAction, argparse._HelpAction, argparse._VersionAction))]


def test_walk_sees_every_registered_command() -> None:
    from generator.cli import available_commands

    top = {name for name, _ in subparsers(PARSERS[0][1])}
    assert top == set(available_commands()) and len(LEAVES) >= len(top)


@pytest.mark.parametrize(("command", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
def test_option_spellings(command: str, parser: argparse.ArgumentParser) -> None:
    for action in _visible(parser):
        if not action.option_strings:
            assert action.help, f"{command}: argument {action.dest} has no help"
            continue
        longs = [o for o in action.option_strings if o.startswith("--")]
        assert longs and all(LONG.match(o) for o in longs), f"{command}: {action.option_strings} needs a kebab-case --long"
        assert action.help, f"{command}: {longs[0]} has no help"
        for option in action.option_strings:
            assert option not in RETIRED, f"{command}: {option} is retired; spell it {RETIRED[option]}"
            if not option.startswith("--"):
                assert SHORTS.get(option) in longs, f"{command}: {option} must mean {SHORTS.get(option, 'nothing')}"
        if "--format" in longs:
            assert action.choices, f"{command}: --format must list its choices"


@pytest.mark.parametrize(("command", "parser"), LEAVES, ids=[name for name, _ in LEAVES])
def test_global_options_everywhere(command: str, parser: argparse.ArgumentParser) -> None:
    for option in GLOBAL:
        action = parser._option_string_actions.get(option)
        assert action is not None, f"{command} does not accept {option} after the subcommand"
        assert action.default is argparse.SUPPRESS, f"{command}: {option} after the command would reset it"


@pytest.mark.parametrize(("command", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
def test_retired_spellings_are_hidden_aliases(command: str, parser: argparse.ArgumentParser) -> None:
    canonical = {a.dest for a in _visible(parser)}
    for option, action in parser._option_string_actions.items():
        if option in RETIRED:
            assert action.help == argparse.SUPPRESS and action.dest in canonical, (command, option)


def test_global_options_after_the_subcommand(example_repo: Path, cli) -> None:
    before = cli("-q", "-C", str(example_repo), "render", "--check")
    after = cli("render", "--check", "-q", "-C", str(example_repo))
    assert before == after == (0, "", "")
    assert cli("status", "-C", str(example_repo))[0] == 0


def test_quiet_and_verbose_conflict_wherever_given(example_repo: Path, cli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("-q", "-C", str(example_repo), "status", "-v")
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("old", "new"), [
    (["report", "--out", "r.html"], ["report", "--output", "r.html"]),
    (["render", "--out", "tree"], ["render", "--output-dir", "tree"]),
])
def test_old_spellings_still_work(example_repo: Path, tmp_path: Path, cli, old: list[str], new: list[str]) -> None:
    first = [*old[:-1], str(tmp_path / "a" / old[-1])]
    second = [*new[:-1], str(tmp_path / "b" / new[-1])]
    assert cli("-q", "-C", str(example_repo), *first)[0] == 0
    assert cli("-q", "-C", str(example_repo), *second)[0] == 0
    assert sorted(p.name for p in (tmp_path / "a").rglob("*")) == sorted(p.name for p in (tmp_path / "b").rglob("*"))


def test_policy_eval_fail_on_spellings_agree(cli) -> None:
    parser = build_parser("policy")
    old = parser.parse_args(["policy", "eval", "--fail-on-warn", "--opa", "http://h:1", "-o", "json", "x.yaml"])
    new = parser.parse_args(["policy", "eval", "--fail-on", "warn", "--opa-url", "http://h:1", "-f", "json", "x.yaml"])
    assert (old.fail_on_warn, old.opa_url, old.output) == (new.fail_on_warn, new.opa_url, new.output) \
        == (True, "http://h:1", "json")


def test_train_submit_error_names_a_flag_that_exists(example_repo: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARGO_SERVER", raising=False)
    code, _, err = cli("-C", str(example_repo), "train", "support-chat", "--env", "dev", "--submit")
    assert code == 2
    flags = set(re.findall(r"--[a-z][a-z-]+", err))
    assert flags, err
    train = dict(subparsers(build_parser("train")))["train"]
    assert flags <= set(train._option_string_actions), f"{err} names a flag `train` does not have"


def test_quiet_shortens_check(example_repo: Path, cli) -> None:
    spec = example_repo / "models/support-chat.yaml"
    text = spec.read_text()
    digest = re.search(r"vllm-openai(@sha256:[0-9a-f]+)", text)
    assert digest is not None
    spec.write_text(text.replace(digest.group(1), ":latest"))  # dev warns, staging and prod deny
    code, full, _ = cli("-C", str(example_repo), "check", "--no-cache")
    quiet_code, quiet, _ = cli("check", "-q", "--no-cache", "-C", str(example_repo))
    assert code == quiet_code
    assert len(quiet.splitlines()) < len(full.splitlines())
    assert "remediation:" in full and "remediation:" not in quiet
    assert "[WARN]" in full and "[WARN]" not in quiet and "[DENY]" in quiet
    assert quiet.splitlines()[-1] == full.splitlines()[-1]
