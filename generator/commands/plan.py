"""`modelops plan MODEL [--env ENV]`: will the training request fit, and what is the smallest that does."""
from __future__ import annotations

import argparse
import json
import sys

from generator.capacity import TrainingPlan, training_plan
from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.spec.load import load_repository
from generator.spec.model import resolve

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="the model to plan (metadata.name)")
    parser.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable)")
    parser.add_argument("--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)")


def _text(plan: TrainingPlan) -> str:
    p, o = plan.plan, plan.other
    bpp = p.bytes_per_param
    rec = f"{plan.recommendation[1]} x {plan.recommendation[0]}" if plan.recommendation else "none within quota"
    return "\n".join([
        f"{plan.model} in {plan.environment}: {plan.parameters:,} parameters ({plan.parameters_source})",
        (f"  request: {plan.gpus} x {plan.gpu_type} ({p.gpu_memory_gib:.1f} GiB usable each), {p.strategy}, "
        f"{p.precision}, {p.optimizer}"),
        (f"  bytes/param: {bpp.total} (weights {bpp.weights}, grads {bpp.gradients}, master {bpp.master_weights}, "
        f"optimizer {bpp.optimizer}); model state {p.model_state_gib:.1f} GiB"),
        (f"  per GPU: ddp {p.ddp_memory_per_gpu_gib:.1f} GiB, fsdp {p.fsdp_memory_per_gpu_gib:.1f} GiB "
        f"(incl. {p.activation_reserve_gib:.1f} GiB activation reserve)"),
        f"  {'FITS' if p.fits else 'DOES NOT FIT'}: {p.reason}",
        f"  with {o.strategy}: {'fits' if o.fits else 'does not fit'} ({o.memory_per_gpu_gib:.1f} GiB per GPU)",
        f"  smallest allowed configuration ({p.strategy}): {rec}; environment quota {plan.quota} GPUs",
    ]) + "\n"


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root, cache=True)  # parsed specs from .modelops-cache: plan stays interactive
    spec = repo.model(args.model)
    if "training" not in spec.data:
        raise ModelopsError(f"{spec.path}: model '{spec.name}' has no training section to plan")
    planned = [training_plan(resolve(spec, env)) for env in repo.select_environments(args.env)]
    plans = [p for p in planned if p is not None]
    if not plans:
        raise ModelopsError(f"{spec.path}: declare training.architecture.preset or .parameters to plan capacity")
    if args.format == "json":
        payload = [p.as_policy_input() | {"model": p.model, "environment": p.environment} for p in plans]
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write("\n".join(_text(p) for p in plans))
    return EXIT_OK if all(p.fits for p in plans) else EXIT_FINDINGS
