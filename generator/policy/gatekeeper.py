"""Gatekeeper ConstraintTemplates and Constraints, evaluated offline (suites: `gator_verify`).

Templates (`templates.gatekeeper.sh/v1`, `v1beta1`) are read from YAML, their Rego for the
`admission.k8s.gatekeeper.sh` target (`rego` + `libs`, or `code: [{engine: Rego, ...}]`)
is loaded as written (the engine reads v0, which the whole Gatekeeper library is, or
upgrades its syntax when it reads only v1) once per template. Each object is reviewed the way gator and the audit build
their input: `{"review": {kind, name, namespace, object, ...}, "parameters": ...}`, and a
Constraint's `match` block is applied first, with Gatekeeper's semantics.

`data.inventory` (referential constraints) holds the evaluated objects, keyed as
Gatekeeper's sync does: `namespace[ns][apiVersion][kind][name]` and
`cluster[apiVersion][kind][name]`. A template that reads the inventory is recompiled once
per `evaluate` call with that inventory.

Everything fails closed: bad Rego, an unsupported engine or builtin, a Constraint without
a template, or invalid parameters raise `ModelopsError`, never an empty result.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from generator.errors import ModelopsError
from generator.findings import Finding
from generator.policy import PolicyError
from generator.policy.engine import PolicyModule, PolicySet
from generator.policy.engines import DEFAULT_ENGINE
from generator.policy.metadata import ModuleMetadata
from generator.policy.rego_tokens import package_name, rule_names, tokenize
from generator.yamlio import Located, load_located

__all__ = [
    "TARGET", "ConstraintTemplate", "Constraint", "GatekeeperSet", "GatekeeperViolation", "ConstraintSchemaError",
    "load_gatekeeper", "read_documents", "template_from_document", "constraint_from_document", "matches",
    "review_input", "build_inventory", "LEVELS", "Review", "admission_request", "is_admission_review",
]

TARGET = "admission.k8s.gatekeeper.sh"
TEMPLATE_GROUP = "templates.gatekeeper.sh"
TEMPLATE_VERSIONS = ("v1", "v1beta1", "v1alpha1")
CONSTRAINT_GROUP = "constraints.gatekeeper.sh"
CONSTRAINT_VERSIONS = ("v1beta1", "v1", "v1alpha1")
YAML_SUFFIXES = (".yaml", ".yml", ".json")
# enforcementAction -> Finding level (see generator.findings.SEVERITIES)
LEVELS = {"deny": "deny", "warn": "warn", "dryrun": "info"}


class ConstraintSchemaError(ModelopsError):
    """A Constraint's parameters do not satisfy its template's openAPIV3Schema."""


# -- reading YAML ------------------------------------------------------------------------------

def _yaml_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ModelopsError(f"{root}: no such file or directory")
    return [p for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in YAML_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def read_documents(path: Path) -> list[Located]:
    """Every non-empty document of one YAML (or JSON) file, with positions."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelopsError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}") from error
    return [doc for doc in load_located(text, str(path)) if doc.data is not None]


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _is_kind(data: Any, group: str) -> bool:
    return isinstance(data, dict) and _group_version(str(data.get("apiVersion", "")))[0] == group


def _where(doc: Located, path: tuple[str | int, ...]) -> str:
    line, column = doc.where(path)
    return f"{doc.file}:{line}:{column}"


# -- templates ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConstraintTemplate:
    """One ConstraintTemplate: its constraint kind, Rego modules (v1) and parameter schema."""

    name: str
    kind: str
    file: str
    package: str
    modules: tuple[PolicyModule, ...]
    schema: Mapping[str, Any] | None = None
    reads_inventory: bool = False

    def compile(self, inventory: Mapping[str, Any] | None = None, *, engine: str = DEFAULT_ENGINE,
                engine_options: Mapping[str, Any] | None = None) -> PolicySet:
        data = {"inventory": dict(inventory)} if inventory else None
        try:
            return PolicySet(self.modules, data, engine=engine, engine_options=engine_options,
                             rule_filter=lambda rule: rule == "violation")
        except PolicyError as error:
            raise PolicyError(f"ConstraintTemplate {self.name} ({self.file}): {error}") from error

    def validate_parameters(self, parameters: Any, where: str) -> None:
        if not self.schema or parameters is None:
            return
        errors = sorted(jsonschema.Draft7Validator(self.schema).iter_errors(parameters), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
            raise ConstraintSchemaError(f"{where}: spec.parameters{path}: {first.message} "
                                        f"(schema of ConstraintTemplate {self.name})")


def _rego_sources(doc: Located, target_index: int, target: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """(YAML path, text) of the main module then its libs, from `rego`/`libs` or `code[]`."""
    base: tuple[str | int, ...] = ("spec", "targets", target_index)
    if target.get("rego"):
        libs = target.get("libs") or []
        return [(base + ("rego",), target["rego"]), *((base + ("libs", i), lib) for i, lib in enumerate(libs))]
    for index, code in enumerate(target.get("code") or []):
        if isinstance(code, dict) and code.get("engine") == "Rego":
            source = code.get("source") or {}
            where = base + ("code", index, "source")
            libs = source.get("libs") or []
            return [(where + ("rego",), source.get("rego") or ""),
                    *((where + ("libs", i), lib) for i, lib in enumerate(libs))]
    engines = sorted({str(c.get("engine")) for c in target.get("code") or [] if isinstance(c, dict)})
    raise ModelopsError(f"{_where(doc, base)}: no Rego for target {TARGET}"
                        + (f" (only {', '.join(engines)}, which modelops cannot evaluate)" if engines else ""))


def _module(doc: Located, path: tuple[str | int, ...], text: Any, name: str, lines: list[str]) -> PolicyModule:
    if not isinstance(text, str) or not text.strip():
        raise ModelopsError(f"{_where(doc, path)}: empty Rego module")
    package = package_name(text)
    if not package:
        raise ModelopsError(f"{_where(doc, path)}: Rego module has no package clause")
    line, column = doc.positions.get(path, (0, 0))
    # A block scalar's text starts on the line after its `|`: pad it so that compiler
    # errors name the line in the YAML file.
    is_block = 0 < line <= len(lines) and lines[line - 1][column - 1:column] in ("|", ">")
    source = "\n" * line + text if is_block else text
    return PolicyModule(path=name, package=package, source=source, rules=tuple(rule_names(source)),
                        metadata=ModuleMetadata(package=package))


def _file_lines(file: str) -> list[str]:
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _reads_inventory(modules: Iterable[PolicyModule]) -> bool:
    for module in modules:
        sig = [t.text for t in tokenize(module.source) if t.significant]
        for i, token in enumerate(sig[:-2]):
            if token == "data" and sig[i + 1] == "." and sig[i + 2] == "inventory":
                return True
            if token == "data" and sig[i + 1] == "[":
                return True  # a computed path into data may reach the inventory
    return False


def _target(doc: Located) -> tuple[int, dict[str, Any]]:
    targets = (doc.data.get("spec") or {}).get("targets") or []
    for index, target in enumerate(targets):
        if isinstance(target, dict) and target.get("target") == TARGET:
            return index, target
    raise ModelopsError(f"{_where(doc, ('spec', 'targets'))}: no target {TARGET}")


def template_from_document(doc: Located) -> ConstraintTemplate:
    """One ConstraintTemplate and its Rego (GatekeeperSet compiles it); raises ModelopsError."""
    data = doc.data
    name = str((data.get("metadata") or {}).get("name", ""))
    names = ((((data.get("spec") or {}).get("crd") or {}).get("spec") or {}).get("names") or {})
    kind = str(names.get("kind", ""))
    if not kind:
        raise ModelopsError(f"{_where(doc, ('spec', 'crd'))}: ConstraintTemplate {name}: spec.crd.spec.names.kind is required")
    if name != kind.lower():
        raise ModelopsError(f"{_where(doc, ('metadata', 'name'))}: ConstraintTemplate name {name!r} must be the "
                            f"lowercase of its kind {kind!r} ({kind.lower()!r})")
    index, target = _target(doc)
    sources = _rego_sources(doc, index, target)
    lines = _file_lines(doc.file)
    modules = [_module(doc, path, text, doc.file if i == 0 else f"{doc.file}#libs[{i - 1}]", lines)
               for i, (path, text) in enumerate(sources)]
    _check_packages(doc, sources, modules)
    validation = (((data.get("spec") or {}).get("crd") or {}).get("spec") or {}).get("validation") or {}
    schema = validation.get("openAPIV3Schema")
    return ConstraintTemplate(name=name, kind=kind, file=doc.file, package=modules[0].package,
                              modules=tuple(modules), schema=schema, reads_inventory=_reads_inventory(modules))


def _check_packages(doc: Located, sources: list[tuple[tuple[str | int, ...], str]], modules: list[PolicyModule]) -> None:
    if "violation" not in modules[0].rules:
        raise ModelopsError(f"{_where(doc, sources[0][0])}: the template's Rego has no `violation` rule")
    for (path, _), module in zip(sources[1:], modules[1:]):
        if not module.package.startswith("lib."):
            raise ModelopsError(f"{_where(doc, path)}: a lib's package must start with `lib.`, got {module.package}")


# -- constraints and match ---------------------------------------------------------------------

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


@dataclass(frozen=True)
class Constraint:
    kind: str
    name: str
    file: str
    parameters: Mapping[str, Any]
    match: Mapping[str, Any]
    enforcement_action: str = "deny"


def _enforcement(doc: Located, spec: Mapping[str, Any]) -> str:
    action = str(spec.get("enforcementAction") or "deny")
    if action == "scoped":  # Gatekeeper 3.17+: the strongest action any enforcement point uses
        actions = {str(s.get("action")) for s in spec.get("scopedEnforcementActions") or [] if isinstance(s, dict)}
        action = next((a for a in ("deny", "warn", "dryrun") if a in actions), "")
    if action not in LEVELS:
        raise ModelopsError(f"{_where(doc, ('spec', 'enforcementAction'))}: enforcementAction "
                            f"{spec.get('enforcementAction')!r} is not one of deny, warn, dryrun (or scoped)")
    return action


def _check_selector(doc: Located, path: tuple[str, ...], selector: Any) -> None:
    if selector is None:
        return
    if not isinstance(selector, dict):
        raise ModelopsError(f"{_where(doc, path)}: a label selector must be a mapping")
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        operator = expression.get("operator") if isinstance(expression, dict) else None
        values = (expression.get("values") or []) if isinstance(expression, dict) else []
        where = _where(doc, path + ("matchExpressions", index))
        if operator not in _OPERATORS:
            raise ModelopsError(f"{where}: operator {operator!r} is not one of {', '.join(sorted(_OPERATORS))}")
        if operator in {"In", "NotIn"} and not values:
            raise ModelopsError(f"{where}: operator {operator} needs a non-empty `values`")
        if operator in {"Exists", "DoesNotExist"} and values:
            raise ModelopsError(f"{where}: operator {operator} takes no `values`")


def constraint_from_document(doc: Located) -> Constraint:
    data = doc.data
    metadata = data.get("metadata") or {}
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        raise ModelopsError(f"{_where(doc, ('spec',))}: spec must be a mapping")
    match = spec.get("match") or {}
    for key in ("labelSelector", "namespaceSelector"):
        _check_selector(doc, ("spec", "match", key), match.get(key))
    parameters = spec.get("parameters")
    return Constraint(kind=str(data.get("kind", "")), name=str(metadata.get("name", "")), file=doc.file,
                      parameters=parameters if isinstance(parameters, dict) else {}, match=match,
                      enforcement_action=_enforcement(doc, spec))


def _wildcard(pattern: str, value: str) -> bool:
    """Gatekeeper's util.Wildcard: `kube-*` (prefix), `*-system` (suffix), `*x*` (contains)."""
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return pattern[1:-1] in value
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if key not in labels or str(labels[key]) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = {str(v) for v in expression.get("values") or []}
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _kinds_match(kinds: Sequence[Mapping[str, Any]], group: str, kind: str) -> bool:
    if not kinds:
        return True
    for entry in kinds:
        names, groups = entry.get("kinds") or [], entry.get("apiGroups") or []
        if (not names or "*" in names or kind in names) and (not groups or "*" in groups or group in groups):
            return True
    return False


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def matches(match: Mapping[str, Any], obj: Mapping[str, Any], namespace: Mapping[str, Any] | None = None) -> bool:
    """Gatekeeper's match semantics for one object (`namespace`: its Namespace object, if known).

    A namespaced object whose Namespace is unknown is matched against empty namespace
    labels (Gatekeeper would refuse to decide; offline we have no cluster to ask).
    """
    group, _ = _group_version(str(obj.get("apiVersion", "")))
    kind = str(obj.get("kind", ""))
    metadata = obj.get("metadata") or {}
    is_namespace = kind == "Namespace" and group == ""
    own_namespace = str(metadata.get("namespace") or "")
    ns_name = str(metadata.get("name", "")) if is_namespace else own_namespace
    if not _kinds_match(match.get("kinds") or [], group, kind):
        return False
    scope = match.get("scope")
    if scope == "Cluster" and not (is_namespace or not own_namespace):
        return False
    if scope == "Namespaced" and (is_namespace or not own_namespace):
        return False
    if match.get("namespaces") and ns_name and not any(_wildcard(p, ns_name) for p in match["namespaces"]):
        return False
    if ns_name and any(_wildcard(p, ns_name) for p in match.get("excludedNamespaces") or []):
        return False
    if match.get("labelSelector") is not None and not _selector_matches(match["labelSelector"], _labels(obj)):
        return False
    selector = match.get("namespaceSelector")
    if selector is not None and (is_namespace or own_namespace):
        labels = _labels(obj) if is_namespace else _labels(namespace or {})
        if not _selector_matches(selector, labels):
            return False
    name = match.get("name")
    return not name or _wildcard(str(name), str(metadata.get("name", "")))


# -- review input and inventory ----------------------------------------------------------------

def review_input(obj: Mapping[str, Any], parameters: Mapping[str, Any] | None = None,
                 namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Rego input Gatekeeper builds for one object: an admission request for its creation."""
    group, version = _group_version(str(obj.get("apiVersion", "")))
    metadata = obj.get("metadata") or {}
    review: dict[str, Any] = {
        "uid": "", "kind": {"group": group, "version": version, "kind": str(obj.get("kind", ""))},
        "name": str(metadata.get("name", "")), "namespace": str(metadata.get("namespace") or ""),
        "operation": "CREATE", "userInfo": {}, "object": obj, "oldObject": None, "dryRun": False,
    }
    if namespace is not None:
        review["_unstable"] = {"namespace": namespace}
    return {"review": review, "parameters": dict(parameters or {})}


def build_inventory(objects: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`data.inventory` as Gatekeeper's sync lays it out (cluster / namespace, apiVersion, kind, name)."""
    inventory: dict[str, Any] = {}
    for obj in objects:
        metadata = obj.get("metadata") or {}
        keys = [str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(metadata.get("name", ""))]
        namespace = metadata.get("namespace")
        node = inventory.setdefault("namespace", {}).setdefault(str(namespace), {}) if namespace \
            else inventory.setdefault("cluster", {})
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = obj
    return inventory


# -- admission requests (gator's AdmissionReview case objects) ---------------------------------

ADMISSION_GROUP = "admission.k8s.io"
_REVIEW_FIELDS = {"apiVersion", "kind", "request", "response"}
_REQUEST_FIELDS = {"uid", "kind", "resource", "subResource", "requestKind", "requestResource", "requestSubResource",
                   "name", "namespace", "operation", "userInfo", "object", "oldObject", "dryRun", "options"}


def is_admission_review(data: Any) -> bool:
    return _is_kind(data, ADMISSION_GROUP) and data.get("kind") == "AdmissionReview"


def _request_object(request: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    obj = request.get(key)
    if obj is None:
        return None
    if not isinstance(obj, dict) or not obj.get("kind"):
        raise ModelopsError(f"AdmissionReview: request.{key} must be a Kubernetes object with a kind")
    return obj


def admission_request(review: Mapping[str, Any]) -> dict[str, Any]:
    """The AdmissionRequest of an AdmissionReview, as Gatekeeper hands it to Rego.

    Checked the way gator does (no unknown fields, a request with an object or an
    oldObject); fields the API server always sends get their zero values, and a DELETE
    reviews its oldObject as `object`, as Gatekeeper's webhook does.
    """
    request = review.get("request")
    unknown = sorted(set(review) - _REVIEW_FIELDS) or sorted(set(request if isinstance(request, dict) else {})
                                                             - _REQUEST_FIELDS)
    if unknown:
        raise ModelopsError(f"AdmissionReview: unknown field {unknown[0]!r}")
    if not isinstance(request, dict) or not all(isinstance(request.get(k) or {}, dict) for k in ("kind", "resource")):
        raise ModelopsError("AdmissionReview: request did not actually pass in an AdmissionRequest")
    obj, old = _request_object(request, "object"), _request_object(request, "oldObject")
    if obj is None and old is None:
        raise ModelopsError('AdmissionReview: AdmissionRequest does not contain an "object" or "oldObject" to review')
    result = {"uid": "", "operation": "", "userInfo": {}, **request,
              "kind": {"group": "", "version": "", "kind": "", **(request.get("kind") or {})},
              "resource": {"group": "", "version": "", "resource": "", **(request.get("resource") or {})}}
    if request.get("operation") == "DELETE" and obj is None:
        result["object"] = old
    return result


@dataclass(frozen=True)
class Review:
    """One thing to review: the objects a Constraint's match block sees (an object, or a
    request's object and oldObject: either may match) and, for a request, its Rego input."""

    objects: tuple[dict[str, Any], ...]
    namespace: str = ""
    request: Mapping[str, Any] | None = None

    @classmethod
    def of_object(cls, obj: dict[str, Any]) -> Review:
        return cls((obj,), str((obj.get("metadata") or {}).get("namespace") or ""))

    @classmethod
    def of_request(cls, request: Mapping[str, Any]) -> Review:
        """A request from `admission_request`; objects without a namespace match in the request's."""
        namespace = str(request.get("namespace") or "")
        objects = [o for o in (request.get("object"), request.get("oldObject")) if isinstance(o, dict)]
        return cls(tuple(_with_namespace(o, namespace) for o in objects), namespace, request)

    def input(self, parameters: Mapping[str, Any], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.request is None:
            return review_input(self.objects[0], parameters, namespace)
        review = dict(self.request)
        if namespace is not None:
            review["_unstable"] = {"namespace": namespace}
        return {"review": review, "parameters": dict(parameters or {})}


# -- the set -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatekeeperViolation:
    constraint_kind: str
    constraint_name: str
    msg: str
    details: Any
    enforcement_action: str
    kind: str
    name: str
    namespace: str
    api_version: str = ""
    constraint_file: str = ""

    @property
    def level(self) -> str:
        return LEVELS[self.enforcement_action]

    def to_finding(self, *, file: str = "", line: int = 0, **extra: Any) -> Finding:
        return Finding(rule=f"{self.constraint_kind}/{self.constraint_name}", level=self.level, message=self.msg,
                       title=self.constraint_kind, file=file, line=line, resource_kind=self.kind,
                       resource_name=self.name, source="gatekeeper", rendered_file=file,
                       extra={"enforcementAction": self.enforcement_action, "namespace": self.namespace,
                              **({"details": self.details} if self.details else {}), **extra})


# Kinds that never have a namespace; `default_namespace` is not applied to them.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "CSIDriver", "ClusterIssuer", "ConstraintTemplate",
    "ClusterWorkflowTemplate", "ClusterQueue", "ResourceFlavor", "PodSecurityPolicy",
})


def _checked_object(obj: Any, index: int) -> dict[str, Any]:
    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        raise ModelopsError(f"object #{index + 1} is not a Kubernetes object (it needs apiVersion and kind)")
    return obj


def _with_namespace(obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    if not namespace or metadata.get("namespace") or obj.get("kind") in CLUSTER_SCOPED_KINDS:
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


class GatekeeperSet:
    """Templates compiled once and the Constraints that instantiate them."""

    def __init__(self, templates: Sequence[ConstraintTemplate], constraints: Sequence[Constraint], *,
                 engine: str = DEFAULT_ENGINE, engine_options: Mapping[str, Any] | None = None):
        self.engine = engine
        self.engine_options = dict(engine_options or {})
        self.templates = {t.kind: t for t in templates}
        self.constraints = sorted(constraints, key=lambda c: (c.kind, c.name))
        missing = sorted({c.kind for c in self.constraints} - set(self.templates))
        if missing:
            raise ModelopsError(f"no ConstraintTemplate for constraint kinds {', '.join(missing)}")
        self._compiled = {kind: template.compile(engine=engine, engine_options=engine_options) for kind, template in sorted(self.templates.items())}

    def evaluate(self, objects: Sequence[Any], *, inventory: Sequence[Any] | None = None,
                 default_namespace: str | None = None) -> list[GatekeeperViolation]:
        """Every violation of every Constraint by `objects`, in constraint then object order.

        `inventory` (default: `objects` themselves) fills `data.inventory` and supplies the
        Namespace objects for `namespaceSelector`. `default_namespace` is given to
        namespaced objects that carry none (what `kubectl apply -n` or Argo CD would do).
        """
        reviewed = [_with_namespace(_checked_object(o, i), default_namespace) for i, o in enumerate(objects)]
        known = reviewed if inventory is None else [
            _with_namespace(_checked_object(o, i), default_namespace) for i, o in enumerate(inventory)]
        return self.evaluate_reviews([Review.of_object(o) for o in reviewed], known)

    def evaluate_request(self, request: Mapping[str, Any], *,
                         inventory: Sequence[Any] = ()) -> list[GatekeeperViolation]:
        """Violations of one admission request (see `admission_request`), as gator reviews an
        AdmissionReview: `userInfo`, `operation` and `oldObject` reach the Rego as given."""
        known = [_checked_object(o, i) for i, o in enumerate(inventory)]
        return self.evaluate_reviews([Review.of_request(request)], known)

    def evaluate_reviews(self, reviews: Sequence[Review], known: Sequence[dict[str, Any]]) -> list[GatekeeperViolation]:
        """`evaluate` for prepared reviews; `known` fills `data.inventory` and the Namespaces."""
        namespaces = {str((o.get("metadata") or {}).get("name")): o
                      for o in [*known, *(obj for review in reviews for obj in review.objects)]
                      if o.get("kind") == "Namespace" and _group_version(str(o.get("apiVersion")))[0] == ""}
        data = build_inventory(known)
        compiled: dict[str, PolicySet] = {}
        violations: list[GatekeeperViolation] = []
        for constraint in self.constraints:
            template = self.templates[constraint.kind]
            if template.kind not in compiled:
                compiled[template.kind] = template.compile(data, engine=self.engine, engine_options=self.engine_options) if template.reads_inventory and data \
                    else self._compiled[template.kind]
            for review in reviews:
                namespace = namespaces.get(review.namespace)
                if any(matches(constraint.match, obj, namespace) for obj in review.objects):
                    violations += self._review(compiled[template.kind], template, constraint, review, namespace)
        return violations

    def _review(self, policies: PolicySet, template: ConstraintTemplate, constraint: Constraint,
                review: Review, namespace: Mapping[str, Any] | None) -> list[GatekeeperViolation]:
        document = review.input(constraint.parameters, namespace)
        try:
            defined, value = policies.query(template.package, "violation", document)
        except PolicyError as error:
            raise PolicyError(f"{constraint.kind}/{constraint.name}: {error}") from error
        results = (value if isinstance(value, list) else [value]) if defined else []
        obj = review.objects[0]
        metadata = obj.get("metadata") or {}
        return [GatekeeperViolation(constraint_kind=constraint.kind, constraint_name=constraint.name,
                                    msg=_message(template, result), details=result.get("details", {}),
                                    enforcement_action=constraint.enforcement_action, kind=str(obj.get("kind")),
                                    name=str(metadata.get("name", "")), namespace=str(metadata.get("namespace") or ""),
                                    api_version=str(obj.get("apiVersion")), constraint_file=constraint.file)
                for result in results]


def _message(template: ConstraintTemplate, result: Any) -> str:
    if not isinstance(result, dict) or not isinstance(result.get("msg"), str):
        raise PolicyError(f"ConstraintTemplate {template.name}: violation produced {json.dumps(result)[:200]}, "
                          "not an object with a string `msg` ")
    return result["msg"]


def _classify(docs: Iterable[Located]) -> tuple[list[Located], list[Located]]:
    templates, constraints = [], []
    for doc in docs:
        if _is_kind(doc.data, TEMPLATE_GROUP) and doc.data.get("kind") == "ConstraintTemplate":
            templates.append(doc)
        elif _is_kind(doc.data, CONSTRAINT_GROUP):
            constraints.append(doc)
    return templates, constraints


def _bind(template_docs: list[Located], constraint_docs: list[Located], engine: str,
          engine_options: Mapping[str, Any] | None = None) -> GatekeeperSet:
    templates: dict[str, ConstraintTemplate] = {}
    for doc in template_docs:
        template = template_from_document(doc)
        if template.kind in templates:
            raise ModelopsError(f"{doc.file}: ConstraintTemplate kind {template.kind} is also defined in "
                                f"{templates[template.kind].file}")
        templates[template.kind] = template
    constraints: dict[tuple[str, str], Constraint] = {}
    for doc in constraint_docs:
        constraint = constraint_from_document(doc)
        where = _where(doc, ("kind",))
        if constraint.kind not in templates:
            raise ModelopsError(f"{where}: no ConstraintTemplate defines kind {constraint.kind} "
                                f"(templates: {', '.join(sorted(templates)) or 'none'})")
        if (constraint.kind, constraint.name) in constraints:
            raise ModelopsError(f"{where}: {constraint.kind}/{constraint.name} is defined twice")
        templates[constraint.kind].validate_parameters((doc.data.get("spec") or {}).get("parameters"), where)
        constraints[(constraint.kind, constraint.name)] = constraint
    return GatekeeperSet(list(templates.values()), list(constraints.values()), engine=engine,
                         engine_options=engine_options)


def load_gatekeeper(paths: str | Path | Sequence[str | Path], *, engine: str = DEFAULT_ENGINE,
                    engine_options: Mapping[str, Any] | None = None) -> GatekeeperSet:
    """Every ConstraintTemplate and Constraint in YAML files under `paths` (files or directories).

    Other documents (sample objects, gator Suites) are skipped.
    """
    roots = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    docs = [doc for root in roots for file in _yaml_files(root) for doc in read_documents(file)]
    return _bind(*_classify(docs), engine, engine_options)
