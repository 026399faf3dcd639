"""`modelops train MODEL --env ENV --local|--submit`: run the rendered training command.

`--local` runs the container command of the rendered WorkflowTemplate on this machine
(the launcher and torchrun with the same arguments), for a dev loop without a cluster.
Only what cannot exist here is mapped, and each mapping is printed:
- checkpoints, metrics and the shard cache move under `.modelops-cache/train/<model>/<env>/`;
- the run is named `local-<time>` (a workflow's name on a cluster); `--set run=NAME` resumes one;
- a multi-node launcher runs as one node, and without GPUs as one CPU process;
- a remote dataset `s3://B/K` is read from `data/s3/B/K` in the repository when that folder
  exists (a committed sample), else from the bucket with your own credentials.
`--set FLAG=VALUE` changes a trainer flag (e.g. `--set steps=20`) and says so.
`--submit` creates or updates the WorkflowTemplate on an Argo Server and submits it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ModelopsError
from generator.render.pipeline import render_repository
from generator.render.training_context import (
    DATA_CACHE_MOUNT,
    LAUNCHER_MODULE,
    METRICS_PATH,
    RUN_NAME,
)
from generator.resources import BUNDLED_ROOT
from generator.spec.load import load_repository

__all__ = ["configure", "local_command", "run"]

MULTI_NODE_FLAGS = ("--nnodes=", "--node-rank=", "--rdzv-backend=", "--rdzv-endpoint=", "--rdzv-id=", "--max-restarts=",
                    "--master-addr=", "--master-port=")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="the model to train (metadata.name)")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment whose rendered workflow runs")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--local", action="store_true", help="run the rendered command here with torchrun")
    mode.add_argument("--submit", action="store_true", help="submit the WorkflowTemplate to an Argo Server "
                      "(ARGO_SERVER, ARGO_TOKEN)")
    parser.add_argument("--argo-server", metavar="HOST:PORT", help="--submit: the Argo Server (default: $ARGO_SERVER)")
    parser.add_argument("--set", action="append", default=[], metavar="FLAG=VALUE",
                        help="--local: override a trainer flag or torchrun's nproc-per-node (repeatable)")
    parser.add_argument("--print", dest="print_only", action="store_true", help="--local: print the command only")
    parser.add_argument("--workdir", type=Path, help="--local: where checkpoints and metrics go")


def _container(template: dict[str, Any]) -> dict[str, Any]:
    step = next(t for t in template["spec"]["templates"] if t["name"] == "train")
    if "container" in step:
        return step["container"]
    jobset = yaml.safe_load(step["resource"]["manifest"])
    return jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]


def _single_node(args: list[str]) -> list[str]:
    if not any(a.startswith("--nnodes=") and a != "--nnodes=1" for a in args):
        return args
    kept = [a for a in args if not a.startswith(MULTI_NODE_FLAGS)]
    return ["--standalone", "--nnodes=1", *kept]


def _apply_overrides(args: list[str], overrides: list[str]) -> list[str]:
    out = list(args)
    for item in overrides:
        if "=" not in item:
            raise ModelopsError(f"--set {item!r}: expected FLAG=VALUE, e.g. steps=20")
        flag, value = item.split("=", 1)
        flag = "--" + flag.lstrip("-")
        if flag == "--nproc-per-node":
            out = [f"--nproc-per-node={value}" if a.startswith("--nproc-per-node=") else a for a in out]
        elif flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    return out


def _launcher_args(container: dict[str, Any]) -> list[str]:
    command = list(container.get("command", [])) + list(container.get("args", []))
    prefix = ["python", "-m", LAUNCHER_MODULE]
    if command[:3] != prefix:
        raise ModelopsError("the rendered training command does not run the launcher; nothing to run locally")
    return command[3:]


def _option_value(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None


def _replace_value(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    if flag in out:
        out[out.index(flag) + 1] = value
    return out


def _gpus_here() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def local_command(template: dict[str, Any], workdir: Path, overrides: list[str], *, repo_root: Path | None = None,
                  keep_remote: bool = False, run: str | None = None) -> tuple[list[str], dict[str, str], list[str]]:
    """(argv, environment, notes) to run the template's training command on this machine.

    `keep_remote` keeps object-storage checkpoints and data as rendered (the tests point
    them at a local S3 server); otherwise they are mapped as the module docstring says.
    """
    container = _container(template)
    args, notes = _single_node(_launcher_args(container)), []
    gpus = _gpus_here()
    nproc = next((a.split("=", 1)[1] for a in args if a.startswith("--nproc-per-node=")), "1")
    if nproc.isdigit() and int(nproc) > max(1, gpus):
        args = [f"--nproc-per-node={max(1, gpus)}" if a.startswith("--nproc-per-node=") else a for a in args]
        notes.append(f"--nproc-per-node {nproc} -> {max(1, gpus)} ({gpus} GPU(s) here)")
    run = run or f"local-{time.strftime('%Y%m%d-%H%M%S')}"
    args = [a.replace(RUN_NAME, run) for a in args]
    metrics = _option_value(args, "--metrics-out")
    if metrics is not None and (metrics == METRICS_PATH or not keep_remote):
        args = _replace_value(args, "--metrics-out", str(workdir / "outputs" / "metrics.json"))
    args = _replace_value(args, "--data-cache", str(workdir / "data-cache")) if DATA_CACHE_MOUNT in args else args
    checkpoints = _option_value(args, "--checkpoint-dir")
    if checkpoints is not None and not (keep_remote and "://" in checkpoints):
        args = _replace_value(args, "--checkpoint-dir", str(workdir / "checkpoints"))
        notes.append(f"checkpoints {checkpoints} -> {workdir / 'checkpoints'}")
    args = _mirror_data(args, repo_root, notes) if not keep_remote and repo_root is not None else args
    args = _apply_overrides(args, overrides)
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return [sys.executable, "-m", LAUNCHER_MODULE, *args], env, notes


def _mirror_data(args: list[str], repo_root: Path, notes: list[str]) -> list[str]:
    data = _option_value(args, "--data") or ""
    if "://" not in data:
        return args
    mirror = repo_root / "data" / data.split("://", 1)[0] / data.split("://", 1)[1]
    if not mirror.exists():
        return args
    notes.append(f"dataset {data} -> {mirror} (the repository's local sample)")
    return _replace_value(args, "--data", str(mirror))


def _template(repo_root: str, model: str, env: str) -> dict[str, Any]:
    repo = load_repository(repo_root)
    repo.environment(env)
    spec = repo.model(model)
    if "training" not in spec.data:
        raise ModelopsError(f"{spec.path}: model '{model}' has no training section")
    for file in render_repository(repo, [env], [model]):
        if file.path.endswith("training/workflowtemplate.yaml"):
            return file.documents[0]
    raise ModelopsError(f"no training WorkflowTemplate rendered for {model} in {env}")


def run(args: argparse.Namespace) -> int:
    template = _template(args.repo_root, args.model, args.env)
    if args.submit:
        from generator.argo_submit import submit_workflow_template

        name = submit_workflow_template(template, server=args.argo_server)
        print(f"submitted {name} from WorkflowTemplate {template['metadata']['name']}")
        return 0
    root = Path(args.repo_root).resolve()
    workdir = (args.workdir or root / ".modelops-cache" / "train" / args.model / args.env).resolve()
    argv, env, notes = local_command(template, workdir, args.set, repo_root=root)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for item in args.set:
        print(f"note: overriding {item} (not what the cluster runs)", file=sys.stderr)
    print(" ".join(argv), file=sys.stderr)
    if args.print_only:
        return 0
    (workdir / "outputs").mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BUNDLED_ROOT),
                                                                                    os.environ.get("PYTHONPATH")]))}
    return subprocess.run(argv, env=child_env, check=False).returncode
