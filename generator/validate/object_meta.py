"""What the API server checks in an object's metadata whatever its schema says: names,
label keys and values, annotation keys and their total size, finalizers.

A schema types labels as a map of strings, so a label value of 64 characters, an
annotation key with a space or a custom resource named `churn_Scorer` passes every schema
and is refused on create, and Argo CD reports the sync as failed. The rules follow
k8s.io/apimachinery (`ValidateObjectMeta` in pkg/api/validation/objectmeta.go, the
label-key and label-value rules in pkg/api/validate/content), the custom-resource handler
(names are DNS-1123 subdomains) and core validation (a Service's name is a DNS-1035 label,
a Namespace's a DNS-1123 label, RBAC objects take path-segment names; a pod template's
labels and annotations are checked as an object's). Other built-in kinds' name rules
differ by kind; their names are left to the schema. A namespace is a DNS-1123 label on
namespaced kinds; the API server clears one sent with a cluster-scoped object. The metadata an Argo workflow or a
JobSet gives the pods and Jobs it creates is checked too: the API server refuses those
objects when the run starts, long after the sync went green.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["MetaProblem", "metadata_problems"]

MetaProblem = tuple[tuple[str | int, ...], str]  # (path in the document, message)

_NAME_PART = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
NAME_PART_MAX = 63  # a label key's name part, a label value, a DNS label
SUBDOMAIN_MAX = 253
ANNOTATIONS_MAX_BYTES = 256 * 1024  # keys and values together

_NAME_PART_RULE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                   "alphanumeric character")
_LABEL_VALUE_RULE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                     "and must start and end with an alphanumeric character")
_SUBDOMAIN_RULE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                   "and must start and end with an alphanumeric character")
_DNS1123_LABEL_RULE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                       "must start and end with an alphanumeric character")
_DNS1035_RULE = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                 "alphabetic character, and end with an alphanumeric character")


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))  # Go measures strings in bytes


def _pattern_problems(value: str, pattern: re.Pattern[str], limit: int, rule: str) -> tuple[str, ...]:
    too_long = (f"must be no more than {limit} characters",) if _bytes(value) > limit else ()
    return too_long if pattern.fullmatch(value) else (*too_long, rule)


# Each rule is cached: the same names, keys and values recur in every document of a run.
@lru_cache(maxsize=8192)
def dns1123_subdomain(value: str) -> tuple[str, ...]:
    return _pattern_problems(value, _DNS1123_SUBDOMAIN, SUBDOMAIN_MAX, _SUBDOMAIN_RULE)


@lru_cache(maxsize=8192)
def dns1123_label(value: str) -> tuple[str, ...]:
    return _pattern_problems(value, _DNS1123_LABEL, NAME_PART_MAX, _DNS1123_LABEL_RULE)


@lru_cache(maxsize=8192)
def dns1035_label(value: str) -> tuple[str, ...]:
    return _pattern_problems(value, _DNS1035_LABEL, NAME_PART_MAX, _DNS1035_RULE)


@lru_cache(maxsize=8192)
def path_segment(value: str) -> tuple[str, ...]:
    if value in (".", ".."):
        return (f"may not be {value!r}",)
    return tuple(f"may not contain {c!r}" for c in ("/", "%") if c in value)


@lru_cache(maxsize=8192)
def qualified_name(key: str) -> tuple[str, ...]:
    """A label key (and, lowercased, an annotation key): an optional DNS subdomain prefix
    and '/', then a name of at most 63 characters."""
    parts = key.split("/")
    if len(parts) > 2:
        return ("a valid label key " + _NAME_PART_RULE + " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')",)
    problems: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        problems += ["prefix part must be non-empty"] if not parts[0] else \
            [f"prefix part {p}" for p in dns1123_subdomain(parts[0])]
    if not name:
        return (*problems, "name part must be non-empty")
    if _bytes(name) > NAME_PART_MAX:
        problems.append(f"name part must be no more than {NAME_PART_MAX} characters")
    if not _NAME_PART.fullmatch(name):
        problems.append("name part " + _NAME_PART_RULE)
    return tuple(problems)


@lru_cache(maxsize=8192)
def label_value(value: str) -> tuple[str, ...]:
    too_long = (f"must be no more than {NAME_PART_MAX} characters",) if _bytes(value) > NAME_PART_MAX else ()
    return too_long if not value or _NAME_PART.fullmatch(value) else (*too_long, _LABEL_VALUE_RULE)


_BUILT_IN_NAMES: dict[tuple[str, str], Callable[[str], tuple[str, ...]]] = {
    ("", "Service"): dns1035_label,
    ("", "Namespace"): dns1123_label,
    **{("rbac.authorization.k8s.io", kind): path_segment
       for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
}
# Cluster-scoped kinds: the API server clears a namespace sent with one, whatever it holds.
_CLUSTER_SCOPED = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    *(("rbac.authorization.k8s.io", kind) for kind in ("ClusterRole", "ClusterRoleBinding")),
    ("scheduling.k8s.io", "PriorityClass"), ("storage.k8s.io", "StorageClass"), ("networking.k8s.io", "IngressClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    *(("admissionregistration.k8s.io", kind) for kind in ("ValidatingWebhookConfiguration",
                                                           "MutatingWebhookConfiguration")),
    ("argoproj.io", "ClusterWorkflowTemplate"), ("serving.kserve.io", "ClusterServingRuntime"),
    *(("kueue.x-k8s.io", kind) for kind in ("ClusterQueue", "ResourceFlavor", "WorkloadPriorityClass")),
})
# where a built-in kind carries a pod template whose labels and annotations the API server checks
_POD_TEMPLATES: dict[str, tuple[tuple[str, ...], ...]] = {
    **{kind: (("spec", "template", "metadata"),) for kind in
       ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")},
    "CronJob": (("spec", "jobTemplate", "spec", "template", "metadata"),),
    "PodTemplate": (("template", "metadata"),),
}
# where a custom resource carries metadata its controller gives the objects it creates
# ("*": each item of a list); the API server refuses those objects, so the run fails then
_ARGO_WORKFLOW = (("spec", "podMetadata"), ("spec", "templates", "*", "metadata"))
_CREATED_METADATA: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    **{("argoproj.io", kind): _ARGO_WORKFLOW for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")},
    ("argoproj.io", "CronWorkflow"): tuple(("spec", "workflowSpec", *path[1:]) for path in _ARGO_WORKFLOW),
    ("jobset.x-k8s.io", "JobSet"): (("spec", "replicatedJobs", "*", "template", "metadata"),
                                    ("spec", "replicatedJobs", "*", "template", "spec", "template", "metadata")),
}


def metadata_problems(document: dict[str, Any], custom_resource: bool, templated: bool = False) -> list[MetaProblem]:
    """Each problem the API server would report in `document`'s metadata (and its pod
    template's), with the path to the offending key or value. Values of the wrong type are
    the schema's to report and are passed over here. `templated`: the document is a
    manifest Argo creates from a workflow, after replacing its `{{...}}` expressions, so a
    string holding one is known only then."""
    api_version, kind = str(document.get("apiVersion", "")), str(document.get("kind", ""))
    group = api_version.rpartition("/")[0]
    metadata = document.get("metadata")
    problems: list[MetaProblem] = []
    if isinstance(metadata, dict):
        name_rule = dns1123_subdomain if custom_resource else _BUILT_IN_NAMES.get((group, kind))
        name = metadata.get("name")
        if name_rule is not None and isinstance(name, str) and name:
            problems += [(("metadata", "name"), f"Invalid value: {name!r}: {m}")
                         for m in _checked(name, name_rule, templated)]
        namespace = metadata.get("namespace")
        if isinstance(namespace, str) and namespace and (group, kind) not in _CLUSTER_SCOPED:
            problems += [(("metadata", "namespace"), f"Invalid value: {namespace!r}: {m}")
                         for m in _checked(namespace, dns1123_label, templated)]
        problems += _labels_and_annotations(metadata, ("metadata",), templated)
        finalizers = metadata.get("finalizers")
        for index, finalizer in enumerate(finalizers if isinstance(finalizers, list) else []):
            if isinstance(finalizer, str):
                problems += [(("metadata", "finalizers", index), f"Invalid value: {finalizer!r}: {m}")
                             for m in _checked(finalizer, qualified_name, templated)]
    if not custom_resource and group in ("", "apps", "batch"):
        for path in _POD_TEMPLATES.get(kind, ()):
            for place, template in _each(document, path):
                if isinstance(template, dict):
                    problems += _labels_and_annotations(template, place, templated)
    for pattern in _CREATED_METADATA.get((group, kind), ()) if custom_resource else ():
        for place, template in _each(document, pattern):
            if isinstance(template, dict):  # Argo fills in `{{...}}` when it creates the pod: known only then
                problems += [(where, f"{message} (in what the {kind}'s controller creates)")
                             for where, message in _labels_and_annotations(template, place, templated=True)]
    return problems


def _checked(value: str, rule: Callable[[str], tuple[str, ...]], templated: bool) -> tuple[str, ...]:
    return () if templated and "{{" in value else rule(value)


def _labels_and_annotations(metadata: dict[str, Any], at: tuple[str | int, ...], templated: bool) -> list[MetaProblem]:
    problems: list[MetaProblem] = []
    labels, annotations = metadata.get("labels"), metadata.get("annotations")
    if labels and isinstance(labels, dict):
        for key, value in labels.items():
            if key.__class__ is str and value.__class__ is str and (qualified_name(key) or label_value(value)):
                problems += [((*at, "labels", key), f"Invalid value: {key!r}: {m}")
                             for m in _checked(key, qualified_name, templated)]
                problems += [((*at, "labels", key), f"Invalid value: {value!r}: {m}")
                             for m in _checked(value, label_value, templated)]
    if annotations and isinstance(annotations, dict):
        strings = [(k, v) for k, v in annotations.items() if k.__class__ is str and v.__class__ is str]
        for key, _ in strings:
            # annotation keys: a label key's rule, in any case
            problems += [((*at, "annotations", key), f"Invalid value: {key!r}: {m}")
                         for m in _checked(key.lower(), qualified_name, templated)]
        size = sum(len(k) + len(v) for k, v in strings)
        if size * 4 > ANNOTATIONS_MAX_BYTES:  # a character is one to four bytes: count bytes only near the limit
            size = sum(_bytes(k) + _bytes(v) for k, v in strings)
            if size > ANNOTATIONS_MAX_BYTES:
                message = f"Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes (keys and values together: {size})"
                problems.append(((*at, "annotations"), message))
    return problems


def _each(value: Any, pattern: tuple[str, ...], at: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """(path, value) of every place `pattern` names, "*" standing for each item of a list."""
    if not pattern:
        return [(at, value)]
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return [found for index, item in enumerate(value) for found in _each(item, rest, (*at, index))] \
            if isinstance(value, list) else []
    return _each(value[head], rest, (*at, head)) if isinstance(value, dict) and head in value else []

