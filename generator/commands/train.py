"""`modelops train MODEL --env ENV --local|--submit`: run the rendered training command.

`--local` runs the container command of the rendered WorkflowTemplate on this machine
(torchrun with the same arguments), for a dev loop without a cluster. Only what cannot
exist here is mapped: the checkpoint and metrics paths move under
`.modelops-cache/train/<model>/<env>/`, and a multi-node launcher runs as one node.
`--set FLAG=VALUE` changes a trainer flag (e.g. `--set steps=20`) and says so.
`--submit` creates or updates the WorkflowTemplate on an Argo Server and submits it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ModelopsError
from generator.render.context import CHECKPOINT_MOUNT, METRICS_PATH
from generator.render.pipeline import render_repository
from generator.resources import BUNDLED_ROOT
from generator.spec.load import load_repository

__all__ = ["configure", "run", "local_command"]

MULTI_NODE_FLAGS = ("--nnodes=", "--node-rank=", "--rdzv-backend=", "--rdzv-endpoint=", "--rdzv-id=", "--max-restarts=")


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
    step = template["spec"]["templates"][0]
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


def local_command(template: dict[str, Any], workdir: Path, overrides: list[str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) to run the template's training command on this machine."""
    container = _container(template)
    if container.get("command") != ["torchrun"]:
        raise ModelopsError("the rendered training command is not torchrun; nothing to run locally")
    args = _single_node(list(container["args"]))
    checkpoint = workdir / "checkpoints"
    metrics = workdir / "outputs" / "metrics.json"
    args = [str(checkpoint) if a.startswith(CHECKPOINT_MOUNT + "/") else a for a in args]
    args = [str(metrics) if a == METRICS_PATH else a for a in args]
    args = _apply_overrides(args, overrides)
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return [sys.executable, "-m", "torch.distributed.run", *args], env


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
    workdir = (args.workdir or Path(args.repo_root) / ".modelops-cache" / "train" / args.model / args.env).resolve()
    argv, env = local_command(template, workdir, args.set)
    for item in args.set:
        print(f"note: overriding {item} (not what the cluster runs)", file=sys.stderr)
    print(" ".join(argv), file=sys.stderr)
    if args.print_only:
        return 0
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "outputs").mkdir(exist_ok=True)
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BUNDLED_ROOT),
                                                                                    os.environ.get("PYTHONPATH")]))}
    return subprocess.run(argv, env=child_env, check=False).returncode
