"""`modelops init DIR`: scaffold a new GitOps repository that renders and checks clean at once.

Every file comes from a plain template in `generator/scaffold/repo/` (user values quoted
by `yaml_scalar`), plus an example model from `modelops new`, the JSON Schemas, and the
serving chart that the rendered Argo CD Applications point at. Existing files are never
overwritten, with or without --force: --force only allows a non-empty DIR, and every file
that is already there is skipped and named.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from generator.commands.new import ModelRequest, read_environments, spec_text
from generator.commands.schema import schema_text
from generator.distribution import install_spec
from generator.errors import ModelopsError
from generator.render.pipeline import render_repository
from generator.render.writer import apply_changes, atomic_write, plan_changes
from generator.resources import bundled
from generator.scaffold import PLACEHOLDER_REPO_URL, fill, template_text, yaml_scalar
from generator.spec.load import load_repository

__all__ = ["configure", "run", "scaffold", "Scaffold", "DEFAULT_REPO_URL", "ENVIRONMENTS"]

DEFAULT_REPO_URL = PLACEHOLDER_REPO_URL
CHART = "blueprints/charts/model-serving"
EXAMPLE_MODEL = "example-model"


@dataclass(frozen=True)
class _Env:
    name: str
    promotes_from: str | None
    gpus: tuple[str, ...]
    quota: int
    enforcement: str
    prune: bool
    description: str


# The promotion chain; findings only warn in dev, where people experiment.
ENVIRONMENTS = (
    _Env("dev", None, ("nvidia-h100-80gb", "nvidia-a100-80gb", "nvidia-l4", "nvidia-t4"), 16, "warn", True,
         "dev: where new models and versions land first; policy findings are warnings here."),
    _Env("staging", "dev", ("nvidia-h100-80gb", "nvidia-a100-80gb", "nvidia-l4"), 32, "deny", True,
         "staging: promoted from dev; policy findings fail `modelops check`."),
    _Env("prod", "staging", ("nvidia-h100-80gb", "nvidia-l4"), 64, "deny", False,
         "prod: promoted from staging; Argo CD never prunes here, deletions are deliberate."),
)

# destination -> template under generator/scaffold/repo/ (dotfiles are not package-data friendly)
STATIC_FILES = {
    ".modelops.yaml": "modelops.yaml",
    "waivers.yaml": "waivers.yaml",
    ".gitignore": "gitignore",
    "policies/README.md": "policies-README.md",
    "policies/example/team_rule.rego": "policies/team_rule.rego",
    "policies/example/team_rule_test.rego": "policies/team_rule_test.rego",
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
}
# destination -> template that installs modelops in CI (@@pip_spec@@ filled in)
CI_FILES = {".github/workflows/modelops.yml": "github-workflow.yml", ".gitlab-ci.yml": "gitlab-ci.yml"}


@dataclass
class Scaffold:
    """What `scaffold` did: files written and files left alone because they existed."""

    root: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="where to create the repository (relative to -C)")
    parser.add_argument("--repo-url", metavar="URL", default=DEFAULT_REPO_URL,
                        help="the Git URL Argo CD syncs this repository from (default: a placeholder)")
    parser.add_argument("--force", action="store_true",
                        help="allow a non-empty DIR; existing files are still never overwritten")


def _check_repo_url(url: str) -> None:
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ModelopsError(f"--repo-url {url!r}: a URL must be non-empty, without spaces or control characters")


def _title(directory: Path) -> str:
    name = directory.resolve().name
    return name if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) else "ML models GitOps repository"


def _code_span(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _environment_text(env: _Env, repo_url: str) -> str:
    return fill("repo/environment.yaml", {
        "description": env.description, "name": yaml_scalar(env.name),
        "promotes_from": yaml_scalar(env.promotes_from), "namespace": yaml_scalar(f"ml-{env.name}"),
        "project": yaml_scalar(f"ml-{env.name}"), "repo_url": yaml_scalar(repo_url),
        "prune": yaml_scalar(env.prune), "gpus_allowed": "[" + ", ".join(yaml_scalar(g) for g in env.gpus) + "]",
        "gpu_quota": str(env.quota), "enforcement": yaml_scalar(env.enforcement),
        "queue": yaml_scalar(f"ml-{env.name}-training"),
    })


def _planned_files(root: Path, repo_url: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for env in ENVIRONMENTS:
        files[f"environments/{env.name}/environment.yaml"] = _environment_text(env, repo_url).encode()
    for destination, template in STATIC_FILES.items():
        files[destination] = template_text(f"repo/{template}").encode()
    pip_spec = install_spec()
    for destination, template in CI_FILES.items():
        files[destination] = fill(f"repo/{template}", {"pip_spec": yaml_scalar(pip_spec)}).encode()
    files["README.md"] = fill("repo/README.md", {"title": _title(root), "repo_url": _code_span(repo_url),
                                                 "pip_spec_shell": shlex.quote(pip_spec)}).encode()
    files["schemas/model.schema.json"] = schema_text("model").encode()
    files["schemas/environment.schema.json"] = schema_text("environment").encode()
    chart = bundled(CHART)
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        files[f"{CHART}/{path.relative_to(chart).as_posix()}"] = path.read_bytes()
    return files


def _write_new(root: Path, relative: str, data: bytes, result: Scaffold) -> None:
    target = root / relative
    if target.exists() or target.is_symlink():
        result.skipped.append(relative)
        return
    try:
        atomic_write(target, data)
    except OSError as error:
        raise ModelopsError(f"cannot write {target}: {error.strerror or error}") from None
    result.written.append(relative)


def _example_model(root: Path) -> bytes:
    # Fitted to the environments actually on disk: with --force they may be the user's own.
    request = ModelRequest(name=EXAMPLE_MODEL, runtime="custom", team="ml-team", owner="ml-team@example.com",
                           cost_center="cc-0000")
    return spec_text(request, read_environments(root)).text.encode()


def _render(root: Path) -> int:
    repo = load_repository(root)
    files = render_repository(repo, None, None)
    apply_changes(root, files, plan_changes(root, files))
    return len(files)


def scaffold(root: Path, *, repo_url: str = DEFAULT_REPO_URL, force: bool = False) -> Scaffold:
    """Create the repository under `root`; raises ModelopsError for a non-empty root without `force`."""
    _check_repo_url(repo_url)
    if root.exists() and not root.is_dir():
        raise ModelopsError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ModelopsError(f"{root} is not empty; use --force to add the missing files (existing files are kept)")
    result = Scaffold(root)
    for relative, data in _planned_files(root, repo_url).items():
        _write_new(root, relative, data, result)
    _write_new(root, f"models/{EXAMPLE_MODEL}.yaml", _example_model(root), result)
    return result


def run(args: argparse.Namespace) -> int:
    root = Path(args.repo_root) / args.directory
    result = scaffold(root, repo_url=args.repo_url, force=args.force)
    for relative in result.skipped:
        print(f"modelops: skipped {relative} (already exists)", file=sys.stderr)
    try:
        rendered = _render(root)
    except ModelopsError as error:
        raise ModelopsError(f"scaffold written to {root}, but rendering it failed; fix the problems below and "
                            f"run `modelops -C {root} render`:\n{error}") from None
    if not args.quiet:
        if args.verbose:
            for relative in result.written:
                print(f"create  {relative}")
        print(f"initialised {root}: {len(result.written)} file(s) written, {len(result.skipped)} skipped, "
              f"{rendered} rendered")
        if args.repo_url == DEFAULT_REPO_URL:
            print("note: argocd.repoURL is a placeholder; set it in environments/*/environment.yaml "
                  "(or rerun with --repo-url); `check` fails on it in staging and prod")
        print(f"note: models/{EXAMPLE_MODEL}.yaml has a placeholder image digest; `check` fails on it in staging "
              "and prod until it names your image (README: The first release)")
        print(f"next: cd {root} && git init && modelops check")
    return 0
