"""Structural validation of rendered objects: strict Kubernetes schemas and CRD schemas.

Validators are compiled once per (apiVersion, kind) and reused for every document; the
checker runs thousands. Kubernetes core schemas come from kubernetes-validate's offline
strict set for the environment's Kubernetes version. CRD schemas come from, in order:
`--schema-dir` folders (kubeconform layout `{group}/{kind}_{version}.json` or
`{kind}_{version}.json`, or raw CRD YAML files), then the ones vendored with modelops
(`generator/data/crds`, extracted from the upstream CRDs by scripts/vendor_crds.py).
Argo Workflows and JobSet CRDs are vendored per release as well (`releases/<product>/
<version>/`): given the releases a cluster runs (an environment's `cluster.argoWorkflows`
and `cluster.jobset`), their kinds are validated against the newest vendored release of
the same or an older minor version, so a field the cluster's controller does not know
(`pendingTimeout` before Argo Workflows 4.1, `backoff.cap` before 3.7, JobSet
`failurePolicy.rules` before 0.6) is an unknown field, as the API server would say.
Unknown fields are violations unless the schema preserves unknown fields, as the API
server prunes or (with strict field validation) rejects them.

Each schema is compiled by jsonschema-rs, which decides valid or not in microseconds;
only a document it rejects is walked again by python-jsonschema, for the same messages
`check` always printed. CRD schemas also carry CEL rules (`generator.validate.cel`).
"""
from __future__ import annotations

import gzip
import importlib.resources
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import kubernetes_validate.utils as kv
import referencing
import referencing.exceptions
import yaml

from generator.errors import ModelopsError
from generator.validate.cel import CelPlan, build_plan, evaluate_plan, plan_from_paths
from generator.validate.defaults import SchemaDefaults
from generator.validate.kubernetes_versions import kubernetes_schema_version
from generator.validate.object_meta import metadata_problems
from generator.validate.patterns import CrdValidator, KubernetesValidator
from generator.validate.unknown_fields import StrictCrdValidator, relaxed_metadata, strict_crd_schema

__all__ = ["COMPILE_AFTER", "VENDORED_CRDS", "CompiledSchema", "SchemaRegistry", "SchemaViolation", "release_for"]

VENDORED_CRDS = Path(__file__).resolve().parent.parent / "data" / "crds"
RELEASES = VENDORED_CRDS / "releases"
# Where the vendored CRDs carry CEL rules (scripts/vendor_crds.py writes it with the schemas).
CEL_INDEX = VENDORED_CRDS / "cel-rules.json"
MAX_ERRORS_PER_DOCUMENT = 20
COMPILE_AFTER = 40  # documents of one kind before its schema is compiled by jsonschema-rs


@dataclass(frozen=True)
class SchemaViolation:
    path: str  # dotted path inside the document, e.g. spec.templates[0].retryStrategy.limit
    message: str
    parts: tuple[str | int, ...] = ()  # the same path as keys and indexes (to find its line)
    source: str = "schema"  # schema | cel | cel-unevaluable | metadata (validate.object_meta) | prometheus
    rule: str = ""  # the CEL rule, for cel violations


class CompiledSchema:
    """One kind's schema: a compiled yes/no validator, the readable one, and its CEL plan.

    jsonschema-rs compiles a large CRD (Argo's are over a megabyte) in about 0.15 s, which
    a `check` of one changed spec cannot afford; so a kind is compiled only once it has
    been seen COMPILE_AFTER times, and validated by python-jsonschema until then."""

    def __init__(self, compile_fast: Callable[[], Any], readable: jsonschema.protocols.Validator,
                 cel: CelPlan | None = None, defaults_from: dict[str, Any] | None = None,
                 compile_after: int = COMPILE_AFTER, name: str = "this kind", custom_resource: bool = False):
        self.name = name  # e.g. "Widget (example.com/v1)", for an error in the schema itself
        self.custom_resource = custom_resource  # served from a CRD: the API server's custom-resource rules
        self._compile_fast = compile_fast
        # the CRD schema whose defaults the API server applies
        self._defaults = SchemaDefaults(defaults_from) if defaults_from is not None else None
        self._fast: Any = None
        self._refused = False  # jsonschema-rs would not compile the schema
        self._seen = 0
        self._compile_after = compile_after
        self.readable = readable
        self.cel = cel

    @property
    def fast(self) -> Any:
        """The jsonschema-rs validator, compiled now if it was not yet."""
        if self._fast is None:
            self._fast = self._compile_fast()
        return self._fast

    def is_valid(self, document: dict[str, Any]) -> bool:
        self._seen += 1
        if self._refused or (self._fast is None and self._seen < self._compile_after):
            return not self._readable_errors(document, first_only=True)
        try:
            fast = self.fast
        except jsonschema_rs.ValidationError:
            # jsonschema-rs refuses some upstream schemas outright (prometheus-operator's
            # `(?i)` pattern flags are not ECMA-262): python-jsonschema validates those kinds
            self._refused = True
            return not self._readable_errors(document, first_only=True)
        try:
            return bool(fast.is_valid(document))
        except ValueError:  # a YAML key jsonschema-rs cannot take (`null:`, `true:`): python-jsonschema can
            return not self._readable_errors(document, first_only=True)

    def _readable_errors(self, document: dict[str, Any], *, first_only: bool = False) -> list[Any]:
        """python-jsonschema's errors; a `$ref` that resolves to nothing is the schema's
        fault, never the document's: exit 2 naming it, not a traceback."""
        try:
            errors = self.readable.iter_errors(document)
            if first_only:  # valid or not: the first error decides
                first = next(errors, None)
                return [] if first is None else [first]
            return list(errors)
        except referencing.exceptions.Unresolvable as error:
            raise ModelopsError(f"the schema of {self.name} cannot be used: $ref {error.ref!r} resolves to "
                                "nothing") from None

    def violations(self, document: dict[str, Any], templated: bool = False) -> list[SchemaViolation]:
        """`templated`: a manifest a controller fills in before creating it (generator.validate.object_meta)."""
        found: list[SchemaViolation] = []
        if not self.is_valid(document):
            errors = sorted(self._readable_errors(document), key=lambda e: list(map(str, e.absolute_path)))
            found += [SchemaViolation(path_text(e.absolute_path), _short_message(e), tuple(e.absolute_path))
                      for e in errors[:MAX_ERRORS_PER_DOCUMENT]]
        if self.cel is not None:
            for broken in evaluate_plan(self.cel, self._defaulted(document)):
                found.append(SchemaViolation(path_text(broken.path), broken.message, broken.path,
                                             "cel-unevaluable" if broken.unevaluable else "cel", broken.rule))
        found += [SchemaViolation(path_text(path), message, path, "metadata")
                  for path, message in metadata_problems(document, self.custom_resource, templated)]
        return found


    def _defaulted(self, document: dict[str, Any]) -> Any:
        """The document as the API server validates it: schema defaults filled in (only
        CEL needs this: the OpenAPI checks of these CRDs do not depend on defaults)."""
        return document if self._defaults is None else self._defaults.apply(document)


def path_text(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# What the API server can serve: a DNS-subdomain group (optional) and a DNS-1035 version;
# a kind whose lower case is a DNS-1035 label (CRD validation). Anything else has no schema
# to find, and never reaches a file name or kubernetes-validate's lookup.
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_API_VERSION = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*/)?[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?")


def _group_version(api_version: str) -> tuple[str, str]:
    return tuple(api_version.split("/", 1)) if "/" in api_version else ("", api_version)  # type: ignore[return-value]


class SchemaRegistry:
    """Compiled validators by (apiVersion, kind). Thread-safe; compile on first use."""

    def __init__(self, kubernetes_version: str = "1.33", schema_dirs: Iterable[Path] = (), strict: bool = True,
                 releases: Mapping[str, str] | None = None, *, compile_after: int = COMPILE_AFTER):
        """`releases`: product (a folder under releases/, e.g. argo-workflows) -> the
        version the cluster runs; its kinds are validated against that release's CRDs.
        `compile_after`: documents of a kind validated before its schema is compiled; a
        caller that knows it has many documents passes 0 (see `CompiledSchema`)."""
        self.compile_after = compile_after
        self.kubernetes_version = kubernetes_version.lstrip("v")
        self._schema_version = kubernetes_schema_version(kubernetes_version)
        self.releases = dict(releases or {})
        self.strict = strict
        self.schema_dirs = [Path(d) for d in schema_dirs]
        for directory in self.schema_dirs:
            if not directory.is_dir():
                raise ModelopsError(f"--schema-dir {directory}: not a directory")
        self._validators: dict[tuple[str, str], CompiledSchema | None] = {}
        self._lock = threading.Lock()
        self._k8s_registry: referencing.Registry | None = None
        self._k8s_fast_registry: Any = None
        self._crd_files = self._index_crd_files()

    # ----- lookup -----
    def validate(self, document: dict[str, Any], templated: bool = False) -> list[SchemaViolation]:
        """Violations of `document`; raises ModelopsError when no schema is known (fail closed)."""
        api_version, kind = document.get("apiVersion"), document.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [SchemaViolation("", "document has no apiVersion/kind")]
        return self.validator(api_version, kind).violations(document, templated)

    def find(self, api_version: str, kind: str) -> CompiledSchema | None:
        """The compiled schema of a kind, or None when no schema is known for it."""
        key = (api_version, kind)
        with self._lock:
            if key not in self._validators:
                self._validators[key] = self._compile(api_version, kind)
            return self._validators[key]

    def validator(self, api_version: str, kind: str) -> CompiledSchema:
        validator = self.find(api_version, kind)
        if validator is None:
            raise ModelopsError(f"no schema for {kind} ({api_version}) in Kubernetes {self.kubernetes_version}, "
                                "the vendored CRDs or --schema-dir; refusing to pass it unchecked")
        return validator

    def _compile(self, api_version: str, kind: str) -> CompiledSchema | None:
        if not (_API_VERSION.fullmatch(api_version) and _KIND.fullmatch(kind)):
            return None  # the API server serves no such type: no schema, as for an unknown kind
        group, version = _group_version(api_version)
        crd = self._crd_schema(group, version, kind)
        if crd is not None:
            cel = self._cel_plan(group, version, kind, crd)
            # unknown fields are violations when strict (generator.validate.unknown_fields)
            readable = StrictCrdValidator(relaxed_metadata(crd)) if self.strict else CrdValidator(crd)
            fast_schema: Callable[[dict[str, Any]], dict[str, Any]] = strict_crd_schema if self.strict else dict
            return CompiledSchema(lambda: jsonschema_rs.Draft7Validator(fast_schema(crd), validate_formats=False),
                                  readable, cel, crd if cel is not None else None,
                                  self.compile_after, name=f"{kind} ({api_version})",
                                  custom_resource=not self._served_by_kubernetes(api_version, kind))
        return self._kubernetes_validator(api_version, kind)

    # ----- CRDs -----
    def _cel_plan(self, group: str, version: str, kind: str, crd: dict[str, Any]) -> CelPlan | None:
        path = self._vendored(group, version, kind)
        from_schema_dir = any(_from_schema_dir(d, group, version, kind) is not None for d in self.schema_dirs)
        if path is not None and not from_schema_dir:
            index, key = _cel_index(), path.relative_to(VENDORED_CRDS).as_posix()
            if key in index:
                return plan_from_paths(crd, index[key])
        return build_plan(crd)

    def _vendored(self, group: str, version: str, kind: str) -> Path | None:
        """The vendored schema file for a kind: the declared release's, else the newest."""
        name = f"{group}_{kind.lower()}_{version}.json.gz"
        for product, declared in sorted(self.releases.items()):
            chosen = release_for(product, declared)
            if chosen is not None and (RELEASES / product / chosen / name).is_file():
                return RELEASES / product / chosen / name
        return self._crd_files.get((group, kind.lower(), version))

    def _index_crd_files(self) -> dict[tuple[str, str, str], Path]:
        index: dict[tuple[str, str, str], Path] = {}
        for path in sorted(VENDORED_CRDS.glob("*.json.gz")):
            match = re.match(r"^(?P<g>[^_]+)_(?P<k>[^_]+)_(?P<v>[^_.]+)\.json\.gz$", path.name)
            if match:
                index[(match["g"], match["k"], match["v"])] = path
        return index

    def _crd_schema(self, group: str, version: str, kind: str) -> dict[str, Any] | None:
        for directory in self.schema_dirs:
            found = _from_schema_dir(directory, group, version, kind)
            if found is not None:
                return found
        path = self._vendored(group, version, kind)
        if path is None:
            return None
        return json.loads(gzip.decompress(path.read_bytes()))

    # ----- Kubernetes core -----
    def _kubernetes_schema_file(self, name: str) -> str:
        """A file of kubernetes-validate's schemas for this version (it may not exist)."""
        return f"kubernetes-json-schema/v{self._schema_version}-local{'-strict' if self.strict else ''}/{name}"

    def _kind_schema_file(self, api_version: str, kind: str) -> str:
        normalised = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self._kubernetes_schema_file(f"{kind.lower()}-{normalised}.json")

    def _served_by_kubernetes(self, api_version: str, kind: str) -> bool:
        """One of Kubernetes' own kinds (a `--schema-dir` may carry its schema too): its name
        rules are its own, not a custom resource's."""
        return (importlib.resources.files("kubernetes_validate") / self._kind_schema_file(api_version, kind)) \
            .is_file()

    def _kubernetes_validator(self, api_version: str, kind: str) -> CompiledSchema | None:
        try:
            schema = kv.schema_contents(self._kind_schema_file(api_version, kind), self.kubernetes_version)
        except FileNotFoundError:
            return None
        except Exception as error:  # noqa: BLE001 - a broken schema must fail the check, loudly
            raise ModelopsError(f"cannot load Kubernetes schema for {kind} ({api_version}): {error}") from None
        if self._k8s_registry is None:
            definitions = kv.schema_contents(self._kubernetes_schema_file("_definitions.json"),
                                             self.kubernetes_version)
            self._k8s_registry = referencing.Resource.from_contents(definitions) @ referencing.Registry()
            self._k8s_fast_registry = jsonschema_rs.Registry([(definitions["$id"], definitions)])
        registry = referencing.Resource.from_contents(schema) @ self._k8s_registry
        fast_registry = self._k8s_fast_registry
        # Kubernetes' own types carry CEL rules only in newer OpenAPI documents; use them where present.
        return CompiledSchema(lambda: jsonschema_rs.validator_for(schema, registry=fast_registry,
                                                                  validate_formats=False),
                              KubernetesValidator(schema, registry=registry), build_plan(schema),
                              compile_after=self.compile_after, name=f"{kind} ({api_version})")


@lru_cache(maxsize=8)
def vendored_releases(product: str) -> tuple[str, ...]:
    """The releases of `product` whose CRDs are vendored, oldest first."""
    folder = RELEASES / product
    found = [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    return tuple(sorted(found, key=_version_key))


@lru_cache(maxsize=64)
def release_for(product: str, declared: str) -> str | None:
    """The vendored release whose schemas stand for `declared`: the newest of the same or
    an older minor version (CRDs change with minor releases). None when nothing is
    vendored for the product; ModelopsError when `declared` is older than all of it."""
    releases = vendored_releases(product)
    if not releases:
        return None
    wanted = _version_key(declared)[:2]
    fitting = [r for r in releases if _version_key(r)[:2] <= wanted]
    if not fitting:
        raise ModelopsError(f"{product} {declared} is older than any release whose schemas modelops carries "
                            f"(oldest: {releases[0]})")
    return fitting[-1]


def _version_key(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text.lstrip("v").split("-", 1)[0])
    return tuple(int(p) for p in (parts + ["0", "0", "0"])[:3])


def _from_schema_dir(directory: Path, group: str, version: str, kind: str) -> dict[str, Any] | None:
    short_group = group.split(".")[0]
    candidates = [directory / group / f"{kind.lower()}_{version}.json",
                  directory / f"{kind.lower()}_{version}.json",
                  directory / (f"{kind.lower()}-{short_group}-{version}.json" if short_group
                               else f"{kind.lower()}-{version}.json")]
    for candidate in candidates:
        if candidate.is_file():
            try:
                schema = json.loads(candidate.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise ModelopsError(f"cannot load schema {candidate}: {error}") from None
            _refuse_unusable(schema, candidate)
            return schema
    return _crd_index(directory).get((group, kind, version))


def _refuse_unusable(schema: Any, source: Path) -> None:
    """A schema from --schema-dir is checked against JSON Schema's own schema before use: a
    malformed one (`required: 5`) made both validators end in a traceback."""
    if not isinstance(schema, dict):
        raise ModelopsError(f"cannot load schema {source}: a schema is a JSON object, not {type(schema).__name__}")
    # jsonschema-rs decides (a large CRD in milliseconds), python-jsonschema words the error;
    # no formats: `pattern` is RE2 here (see generator.validate.patterns), not Python's re
    if _meta_schema_validator().is_valid(schema):
        _refuse_outside_refs(schema, source)
        return
    meta = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)
    error = jsonschema.exceptions.best_match(meta.iter_errors(schema))
    if error is not None:
        where = path_text(error.absolute_path) or "the top level"
        raise ModelopsError(f"cannot load schema {source}: not a valid JSON Schema at {where}: {error.message}")
    _refuse_outside_refs(schema, source)


@lru_cache(maxsize=1)
def _meta_schema_validator() -> Any:
    return jsonschema_rs.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA, validate_formats=False)


def _refuse_outside_refs(schema: Any, source: Path) -> None:
    """A `$ref` must point inside its own schema. Both validators would otherwise fetch its
    target over the network (python-jsonschema with no timeout) and end in a traceback when
    that fails; a CI gate fetches nothing. kubeconform's layout has standalone schemas for
    this reason, and the API server refuses `$ref` in a CRD's schema outright."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                raise ModelopsError(f"cannot load schema {source}: $ref {ref!r} points outside the schema, and "
                                    "modelops fetches no schema (use kubeconform's standalone schemas)")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@lru_cache(maxsize=1)
def _cel_index() -> dict[str, list[list[list[str]]]]:
    try:
        return dict(json.loads(CEL_INDEX.read_text()))
    except (OSError, json.JSONDecodeError):
        return {}  # no index: build_plan walks the schema instead


@lru_cache(maxsize=32)
def _crd_index(directory: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every CRD version schema in the YAML files of `directory`, parsed once."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    index: dict[tuple[str, str, str], dict[str, Any]] = {}
    for crd_file in sorted(directory.glob("*.y*ml")):
        try:
            documents = list(yaml.load_all(crd_file.read_text(), Loader=loader))
        except (OSError, yaml.YAMLError) as error:
            raise ModelopsError(f"cannot load CRD file {crd_file}: {error}") from None
        for number, doc in enumerate(documents, start=1):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                for group, kind, version, schema in _crd_versions(doc, f"{crd_file} (document {number})"):
                    _refuse_unusable(schema, crd_file)
                    index[(group, kind, version)] = schema
    return index


_EXPECTED: dict[type, str] = {dict: "a mapping", str: "a string", list: "a list"}


def _crd_versions(crd: dict[str, Any], where: str) -> Iterator[tuple[str, str, str, Any]]:
    """(group, kind, version, schema) of each version of a CRD that has a schema; a CRD the
    API server would not accept is an error naming the field, not a traceback."""
    def field(value: Any, path: str, kind: type) -> Any:
        if not isinstance(value, kind):
            expected = _EXPECTED[kind]
            raise ModelopsError(f"cannot load CRD file {where}: {path} must be {expected}")
        return value

    spec = field(crd.get("spec"), "spec", dict)
    group = field(spec.get("group"), "spec.group", str)
    kind = field(field(spec.get("names"), "spec.names", dict).get("kind"), "spec.names.kind", str)
    for index, served in enumerate(field(spec.get("versions", []), "spec.versions", list)):
        served = field(served, f"spec.versions[{index}]", dict)
        name = field(served.get("name"), f"spec.versions[{index}].name", str)
        schema = served.get("schema", {})
        schema = field(schema, f"spec.versions[{index}].schema", dict).get("openAPIV3Schema")
        if schema:
            yield group, kind, name, schema


def _short_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        # YAML keys need not be strings (`true:`, `1:`): name them as JSON would
        unknown = sorted(key if isinstance(key, str) else json.dumps(key) for key in set(error.instance) - known)
        if unknown:
            return f"unknown field(s): {', '.join(unknown)}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {json.dumps(error.instance)[:60]}"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."
