"""`modelops new model NAME --runtime vllm|triton|custom`: write a valid, commented model spec.

The spec is filled from templates in `generator/scaffold/model/` and fitted to the
repository it lands in: images use a registry every environment trusts (pinned by a
placeholder digest, so `check` passes until the real one is filled in), and a GPU type an
environment does not allow is swapped, for that environment only, for the closest type it
does allow. The result is validated against the schema before anything is written.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError, SpecError
from generator.gpus import GPU_TYPES, GpuType, gpu_catalogue
from generator.render.writer import atomic_write
from generator.scaffold import PLACEHOLDER_DIGEST, fill, template_text, yaml_scalar
from generator.spec.load import ENVIRONMENTS_DIR, MODELS_DIR
from generator.spec.schema import IMAGE, LABEL_VALUE, MODEL_SCHEMA
from generator.spec.validate import did_you_mean, schema_problems
from generator.yamlio import load_located

__all__ = ["configure", "run", "ModelRequest", "NewSpec", "parse_gpus", "read_environments", "spec_text",
           "write_model"]

RUNTIMES = ("vllm", "triton", "custom")
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$")  # DNS-1123 label, letter first, <= 53
TEAM_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
OWNER_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COST_CENTER_PATTERN = re.compile(LABEL_VALUE)
DEFAULT_REGISTRY = "registry.example.com/"
DEFAULT_GPU = "nvidia-l4"
SERVER_IMAGES = {"vllm": "vllm/vllm-openai", "triton": "nvidia/tritonserver"}
MODEL_URIS = {"vllm": "s3://models/{name}/", "triton": "s3://models/{name}/repository", "custom": "s3://models/{name}/"}


@dataclass(frozen=True)
class ModelRequest:
    name: str
    runtime: str
    gpus: tuple[str, int] | None = None
    team: str = "ml-team"
    owner: str = "ml-team@example.com"
    cost_center: str = "cc-0000"
    training: bool = False


@dataclass(frozen=True)
class NewSpec:
    text: str
    notes: list[str] = field(default_factory=list)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="new_command", metavar="KIND", required=True)
    model = sub.add_parser("model", help="write models/NAME.yaml, a commented spec to fill in",
                           description="Write models/NAME.yaml: a valid, commented spec to fill in.")
    model.add_argument("name", metavar="NAME", help="model name: a DNS-1123 label starting with a letter")
    model.add_argument("--runtime", required=True, choices=RUNTIMES, help="serving runtime")
    model.add_argument("--gpus", metavar="TYPE:N", help=f"GPUs per replica, e.g. {DEFAULT_GPU}:1 "
                       "(default: none; vllm: one of a type every environment allows)")
    model.add_argument("--team", default=ModelRequest.team, help="owning team (default: %(default)s)")
    model.add_argument("--owner", default=ModelRequest.owner, help="contact e-mail (default: %(default)s)")
    model.add_argument("--cost-center", default=ModelRequest.cost_center, help="cost center (default: %(default)s)")
    model.add_argument("--training", action="store_true", help="add a training section")
    model.add_argument("--force", action="store_true", help="overwrite an existing models/NAME.yaml")


def parse_gpus(text: str, known: dict[str, GpuType] | None = None) -> tuple[str, int]:
    """TYPE:N, TYPE from `known` (the built-in catalogue plus what environments declare)."""
    known = GPU_TYPES if known is None else known
    gpu_type, colon, count = text.partition(":")
    if not colon or not gpu_type or not count:
        raise ModelopsError(f"--gpus {text!r}: expected TYPE:N, e.g. {DEFAULT_GPU}:1")
    if gpu_type not in known:
        raise ModelopsError(f"--gpus: unknown GPU type '{gpu_type}'{did_you_mean(gpu_type, sorted(known))}; "
                            f"known: {', '.join(sorted(known))}")
    if not count.isdigit() or int(count) < 1:
        raise ModelopsError(f"--gpus: the GPU count must be a positive integer, got '{count}'")
    return gpu_type, int(count)


def _check_request(request: ModelRequest) -> None:
    if not NAME_PATTERN.match(request.name):
        raise ModelopsError(f"model name {request.name!r} is not valid: use lower-case letters, digits and '-', "
                            "starting with a letter and ending with a letter or digit, at most 53 characters")
    checks = (("--team", request.team, TEAM_PATTERN, "a DNS-1123 label, e.g. ml-team"),
              ("--owner", request.owner, OWNER_PATTERN, "an e-mail address"),
              ("--cost-center", request.cost_center, COST_CENTER_PATTERN,
               "a label value: letters, digits, '.', '_' or '-', a letter or digit at both ends"))
    for flag, value, pattern, expected in checks:
        if not pattern.match(value):
            raise ModelopsError(f"{flag} {value!r} is not valid: expected {expected}")


def read_environments(root: Path) -> dict[str, dict[str, Any]]:
    """Each environment's raw settings by folder name; unreadable ones are skipped (render reports them)."""
    base = root / ENVIRONMENTS_DIR
    found: dict[str, dict[str, Any]] = {}
    for directory in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
        path = directory / "environment.yaml"
        if not path.is_file() or not TEAM_PATTERN.match(directory.name):
            continue
        try:
            documents = load_located(path.read_text(encoding="utf-8"), path.name)
        except (SpecError, UnicodeDecodeError):
            continue
        if documents and isinstance(documents[0].data, dict):
            found[directory.name] = documents[0].data
    return found


def _string_list(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _registry(environments: dict[str, dict[str, Any]], notes: list[str]) -> str:
    """A registry prefix every environment trusts, so `registry_allowed` passes everywhere."""
    lists = [_string_list(env.get("registries")) for env in environments.values()]
    lists = [registries for registries in lists if registries]
    for candidate in lists[0] if lists else []:
        prefix = candidate if candidate.endswith("/") else candidate + "/"
        if all(any(prefix.startswith(p) for p in other) for other in lists) and re.match(IMAGE, prefix + "x/y"):
            return prefix
    if lists:
        notes.append(f"no registry is trusted by every environment; images use {DEFAULT_REGISTRY}, "
                     "so `check` will flag them until you change them")
    return DEFAULT_REGISTRY


def _catalogue(env: dict[str, Any]) -> dict[str, GpuType]:
    try:
        return gpu_catalogue(env)
    except (KeyError, TypeError, ValueError, AttributeError):  # not schema-checked yet: render reports it
        return dict(GPU_TYPES)


def _known(environments: dict[str, dict[str, Any]]) -> dict[str, GpuType]:
    known = dict(GPU_TYPES)
    for env in environments.values():
        known.update(_catalogue(env))
    return known


def _allowed(env: dict[str, Any]) -> list[str]:
    gpus, catalogue = env.get("gpus"), _catalogue(env)
    return [t for t in _string_list(gpus.get("allowed")) if t in catalogue] if isinstance(gpus, dict) else []


def _default_gpu(environments: dict[str, dict[str, Any]]) -> str:
    """The smallest GPU type every environment allows (the cheapest way to start)."""
    allowed = [set(_allowed(env)) for env in environments.values()]
    common = set.intersection(*allowed) if allowed else {DEFAULT_GPU}
    if not common:
        return DEFAULT_GPU
    known = _known(environments)
    return min(common, key=lambda name: (known[name].memory_gib, name))


def _closest(allowed: list[str], wanted: str, known: dict[str, GpuType]) -> str | None:
    """`wanted` when allowed, else the smallest allowed type with at least as much memory, else the largest."""
    if wanted in allowed:
        return wanted
    if not allowed:
        return None
    need = known[wanted].memory_gib if wanted in known else 0.0

    def key(name: str) -> tuple[float, str]:
        return (known[name].memory_gib, name)

    bigger = sorted((name for name in allowed if known[name].memory_gib >= need), key=key)
    return bigger[0] if bigger else max(allowed, key=key)


def _gpu_overrides(environments: dict[str, dict[str, Any]], wanted: str, notes: list[str]) -> dict[str, str]:
    overrides = {}
    for name, env in environments.items():
        chosen = _closest(_allowed(env), wanted, _known(environments))
        if chosen is None:
            notes.append(f"environment '{name}' allows no GPU types; `check` will flag this model there")
        elif chosen != wanted:
            overrides[name] = chosen
            notes.append(f"environment '{name}' does not allow {wanted}; the spec uses {chosen} there")
    return overrides


def _environments_block(serving: dict[str, str], training: dict[str, str]) -> str:
    if not serving and not training:
        return template_text("model/environments-none.yaml")
    lines = ["# Only what differs per environment: where an environment does not allow the GPU type",
             "# above, it gets the closest type it does allow.", "environments:"]
    for env in sorted(set(serving) | set(training)):
        lines.append(f"  {env}:")
        for section, chosen in (("serving", serving), ("training", training)):
            if env in chosen:
                lines += [f"    {section}:", f"      gpus: {{type: {yaml_scalar(chosen[env])}}}"]
    return "\n".join(lines) + "\n"


def _image(registry: str, path: str) -> str:
    return yaml_scalar(f"{registry}{path}@{PLACEHOLDER_DIGEST}")


def _training_block(request: ModelRequest, registry: str, gpus: tuple[str, int] | None) -> str:
    if not request.training or gpus is None:
        return ""
    name = request.name
    return fill("model/training.yaml", {
        "image": _image(registry, f"{request.team}/{name}-trainer"), "gpu_type": yaml_scalar(gpus[0]),
        "gpu_count": str(gpus[1]), "dataset": yaml_scalar(f"s3://datasets/{name}/"),
        "checkpoints": yaml_scalar(f"s3://checkpoints/{name}/")})


def _serving_blocks(request: ModelRequest, registry: str, gpus: tuple[str, int] | None) -> dict[str, str]:
    runtime, name = request.runtime, request.name
    gpus_block = (fill("model/gpus.yaml", {"gpu_type": yaml_scalar(gpus[0]), "gpu_count": str(gpus[1])})
                  if gpus else template_text("model/cpu.yaml"))
    return {
        "runtime_block": fill(f"model/runtime-{runtime}.yaml", {
            "image": _image(registry, SERVER_IMAGES.get(runtime, f"{request.team}/{name}")),
            "model_uri": yaml_scalar(MODEL_URIS[runtime].format(name=name))}).rstrip("\n"),
        "resources": '{cpu: "4", memory: 32Gi}' if gpus else '{cpu: "1", memory: 2Gi}',
        "gpus_block": gpus_block.rstrip("\n"),
    }


def spec_text(request: ModelRequest, environments: dict[str, dict[str, Any]]) -> NewSpec:
    """The commented spec for `request`, fitted to `environments` (name -> raw environment.yaml)."""
    _check_request(request)
    notes: list[str] = []
    registry = _registry(environments, notes)
    gpus = request.gpus
    if gpus is None and (request.runtime == "vllm" or request.training):
        gpus = (_default_gpu(environments), 1)
        needs = "training" if request.training else request.runtime
        notes.append(f"no --gpus given: using {gpus[0]}:{gpus[1]} ({needs} needs GPUs)")
    # vLLM always serves on GPUs; triton and custom only when asked (--gpus).
    serve_gpus = gpus if request.runtime == "vllm" else request.gpus
    overrides = _gpu_overrides(environments, gpus[0], notes) if gpus else {}
    text = fill("model/model.yaml", {
        "name": request.name, "runtime": request.runtime, "name_value": yaml_scalar(request.name),
        "team": yaml_scalar(request.team), "owner": yaml_scalar(request.owner),
        "cost_center": yaml_scalar(request.cost_center),
        "training": _training_block(request, registry, gpus),
        **_serving_blocks(request, registry, serve_gpus),
        "environments_block": _environments_block(overrides if serve_gpus else {},
                                                  overrides if request.training else {}),
    })
    _validate(text, f"{MODELS_DIR}/{request.name}.yaml")
    return NewSpec(text, notes)


def _validate(text: str, display: str) -> None:
    documents = load_located(text, display)
    problems = schema_problems(documents[0], MODEL_SCHEMA)
    if problems:
        raise SpecError(problems)


def write_model(root: Path, request: ModelRequest, *, force: bool = False) -> tuple[Path, NewSpec]:
    """Write models/NAME.yaml under `root` (atomically); refuses to replace a file unless `force`."""
    if not root.is_dir():
        raise ModelopsError(f"{root} is not a directory; pass the repository root with -C")
    spec = spec_text(request, read_environments(root))
    path = root / MODELS_DIR / f"{request.name}.yaml"
    if (path.exists() or path.is_symlink()) and not force:
        raise ModelopsError(f"{MODELS_DIR}/{request.name}.yaml already exists; use --force to overwrite it")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ModelopsError(f"{MODELS_DIR}/{request.name}.yaml is not a regular file; refusing to replace it")
    try:
        atomic_write(path, spec.text.encode("utf-8"))
    except OSError as error:
        raise ModelopsError(f"cannot write {MODELS_DIR}/{request.name}.yaml: {error.strerror or error}") from None
    return path, spec


def _run_model(args: argparse.Namespace) -> int:
    request = ModelRequest(name=args.name, runtime=args.runtime, gpus=parse_gpus(args.gpus, _known(read_environments(Path(args.repo_root)))) if args.gpus else None,
                           team=args.team, owner=args.owner, cost_center=args.cost_center, training=args.training)
    root = Path(args.repo_root)
    _, spec = write_model(root, request, force=args.force)
    for note in spec.notes:
        print(f"modelops: note: {note}", file=sys.stderr)
    if not (root / "schemas" / "model.schema.json").is_file():
        print("modelops: note: schemas/model.schema.json is missing; for editor hints run "
              "`modelops schema model > schemas/model.schema.json`", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {MODELS_DIR}/{request.name}.yaml")
        print("next: fill in the TODOs, then run `modelops render` and `modelops check`")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.new_command == "model":
        return _run_model(args)
    raise ModelopsError(f"new {args.new_command}: unknown kind")  # argparse's choices make this unreachable
