"""`modelops report`: the self-contained HTML page (structure, escaping, determinism, open
promotions read from real git) and the page itself in headless Chromium, whose screenshot
is kept as a test artifact (test-artifacts/report.png)."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from generator.cli import main
from generator.gitops.status import release_matrix
from generator.report_html.builder import GpuEnvironment, GpuUse, open_promotions
from generator.report_html.page import PLOT_HEIGHT, PLOT_TOP, chart_layout
from generator.spec.load import load_repository
from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("MODELOPS_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
WINDOW = (1400, 2000)
HOSTILE = "<script>document.documentElement.setAttribute('data-pwned', '1')</script>"
VOID = {"meta", "br", "link", "img", "input", "hr", "wbr", "source", "area", "base", "col", "embed"}
GIT_ENV = {"GIT_AUTHOR_NAME": "Test User", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test User", "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


# a small DOM, enough to ask structural questions of the page -------------------------------------

@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.walk() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"expected one #{ident}, found {len(found)}"
        return found[0]

    def content(self) -> str:
        return " ".join(" ".join(self.text + [c.content() for c in self.children]).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


# repositories ----------------------------------------------------------------------------------

def copy_inputs(dest: Path) -> Path:
    for name in ("models", "environments", "blueprints"):
        shutil.copytree(ROOT / name, dest / name)
    return dest


def git(cwd: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **GIT_ENV,
           "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args],
                          cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def commit_promotion(work: Path, model: str, source: str, target: str, version: str) -> None:
    """A commit shaped like the ones `modelops promote` makes: subject, then trailers."""
    git(work, "switch", "--quiet", "-c", f"promote/{model}/{target}", "main")
    (work / f"promotion-{model}.txt").write_text(f"{model} {version}\n", encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", f"promote({model}): {source} -> {target} (v{version})\n\n"
        f"Modelops-Model: {model}\nModelops-Source: {source}\nModelops-Target: {target}\n"
        f"Modelops-ModelVersion: {version}\nModelops-Promotion: {model}/{target}\n")
    git(work, "switch", "--quiet", "main")


def make_rich_repo(base: Path) -> Path:
    """The example with something in every section: deny, warn and waived findings, an
    over-quota environment, a hostile description, and promotion branches (local,
    remote-tracking, and one already merged)."""
    work = copy_inputs(base / "work")
    edit(work / "models/shelf-vision.yaml", "registry.example.com/nvidia/", "docker.io/nvidia/")
    edit(work / "models/support-chat.yaml", "replicas: {min: 3, max: 12}", "replicas: {min: 3, max: 120}")
    edit(work / "models/churn-scorer.yaml", "  owner:", f'  description: "Weekly churn scores {HOSTILE}"\n  owner:')
    (work / "waivers.yaml").write_text(
        "waivers:\n  - rule: MO-IMG-003\n    models: [shelf-vision]\n    environments: [staging]\n"
        "    reason: Triton image mirror pending (PLAT-2231)\n    owner: retail-vision@example.com\n"
        "    expires: 2099-12-31\n", encoding="utf-8")
    remote = base / "remote.git"
    git(base, "init", "--bare", "--quiet", str(remote))
    git(work, "init", "--quiet")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "initial")
    git(work, "remote", "add", "origin", remote.as_uri())
    git(work, "branch", "promote/shelf-vision/prod")  # merged: its tip is on main
    commit_promotion(work, "support-chat", "dev", "staging", "8")
    commit_promotion(work, "churn-scorer", "staging", "prod", "2026.11.3")
    git(work, "push", "--quiet", "origin", "main", "promote/support-chat/staging", "promote/churn-scorer/prod")
    git(work, "branch", "--quiet", "-D", "promote/churn-scorer/prod")  # only the remote-tracking ref remains
    git(work, "fetch", "--quiet", "origin")
    return work


def render(repo: Path, out: Path, *extra: str) -> str:
    assert main(["-q", "-C", str(repo), "report", "--out", str(out), *extra]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = copy_inputs(tmp_path_factory.mktemp("example"))
    return repo, render(repo, repo / "report.html")


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    repo = make_rich_repo(tmp_path_factory.mktemp("rich"))
    out = repo.parent / "report.html"
    return repo, out, render(repo, out)


# structure -------------------------------------------------------------------------------------

def test_matrix_lists_every_model_in_every_environment(example: tuple[Path, str]) -> None:
    page = parse(example[1]).by_id("matrix")
    assert [th.attrs["data-environment"] for th in page.find("th") if "data-environment" in th.attrs] == \
        ["dev", "staging", "prod"]
    rows = [r for r in page.find("tr") if "data-model" in r.attrs]
    assert [r.attrs["data-model"] for r in rows] == ["churn-scorer", "shelf-vision", "support-chat"]
    assert all(len(r.find("td", cls="release")) == 3 for r in rows)
    assert "v2026.11.3" in rows[0].content() and "v14" in rows[1].content()


def test_lagging_cells_are_marked_with_their_source(example: tuple[Path, str]) -> None:
    repo, html = example
    matrix = release_matrix(load_repository(repo))
    expected = {(c.model, c.environment, f"behind {c.source}") for c in matrix.lagging()}
    assert len(expected) == 3
    marked = {(row.attrs["data-model"], td.attrs["data-environment"], td.find("span", cls="behind")[0].content())
              for row in parse(html).by_id("matrix").find("tr") if "data-model" in row.attrs
              for td in row.find("td", cls="lagging")}
    assert marked == expected


def test_findings_table_present_when_clean(example: tuple[Path, str]) -> None:
    findings = parse(example[1]).by_id("findings")
    assert "No findings" in findings.content()


def test_chart_has_one_bar_group_per_environment(example: tuple[Path, str]) -> None:
    repo, html = example
    loaded = load_repository(repo)
    chart = parse(html).by_id("gpu-chart")
    assert chart.tag == "svg"
    bars = chart.find("g", cls="env-bar")
    assert [b.attrs["data-environment"] for b in bars] == ["dev", "staging", "prod"]
    for bar in bars:
        env = bar.attrs["data-environment"]
        requested = sum(r.gpu_request() for r in loaded.resolved([env]))
        assert (int(bar.attrs["data-requested"]), int(bar.attrs["data-quota"])) == \
            (requested, loaded.environments[env].data["gpus"]["quota"])
        assert bar.find("line", cls="quota") and f"quota {bar.attrs['data-quota']}" in bar.content()
        segments = bar.find("rect", cls="segment")
        assert {s.attrs["data-model"] for s in segments} == {"shelf-vision", "support-chat"}  # churn-scorer is CPU
        assert all(s.find("title") for s in segments)
    assert "support-chat in prod: 28 GPUs (training 16 x nvidia-h100-80gb, serving 12 x nvidia-l4" in html


def test_page_references_nothing_outside_itself(example: tuple[Path, str]) -> None:
    html = example[1]
    dom = parse(html)
    for node in dom.walk():
        for name, value in node.attrs.items():
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data", "formaction"):
                assert "://" not in value and not value.startswith("//"), (node.tag, name, value)
    assert not dom.find("link") and not dom.find("img") and not dom.find("iframe")
    assert all("src" not in s.attrs for s in dom.find("script"))
    assert "url(" not in html and "@import" not in html
    csp = [m.attrs["content"] for m in dom.find("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]


def test_output_is_deterministic_and_stdout_works(example: tuple[Path, str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo, html = example
    capsys.readouterr()
    assert main(["-C", str(repo), "report", "--out", "-", "--generated-at", "2026-11-27 10:00 UTC"]) == 0
    stamped = capsys.readouterr().out
    assert "<time>2026-11-27 10:00 UTC</time>" in stamped and "<time>" not in html
    assert stamped.replace(" &middot; generated <time>2026-11-27 10:00 UTC</time>", "") == html


def test_without_git_the_promotions_say_so(example: tuple[Path, str]) -> None:
    assert "no git repository" in parse(example[1]).by_id("promotions").content()


def test_unknown_repository_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(tmp_path), "report", "--out", str(tmp_path / "r.html")]) == 2
    assert "no environments found" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_open_promotions_come_from_local_and_remote_branches(rich: tuple[Path, Path, str]) -> None:
    rows = [r for r in parse(rich[2]).by_id("promotions").find("tr") if "data-model" in r.attrs]
    assert [(r.attrs["data-model"], r.attrs["data-target"]) for r in rows] == \
        [("churn-scorer", "prod"), ("support-chat", "staging")]  # the merged shelf-vision branch is left out
    churn, chat = (r.content() for r in rows)
    assert "staging → prod" in churn and "2026.11.3" in churn and "origin/promote/churn-scorer/prod" in churn
    assert "promote/support-chat/staging" in chat and "origin/promote/support-chat/staging" in chat
    assert "promote(support-chat): dev -> staging (v8)" in chat


def test_model_fields_are_escaped(rich: tuple[Path, Path, str]) -> None:
    html = rich[2]
    assert HOSTILE not in html
    assert "&lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;, &#39;1&#39;)" in html
    assert len(parse(html).find("script")) == 1  # only the page's own layout check


def test_findings_by_model_and_level(rich: tuple[Path, Path, str]) -> None:
    dom = parse(rich[2])
    rows = dom.by_id("findings").find("tr", cls="finding")
    levels = {(r.attrs["data-model"], r.attrs["data-level"]) for r in rows}
    assert {("shelf-vision", "deny"), ("shelf-vision", "warn"), ("shelf-vision", "waived"),
            ("support-chat", "deny")} <= levels
    summary = {r.attrs["data-model"]: r for r in dom.by_id("findings-summary").find("tr") if "data-model" in r.attrs}
    assert "shelf-vision" in summary and "support-chat" in summary
    waived = [r for r in rows if r.attrs["data-level"] == "waived"]
    assert waived and "Triton image mirror pending" in waived[0].content()
    prod = [b for b in dom.by_id("gpu-chart").find("g", cls="env-bar") if b.attrs["data-environment"] == "prod"]
    assert "over" in prod[0].classes and "over quota" in prod[0].content()


def test_fresh_repository_has_no_promotions(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")  # unborn HEAD: nothing is merged, nothing is open
    assert open_promotions(tmp_path) == ((), None)
    git(tmp_path, "commit", "--quiet", "--allow-empty", "-m", "initial")
    git(tmp_path, "branch", "promote/a/b")
    assert open_promotions(tmp_path) == ((), None)  # its tip is HEAD: merged


def test_chart_stacks_segments_on_one_scale() -> None:
    def use(model: str, env: str, training: int, serving: int) -> GpuUse:
        return GpuUse(model, env, training, "nvidia-h100-80gb", serving, "nvidia-l4", None, None, None, "")

    gpus = (GpuEnvironment("dev", 10, (use("a", "dev", 4, 2), use("b", "dev", 0, 0))),
            GpuEnvironment("prod", 20, (use("a", "prod", 16, 8), use("b", "prod", 0, 4))))
    chart = chart_layout(gpus, ("a", "b"))
    dev, prod = chart.bars
    assert [s.model for s in dev.segments] == ["a"] and [s.model for s in prod.segments] == ["a", "b"]
    assert not dev.over_quota and prod.over_quota and prod.percent == 140
    top = chart.ticks[-1][1]
    assert top >= 28 and chart.ticks[0] == (PLOT_TOP + PLOT_HEIGHT, 0)
    first, second = prod.segments
    assert second.y + second.height == pytest.approx(first.y, abs=0.02)  # stacked without gaps
    assert abs(first.height / 24 - second.height / 4) < 0.01  # heights proportional to GPUs
    assert prod.quota_y > prod.top  # the bar rises above its quota line


# headless Chromium -----------------------------------------------------------------------------

def chromium(args: list[str], profile: Path, page: Path) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (scripts/install-test-deps.sh, "
                    "or apt-get install -y chromium) to run the browser check")
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
               "--enable-logging=stderr", "--v=0", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HOME": str(profile)})


def page_console(stderr: str, page: Path) -> list[str]:
    """Console output attributed to the page (Chromium's own dbus/GPU noise is not)."""
    return [line for line in stderr.splitlines()
            if ("CONSOLE" in line and page.as_uri() in line) or "Uncaught" in line]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def browser(rich: tuple[Path, Path, str], tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple]:
    base = tmp_path_factory.mktemp("chromium")

    def run(*args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        profile = Path(os.path.join(base, f"profile-{len(list(base.iterdir()))}"))
        return chromium(list(args), profile, rich[1]), rich[1]

    return run


def test_screenshot_is_kept_as_an_artifact(browser: Callable[..., tuple], tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result, page = browser(f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not page_console(result.stderr, page)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report.png")
    assert shot.stat().st_size > 10_000
    assert png_size(shot) == WINDOW


def test_page_renders_without_console_errors_and_shows_matrix_and_chart(browser: Callable[..., tuple]) -> None:
    result, page = browser("--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert page_console(result.stderr, page) == []
    root = parse(result.stdout).find("html")[0]
    assert root.attrs.get("data-ok") == "1", "the page's script did not run"
    assert "data-pwned" not in root.attrs
    layout = dict(item.split(":", 1) for item in root.attrs["data-layout"].split())
    assert layout["matrix"].startswith("visible:") and layout["gpu-chart"].startswith("visible:"), layout
    rendered = parse(result.stdout)
    assert len(rendered.by_id("gpu-chart").find("g", cls="env-bar")) == 3
