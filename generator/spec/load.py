"""Load a GitOps repository's specs and environments, collecting every problem before failing.

Structure is checked by JSON Schema; what a schema cannot say (known GPU types, duplicate
names, references to environments that exist, promotion cycles) is checked here. Either
the whole repository loads, or a `SpecError` lists every problem with file:line:col.
"""
from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.cache import CacheFile, code_digest, digest
from generator.collector import pace_collector
from generator.errors import ModelopsError, Problem, SpecError
from generator.gpus import gpu_catalogue, known_gpu_types
from generator.spec.model import Environment, ModelSpec, ResolvedModel, resolve
from generator.spec.schema import ENVIRONMENT_SCHEMA, MODEL_SCHEMA
from generator.spec.validate import did_you_mean, schema_problems
from generator.yamlio import Located, load_located

__all__ = ["Repository", "load_repository", "load_model_file", "MODELS_DIR", "ENVIRONMENTS_DIR"]

MODELS_DIR = "models"
SPEC_PATTERN = "*.y*ml"  # the spec files under models/
ENVIRONMENTS_DIR = "environments"
MAX_SPEC_BYTES = 1_000_000


@dataclass(frozen=True)
class Repository:
    root: Path
    models: dict[str, ModelSpec]
    environments: dict[str, Environment]
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def select_environments(self, names: Iterable[str] | None) -> list[Environment]:
        return [self.environment(n) for n in names] if names else list(self.environments.values())

    def select_models(self, names: Iterable[str] | None) -> list[ModelSpec]:
        return [self.model(n) for n in names] if names else list(self.models.values())

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            known = sorted(self.environments)
            raise ModelopsError(f"unknown environment '{name}'{did_you_mean(name, known)}; "
                                f"known: {', '.join(known) or 'none'} (from {ENVIRONMENTS_DIR}/*/environment.yaml)")
        return self.environments[name]

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            known = sorted(self.models)
            raise ModelopsError(f"unknown model '{name}'{did_you_mean(name, known)}; "
                                f"known: {', '.join(known) or 'none'} (from {MODELS_DIR}/*.yaml)")
        return self.models[name]

    def resolved(self, environments: Iterable[str] | None = None,
                 models: Iterable[str] | None = None) -> Iterator[ResolvedModel]:
        """Every selected (model, environment) pair, in a stable order (each resolved once
        per repository; loading resolved the pairs whose semantics it checked)."""
        memo = self._memo.setdefault("resolved", {})
        for environment in self.select_environments(environments):
            for spec in self.select_models(models):
                key = (spec.name, environment.name)
                if key not in memo:
                    memo[key] = resolve(spec, environment)
                yield memo[key]

    def gpu_usage(self) -> dict[str, dict[str, Any]]:
        """Per environment: the GPU total of every model and each model's share (the quota
        rule's view). Computed once: a large repository resolves thousands of pairs."""
        if "gpu_usage" not in self._memo:
            known: dict[tuple[str, str], int] = self._memo.get("gpu_requests", {})
            usage: dict[str, dict[str, Any]] = {}
            for env in self.environments:
                by_model = {name: known[(name, env)] if (name, env) in known else
                            next(self.resolved([env], [name])).gpu_request() for name in self.models}
                usage[env] = {"total": sum(by_model.values()), "byModel": by_model}
            self._memo["gpu_usage"] = usage
        return self._memo["gpu_usage"]

    def chain(self, environment: str) -> list[str]:
        """The promotion chain ending at `environment`, e.g. [dev, staging, prod]."""
        chain = [environment]
        while (source := self.environments[chain[0]].promotes_from) is not None:
            chain.insert(0, source)
        return chain


def file_problem(path: Path, display: str, root: Path, *, folder_inside: bool = False) -> Problem | None:
    """Why `path` cannot be read as an input file, if it cannot: a dangling symbolic link,
    a link leading out of the repository (whatever it points at is not reviewed with the
    repository), a folder where a file belongs, or an unreadable file. `folder_inside`:
    the caller knows `path`'s folder resolves inside the repository, so a plain file there
    needs no resolving of its own (a thousand specs took 0.1 s of every run)."""
    if folder_inside:
        try:
            plain = stat.S_ISREG(path.lstat().st_mode)
        except OSError:
            plain = False
        if plain and os.access(path, os.R_OK):
            return None
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        return Problem(display, 0, 0, "", f"dangling symbolic link (points to {os.readlink(path)})")
    except (OSError, RuntimeError) as error:  # a symlink loop, an unreadable folder on the way
        return Problem(display, 0, 0, "", f"cannot read: {getattr(error, 'strerror', None) or error}")
    if not target.is_relative_to(root.resolve()):
        return Problem(display, 0, 0, "", f"symbolic link to {target}, outside the repository; "
                       "copy the file into the repository instead")
    if not target.is_file():
        return Problem(display, 0, 0, "", "not a regular file")
    if not os.access(target, os.R_OK):
        return Problem(display, 0, 0, "", "cannot read: permission denied")
    return None


def _read(path: Path, display: str) -> list[Located]:
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError([Problem(display, 1, 1, "", f"file is larger than {MAX_SPEC_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SpecError([Problem(display, 1, 1, "", f"not UTF-8 text ({error.reason})")]) from None
    except OSError as error:
        raise SpecError([Problem(display, 0, 0, "", f"cannot read: {error.strerror or error}")]) from None
    return load_located(text, display)


def _single_document(path: Path, display: str, kind: str) -> Located:
    documents = [d for d in _read(path, display) if d.data is not None]
    if len(documents) != 1:
        raise SpecError([Problem(display, 1, 1, "", f"expected exactly one {kind} document, found {len(documents)}")])
    if not isinstance(documents[0].data, dict):
        raise SpecError([Problem(display, 1, 1, "", f"expected a mapping ({kind}), got {type(documents[0].data).__name__}")])
    return documents[0]


def _load_environment(root: Path, directory: Path, cache: CacheFile | None = None) -> tuple[Environment | None, list[Problem]]:
    display = f"{ENVIRONMENTS_DIR}/{directory.name}/environment.yaml"
    located, problems = _load_checked(directory / "environment.yaml", display, "Environment", cache)
    if located is None:
        return None, problems
    name = located.data["metadata"]["name"]
    if name != directory.name:
        problems.append(located.problem(("metadata", "name"),
                                        f"environment '{name}' must live in {ENVIRONMENTS_DIR}/{name}/"))
    catalogue = gpu_catalogue(located.data)
    for index, gpu in enumerate(located.data["gpus"]["allowed"]):
        if gpu not in catalogue:
            problems.append(located.problem(("gpus", "allowed", index), _unknown_gpu(gpu, catalogue)))
    return Environment(name, display, located.data, located), problems


Parsed = tuple[Located | None, list[Problem]]
_SCHEMAS = {"Model": MODEL_SCHEMA, "Environment": ENVIRONMENT_SCHEMA}


def _parse_checked(path: Path, display: str, kind: str) -> Parsed:
    """One document parsed with positions and schema-checked (no cache)."""
    try:
        located = _single_document(path, display, kind)
    except SpecError as error:
        return None, list(error.problems)
    problems = schema_problems(located, _SCHEMAS[kind])
    return (None, problems) if problems else (located, [])


def _cache_key(path: Path, display: str, kind: str) -> str:
    """The file's bytes and modelops's own code: a spec cached as valid is checked again
    by a build whose schema differs (a version number does not change between commits)."""
    return digest(path.read_bytes(), display, kind, code_digest())


def _load_checked(path: Path, display: str, kind: str, cache: CacheFile | None,
                  parsed: dict[str, Parsed] | None = None, key: str = "") -> Parsed:
    """One document, schema-checked. With a cache, a file whose bytes were seen valid before
    is not parsed again (parsing with positions is the slow part of loading a large repo);
    `parsed` holds documents already parsed ahead (`_parse_ahead`), `key` the cache key
    when the caller computed it already."""
    key = key or (_cache_key(path, display, kind) if cache is not None else "")
    if parsed and display in parsed:
        located, problems = parsed[display]
        if located is not None and cache is not None:
            cache.put(key, _located_to_json(located))
        return located, problems
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return _located_from_json(display, hit), []
    located, problems = _parse_checked(path, display, kind)
    if located is not None and cache is not None:
        cache.put(key, _located_to_json(located))
    return located, problems


SPEC_CACHE_SHARDS = 16  # one changed spec rewrites a sixteenth of the parsed-spec cache

# Below this many unparsed specs, starting processes costs more than parsing them here
# (about 2 ms a spec: libyaml composes, jsonschema-rs validates; a worker starts in 0.4 s).
PARSE_AHEAD_MIN = 500


def _parse_ahead(files: list[tuple[Path, str]], cache: CacheFile | None,
                 keys: dict[str, str] | None = None) -> dict[str, Parsed]:
    """Specs the cache does not hold, parsed in worker processes when there are many: on a
    fresh clone of a large repository the parse is most of a first run's start-up.
    `keys`: display name -> cache key."""
    workers = min(4, os.cpu_count() or 1)
    if len(files) < PARSE_AHEAD_MIN or workers < 2:
        return {}
    todo = [(path, display) for path, display in files
            if cache is None or not cache.has((keys or {}).get(display) or _cache_key(path, display, "Model"))]
    if len(todo) < PARSE_AHEAD_MIN:
        return {}
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=pace_collector) as pool:
            results = pool.map(_parse_checked, [p for p, _ in todo], [d for _, d in todo], ["Model"] * len(todo),
                               chunksize=max(1, len(todo) // (workers * 4)))
            return {display: result for (_, display), result in zip(todo, results, strict=True)}
    except (BrokenProcessPool, OSError):
        return {}  # workers could not start (e.g. an embedding program without a main module): parse here


def load_model_file(path: Path, display: str, cache: CacheFile | None = None,
                    parsed: dict[str, Parsed] | None = None, key: str = "") -> tuple[ModelSpec | None, list[Problem]]:
    """One spec, schema-checked (and cached, see `_load_checked`)."""
    located, problems = _load_checked(path, display, "Model", cache, parsed, key)
    if located is None:
        return None, problems
    return ModelSpec(located.data["metadata"]["name"], display, located.data, located), []


def _located_to_json(located: Located) -> dict:
    # positions as one JSON string: decoding a string is far cheaper than decoding the
    # thousands of small lists it holds, and most specs never need their positions
    return {"data": located.data, "positions": located.encode_positions()}


def _located_from_json(display: str, cached: dict) -> Located:
    return Located.from_encoded(display, cached["data"], cached["positions"])


def _model_semantics(spec: ModelSpec, environments: dict[str, Environment],
                     memo: dict[tuple[str, str], ResolvedModel] | None = None) -> list[Problem]:
    located, data, problems = spec.located, spec.data, []
    for section in ("environments", "releases", "canaries"):
        for env in data.get(section, {}):
            if env not in environments:
                hint = did_you_mean(env, sorted(environments))
                problems.append(located.problem((section, env), f"environment '{env}' does not exist{hint}; "
                                                f"known: {', '.join(sorted(environments))}", at_key=True))
    gpu_paths: list[tuple[str, ...]] = [("training", "gpus", "type"), ("serving", "gpus", "type")]
    for env in data.get("environments", {}):
        gpu_paths += [("environments", env, "training", "gpus", "type"), ("environments", env, "serving", "gpus", "type")]
    known = known_gpu_types(env.data for env in environments.values())
    for path in gpu_paths:
        value = _get(data, path)
        if isinstance(value, str) and value not in known:
            problems.append(located.problem(path, _unknown_gpu(value, known)))
    if "training" not in data and "serving" not in data:
        problems.append(located.problem((), "a model needs a training section, a serving section, or both"))
    problems += _reserved_env_problems(spec)
    for env in environments.values():
        resolved = resolve_safely(spec, env)
        if resolved is not None and memo is not None:
            memo[(spec.name, env.name)] = resolved
        problems += _resolved_semantics(spec, resolved)
    return list(dict.fromkeys(problems))  # a spec-level mistake is found once per environment


# Set on the serving container by modelops from serving.modelUri and serving.port (the
# chart's values schema refuses them in serving.env).
RESERVED_SERVING_ENV = ("MODEL_URI", "PORT")


def _reserved_env_problems(spec: ModelSpec) -> list[Problem]:
    places: list[tuple[str | int, ...]] = [("serving", "env")]
    places += [("environments", env, "serving", "env") for env in spec.data.get("environments", {})]
    problems = []
    for place in places:
        items = _get(spec.data, place)
        for index, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if name in RESERVED_SERVING_ENV:
                source = "serving.modelUri" if name == "MODEL_URI" else "serving.port"
                problems.append(spec.located.problem((*place, index, "name"), f"{name} is set by modelops from "
                                                     f"{source}; set that field instead"))
    return problems


def resolve_safely(spec: ModelSpec, env: Environment) -> ResolvedModel | None:
    try:
        return resolve(spec, env)
    except (KeyError, TypeError, ValueError):
        return None


def _unknown_gpu(name: str, catalogue: dict[str, Any]) -> str:
    return (f"unknown GPU type '{name}'{did_you_mean(name, sorted(catalogue))}; known: {', '.join(sorted(catalogue))} "
            "(declare more under gpuTypes in an environment file)")


def _gpu_semantics(spec: ModelSpec, resolved: ResolvedModel) -> list[Problem]:
    """A type some environment declares but this one does not: it cannot be placed here."""
    env, problems = resolved.environment, []
    catalogue = env.gpu_catalogue()
    for section in ("training", "serving"):
        part = getattr(resolved, section)
        gpu = (part or {}).get("gpus") or {}
        if gpu.get("type") and gpu["type"] not in catalogue:
            override = ("environments", env.name, section, "gpus", "type")
            where = override if _get(spec.data, override) is not None else (section, "gpus", "type")
            problems.append(spec.located.problem(where, f"GPU type '{gpu['type']}' is not known in environment "
                                                 f"'{env.name}'; declare it under gpuTypes in {env.path} or "
                                                 f"override the type for {env.name}"))
    return problems


def _resolved_semantics(spec: ModelSpec, resolved: ResolvedModel | None) -> list[Problem]:
    if resolved is None:
        return []
    from generator.spec.cron import schedule_problems
    from generator.spec.names import name_problems
    from generator.spec.training_checks import training_problems

    problems = _gpu_semantics(spec, resolved)
    if problems:
        return problems
    problems = training_problems(spec, resolved) + name_problems(spec, resolved) + schedule_problems(spec, resolved)
    if resolved.serving is None:
        return problems
    serving, env, located = resolved.serving, resolved.environment.name, spec.located
    override = ("environments", env, "serving") if env in spec.data.get("environments", {}) else ("serving",)
    if serving["replicas"]["min"] > serving["replicas"]["max"]:
        problems.append(located.problem(override + ("replicas", "min"),
                                        f"replicas.min ({serving['replicas']['min']}) is greater than replicas.max "
                                        f"({serving['replicas']['max']}) in environment '{env}'"))
    if serving["runtime"] == "custom":
        for key in ("port", "healthPath"):
            if key not in serving:
                problems.append(located.problem(("serving", "runtime"), f"runtime 'custom' needs serving.{key}"))
    return problems + _canary_semantics(spec, resolved)


def _canary_semantics(spec: ModelSpec, resolved: ResolvedModel) -> list[Problem]:
    """A canary needs somewhere to split traffic: KServe, or the chart behind the environment's Gateway."""
    env = resolved.environment
    if not resolved.canary:
        return []
    declared = env.data.get("serving", {}).get("canary")
    target = resolved.serving["target"] if resolved.serving else ""
    raw = target == "kserve" and env.serving["kserveDeploymentMode"] == "RawDeployment"
    if declared is None or raw or (target == "chart" and not declared.get("route")):
        return [spec.located.problem(("canaries", env.name), f"environment '{env.name}' cannot split traffic for "
                                     f"this model: it needs serving.canary (with serving.canary.route for the chart "
                                     f"target, Serverless mode for KServe) in {env.path}", at_key=True)]
    return []


def _get(data: dict, path: tuple) -> object:
    node: object = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _environment_semantics(environments: dict[str, Environment]) -> list[Problem]:
    problems = []
    for env in environments.values():
        steps = _get(env.data, ("serving", "canary", "steps"))
        if isinstance(steps, list) and (steps[-1:] != [100] or steps != sorted(set(steps))):
            problems.append(env.located.problem(("serving", "canary", "steps"), "canary steps must rise strictly "
                                                "and end at 100, e.g. [10, 50, 100]"))
        source, seen = env.promotes_from, {env.name}
        if source is not None and source not in environments:
            problems.append(env.located.problem(("promotesFrom",), f"environment '{source}' does not exist"
                                                f"{did_you_mean(source, sorted(environments))}"))
            continue
        while source is not None and source in environments:
            if source in seen:
                problems.append(env.located.problem(("promotesFrom",), "promotion chain has a cycle"))
                break
            seen.add(source)
            source = environments[source].promotes_from
    return problems


def _environment_dirs(env_root: Path) -> list[Path]:
    """Folders under environments/ that hold (or claim to hold) an environment.yaml."""
    try:
        folders = sorted(p for p in env_root.iterdir() if p.is_dir()) if env_root.is_dir() else []
    except OSError as error:
        raise ModelopsError(f"cannot read {env_root}: {error.strerror or error}") from None
    return [f for f in folders if (f / "environment.yaml").exists() or (f / "environment.yaml").is_symlink()]


def load_repository(root: Path | str, *, cache: bool = False) -> Repository:
    """Every environment and spec under `root`; `cache` reuses parsed specs from `.modelops-cache`."""
    root = Path(root)
    spec_cache = CacheFile(root, "specs", shards=SPEC_CACHE_SHARDS) if cache else None
    problems: list[Problem] = []
    environments: dict[str, Environment] = {}
    env_root = root / ENVIRONMENTS_DIR
    for directory in _environment_dirs(env_root):
        display = f"{ENVIRONMENTS_DIR}/{directory.name}/environment.yaml"
        unreadable = file_problem(directory / "environment.yaml", display, root)
        if unreadable is not None:
            problems.append(unreadable)
        else:
            env, found = _load_environment(root, directory, spec_cache)
            problems += found
            if env is not None:
                environments[env.name] = env
    if not environments and not problems:
        raise ModelopsError(f"no environments found under {root / ENVIRONMENTS_DIR}/*/environment.yaml "
                            "(is -C/--repo-root the GitOps repository?)")
    problems += _environment_semantics(environments)
    if problems:
        # Every spec is checked against the environments (names, GPU types, quotas): against
        # a partial set each would report the broken one as missing, burying its cause.
        raise SpecError(problems)
    models: dict[str, ModelSpec] = {}
    resolved: dict[tuple[str, str], ResolvedModel] = {}
    model_files = sorted((root / MODELS_DIR).glob(SPEC_PATTERN)) if (root / MODELS_DIR).is_dir() else []
    files = []
    models_inside = bool(model_files) and (root / MODELS_DIR).resolve().is_relative_to(root.resolve())
    for path in model_files:
        unreadable = file_problem(path, f"{MODELS_DIR}/{path.name}", root, folder_inside=models_inside)
        if unreadable is None:
            files.append((path, f"{MODELS_DIR}/{path.name}"))
        else:
            problems.append(unreadable)
    keys = {display: _cache_key(path, display, "Model") for path, display in files} if spec_cache else {}
    parsed = _parse_ahead(files, spec_cache, keys)
    environments_key = _environments_key(root, environments) if spec_cache else ""
    gpu_requests: dict[tuple[str, str], int] = {}
    for path, display in files:
        spec, found = load_model_file(path, display, spec_cache, parsed, keys.get(display, ""))
        problems += found
        if spec is None:
            continue
        if spec.name != path.stem:
            problems.append(spec.located.problem(("metadata", "name"), f"model '{spec.name}' must live in "
                                                 f"{MODELS_DIR}/{spec.name}.yaml (the name and the file name match)"))
        if spec.name in models:
            problems.append(spec.located.problem(("metadata", "name"),
                                                 f"duplicate model name '{spec.name}' (also in {models[spec.name].path})"))
            continue
        models[spec.name] = spec
        if spec_cache is None:
            problems += _model_semantics(spec, environments, resolved)
        else:
            problems += _semantics_cached(spec, environments, resolved, spec_cache,
                                          digest(keys[display], environments_key, "semantics"), gpu_requests)
    if problems:
        raise SpecError(problems)
    if spec_cache is not None:
        spec_cache.save()
    return Repository(root=root, models=dict(sorted(models.items())), environments=environments,
                      _memo={"resolved": resolved, "gpu_requests": gpu_requests})


def _environments_key(root: Path, environments: dict[str, Environment]) -> str:
    """Every environment file's name and bytes, and modelops's own code: what a spec's
    semantic checks read besides the spec (known GPU types, environment names)."""
    return digest(code_digest(), *(f"{env.path}\0".encode() + (root / env.path).read_bytes()
                                   for env in sorted(environments.values(), key=lambda e: e.path)))


def _semantics_cached(spec: ModelSpec, environments: dict[str, Environment],
                      resolved: dict[tuple[str, str], ResolvedModel], cache: CacheFile, key: str,
                      gpu_requests: dict[tuple[str, str], int]) -> list[Problem]:
    """`_model_semantics`, skipped for a spec that passed them with the same environments;
    what is remembered is each environment's GPU request (the quota view needs every
    model's, and resolving a thousand specs in three environments was a tenth of a second
    of every run). A spec with problems is never remembered."""
    hit = cache.get(key)
    if isinstance(hit, dict) and set(hit) == set(environments):
        gpu_requests.update({(spec.name, env): int(count) for env, count in hit.items()})
        return []
    problems = _model_semantics(spec, environments, resolved)
    mine = {env: resolved.get((spec.name, env)) for env in environments}
    if not problems and all(r is not None for r in mine.values()):
        requests = {env: r.gpu_request() for env, r in mine.items() if r is not None}
        cache.put(key, requests)
        gpu_requests.update({(spec.name, env): count for env, count in requests.items()})
    return problems
