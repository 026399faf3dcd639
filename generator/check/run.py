"""Run the gate: documents -> schema findings + policy findings -> enforcement -> waivers.

Fail closed: a policy that errors, a chart that fails to render, a schema that can't be
loaded raise `ModelopsError` (exit 2); they never turn into an empty, passing result.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from generator.check.documents import CheckDocument, collect_documents
from generator.check.locate import locate_in_spec
from generator.check.placeholders import RULES as PLACEHOLDER_RULES
from generator.check.placeholders import placeholder_findings
from generator.errors import ModelopsError, Problem, SpecError
from generator.findings import Finding, merge_places, sort_findings
from generator.policy.engine import PolicySet, RuleResult
from generator.policy.engines import DEFAULT_ENGINE
from generator.policy.waivers import Waiver, apply_waivers, load_waivers, unknown_rules
from generator.render.pipeline import RenderedFile
from generator.render.training_context import RELEASED_PRODUCTS, crd_releases
from generator.report.model import RuleInfo
from generator.spec.load import Environment, Repository
from generator.spec.model import ResolvedModel

if TYPE_CHECKING:  # the schema stack (jsonschema, jsonschema-rs, CEL) loads when a document is checked
    from generator.validate.schemas import SchemaRegistry, SchemaViolation

__all__ = ["CEL_RULE", "CEL_UNEVALUABLE", "METADATA_RULE", "PROMETHEUS_RULE", "SCHEMA_RULE", "CheckOptions", "CheckResult", "checked_waivers", "policy_input",
           "policy_inputs", "run_check"]

SCHEMA_RULE = RuleInfo(id="MO-SCHEMA-001", title="Rendered objects match their Kubernetes or CRD schema",
                       severity="high", remediation="Fix the spec field named in the message; an object that does "
                       "not match its schema fails to sync in Argo CD.", level="deny")
CEL_RULE = RuleInfo(id="MO-CEL-001", title="Rendered objects satisfy their CRD's CEL validation rules",
                    severity="high", remediation="The API server rejects an object that breaks an "
                    "x-kubernetes-validations rule; fix the spec field named in the message.", level="deny")
CEL_UNEVALUABLE = RuleInfo(id="MO-CEL-002", title="A CEL validation rule could not be evaluated offline",
                           severity="medium", remediation="The rule uses a function modelops's CEL library lacks; "
                           "check the object against a real API server (kubectl apply --dry-run=server).",
                           level="warn")
METADATA_RULE = RuleInfo(id="MO-SCHEMA-002", title="Rendered objects' names, labels and annotations are ones the API "
                         "server accepts", severity="high", remediation="The API server refuses an object whose name, "
                         "label, annotation or finalizer breaks its rules, whatever the schema allows; fix the value "
                         "named in the message (in the spec, or in the team's blueprint that writes it).", level="deny")
PROMETHEUS_RULE = RuleInfo(id="MO-PROM-001", title="PrometheusRules load in Prometheus", severity="high",
                           remediation="prometheus-operator leaves out a PrometheusRule that Prometheus's rule "
                           "loader refuses (every alert in it is silently gone) or, with its admission webhook, "
                           "refuses to apply it; fix the rule named in the message (usually in the team's "
                           "monitoring-prometheusrule blueprint).", level="deny")
_SCHEMA_RULES = {"schema": SCHEMA_RULE, "cel": CEL_RULE, "cel-unevaluable": CEL_UNEVALUABLE, "metadata": METADATA_RULE,
                 "prometheus": PROMETHEUS_RULE}


@dataclass
class CheckOptions:
    policy_dirs: Sequence[Path]
    kubernetes_version: str | None = None  # None: each environment's own
    schema_dirs: Sequence[Path] = ()
    waivers_file: Path | None = None
    today: dt.date = field(default_factory=dt.date.today)
    workers: int = 2
    evaluator: Any = None  # a loaded PolicySet; built from policy_dirs and the engine choice when None
    engine: str = DEFAULT_ENGINE
    engine_options: dict[str, Any] = field(default_factory=dict)
    allow_network: bool = False
    plan_for: Callable[[ResolvedModel], dict[str, Any] | None] | None = None
    extra_checks: Sequence[Callable[[list[CheckDocument]], list[Finding]]] = ()
    # progress(total) -> a context manager with advance(n): the CLI's bar; None: silent.
    progress: Callable[[int], Any] | None = None


@dataclass
class CheckResult:
    findings: list[Finding]
    checked: list[tuple[str, str]]
    documents_checked: int
    rules: dict[str, RuleInfo]
    timings: dict[str, float]
    per_pair_documents: dict[tuple[str, str], int] = field(default_factory=dict)  # (env, model) -> count
    engine: str = ""  # e.g. "regorus 0.13.0"


def policy_input(doc: CheckDocument, env_view: dict[str, Any], kinds: list[str], plan: dict[str, Any] | None) -> dict[str, Any]:
    """The input document every policy sees (docs/architecture.md, "Policy input contract")."""
    return {
        "kind": doc.kind,
        "document": doc.document,
        "file": doc.file,
        "source": doc.source,
        "model": doc.resolved.policy_view() if doc.resolved else None,
        "environment": env_view,
        "context": {"kinds": kinds, "plan": plan},
    }


def _location(doc: CheckDocument, repo: Repository, text: str) -> Problem:
    if doc.resolved is not None:
        return locate_in_spec(doc.resolved, doc.kind, doc.file, text)
    env = repo.environments.get(doc.environment)
    if env is None:
        return Problem(doc.file, 1, 1, "", "")
    line, column = env.located.where(("metadata", "name"))
    return Problem(env.path, line, column, "metadata.name", "")


def _level(kind: str, enforcement: str) -> str:
    level = "warn" if kind == "warn" else "deny"
    return "warn" if enforcement == "warn" and level == "deny" else level


def _policy_finding(result: RuleResult, doc: CheckDocument, repo: Repository) -> Finding:
    enforcement = repo.environments[doc.environment].enforcement if doc.environment in repo.environments else "deny"
    rule = result.id or result.namespace
    where = _location(doc, repo, f"{rule} {result.title} {result.msg}")
    return Finding(rule=rule, level=_level(result.kind, enforcement), message=result.msg,
                   severity=result.severity or "medium", title=result.title, model=doc.model,
                   environment=doc.environment, file=where.file, line=where.line, column=where.column,
                   resource_kind=doc.kind, resource_name=doc.name, rendered_file=doc.file,
                   remediation=result.remediation, source="policy",
                   extra={"path": result.details.get("path")} if result.details.get("path") else {})


# A run with this many documents compiles every schema it meets at once (a few pairs'
# worth, where compiling the large Argo CRDs is repaid; see CompiledSchema).
COMPILE_ALL_AFTER = 400


def _schema_findings(documents: list[CheckDocument], repo: Repository, options: CheckOptions) -> list[Finding]:
    from generator.validate.prometheus_rules import prometheus_rule_problems
    from generator.validate.schemas import COMPILE_AFTER, SchemaRegistry, SchemaViolation, path_text

    registries: dict[tuple[str, tuple[tuple[str, str], ...]], SchemaRegistry] = {}
    findings = []
    for doc in documents:
        if not doc.has_schema:
            continue
        env = repo.environments.get(doc.environment)
        version = options.kubernetes_version or (env.kubernetes_version if env else "1.33")
        releases = _releases(env) if env else {}
        key = (version, tuple(sorted(releases.items())))
        if key not in registries:
            try:
                registries[key] = SchemaRegistry(version, options.schema_dirs, releases=releases, compile_after=0
                                                 if len(documents) >= COMPILE_ALL_AFTER else COMPILE_AFTER)
            except ModelopsError as error:
                if options.kubernetes_version or env is None:
                    raise
                # the environment's own kubernetesVersion: name its file, line and field
                raise ModelopsError(str(env.located.problem(("kubernetesVersion",), str(error)))) from None
        # a manifest embedded in a workflow holds Argo expressions, filled in when the workflow runs
        for violation in registries[key].validate(doc.document, templated=doc.source == "embedded"):
            findings.append(_schema_finding(doc, repo, violation))
        for parts, message in prometheus_rule_problems(doc.document):
            findings.append(_schema_finding(doc, repo, SchemaViolation(path_text(parts), message, parts, "prometheus")))
    return findings


def _releases(env: Environment) -> dict[str, str]:
    """The controller releases the environment declares, each checked against the
    schemas modelops carries (an older one is the environment file's error)."""
    from generator.validate.schemas import release_for

    releases = crd_releases(env)
    fields = {product: key for key, product in RELEASED_PRODUCTS.items()}
    for product, declared in releases.items():
        try:
            release_for(product, declared)
        except ModelopsError as error:
            line, column = env.located.where(("cluster", fields[product]))
            raise SpecError([Problem(env.path, line, column, f"cluster.{fields[product]}", str(error))]) from None
    return releases


def _schema_finding(doc: CheckDocument, repo: Repository, violation: SchemaViolation) -> Finding:
    rule = _SCHEMA_RULES[violation.source]
    where = _location(doc, repo, "schema " + violation.message)
    extra = {"cel": violation.rule} if violation.rule else {}
    return Finding(rule=rule.id, level=rule.level, severity=rule.severity, title=rule.title,
                   message=f"{doc.kind} {doc.name}: {violation.path}: {violation.message}", model=doc.model,
                   environment=doc.environment, file=where.file, line=where.line, column=where.column,
                   resource_kind=doc.kind, resource_name=doc.name, rendered_file=doc.file,
                   remediation=rule.remediation, source="schema", extra=extra)


def _environment_view(view: dict[str, Any], usage: dict[str, Any] | None, model: str) -> dict[str, Any]:
    """The environment as one model's policies see it: the GPU total and this model's share.

    Not every model's share: with a thousand models that map would be most of each input,
    and converting the input is a large part of an engine's cost per document.
    """
    if usage is None:
        return view
    mine = {model: usage["byModel"][model]} if model in usage["byModel"] else {}
    return view | {"gpuUsage": {"total": usage["total"], "byModel": mine}}


def policy_inputs(documents: list[CheckDocument], repo: Repository,
                  plan_for: Callable[[ResolvedModel], dict[str, Any] | None] | None) -> list[dict[str, Any]]:
    """The input of every document; the environment view and plan built once per pair."""
    usage = repo.gpu_usage()
    kinds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc in documents:
        kinds[(doc.environment, doc.model)].append(doc.kind)
    base_views = {name: env.policy_view() for name, env in repo.environments.items()}
    shared: dict[tuple[str, str], tuple[dict[str, Any], list[str], dict[str, Any] | None]] = {}
    inputs = []
    for doc in documents:
        key = (doc.environment, doc.model)
        if key not in shared:
            plan = plan_for(doc.resolved) if (plan_for and doc.resolved) else None
            view = _environment_view(base_views.get(doc.environment, {}), usage.get(doc.environment), doc.model)
            shared[key] = (view, sorted(set(kinds[key])), plan)
        inputs.append(policy_input(doc, *shared[key]))
    return inputs


def _policy_findings(documents: list[CheckDocument], repo: Repository, evaluator: Any,
                     options: CheckOptions) -> list[Finding]:
    inputs = policy_inputs(documents, repo, options.plan_for)
    # One engine, one thread: regorus holds the GIL (check scales over processes instead).
    results: list[list[RuleResult]] = []
    with (options.progress or _silent)(len(inputs)) as bar:
        for start in range(0, len(inputs), PROGRESS_CHUNK):
            chunk = inputs[start:start + PROGRESS_CHUNK]
            results += evaluator.evaluate_many(chunk, workers=1)
            bar.advance(len(chunk))
    return [_policy_finding(r, doc, repo) for doc, found in zip(documents, results, strict=True) for r in found]


PROGRESS_CHUNK = 25


class _silent:
    """A progress sink that shows nothing."""

    def __init__(self, _total: int) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def advance(self, _step: int = 1) -> None:
        return None


def rule_catalogue(evaluator: Any) -> dict[str, RuleInfo]:
    rules = {r.id: r for r in (SCHEMA_RULE, METADATA_RULE, CEL_RULE, CEL_UNEVALUABLE, PROMETHEUS_RULE)} | PLACEHOLDER_RULES
    for module in getattr(evaluator, "modules", ()):
        note = module.metadata.package_annotation
        if module.is_test or note is None:
            continue
        rule_id = note.id or module.package
        rules[rule_id] = RuleInfo(id=rule_id, title=note.title, severity=note.severity or "medium",
                                  remediation=note.remediation, description=note.description,
                                  level="warn" if module.rules and all(r.startswith("warn") for r in module.rules) else "deny")
    return rules


def run_check(repo: Repository, files: list[RenderedFile], options: CheckOptions) -> CheckResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    evaluator = options.evaluator or PolicySet.load([str(p) for p in options.policy_dirs], engine=options.engine,
                                                    engine_options=options.engine_options,
                                                    allow_network=options.allow_network)
    timings["policy-compile"] = time.perf_counter() - started

    mark = time.perf_counter()
    documents = collect_documents(files, repo.root)
    timings["helm"] = time.perf_counter() - mark

    mark = time.perf_counter()
    findings = _schema_findings(documents, repo, options)
    timings["schema"] = time.perf_counter() - mark

    mark = time.perf_counter()
    findings += _policy_findings(documents, repo, evaluator, options)
    findings += placeholder_findings(documents, repo)
    for extra in options.extra_checks:
        findings += extra(documents)
    timings["policy"] = time.perf_counter() - mark

    rules = rule_catalogue(evaluator)
    if options.waivers_file is not None:
        known = {**rules, **{f.rule: RuleInfo(f.rule) for f in findings if f.rule not in rules}}
        findings = apply_waivers(findings, checked_waivers(options.waivers_file, known), options.today)
    checked = sorted({(f.model, f.environment) for f in files if f.model})
    per_pair: dict[tuple[str, str], int] = defaultdict(int)
    for doc in documents:
        per_pair[(doc.environment, doc.model)] += 1
    return CheckResult(findings=sort_findings(_dedupe(findings)), checked=checked, documents_checked=len(documents),
                       rules=rules, timings=timings, per_pair_documents=dict(per_pair),
                       engine=getattr(evaluator, "engine_label", ""))


def checked_waivers(path: Path, rules: dict[str, RuleInfo]) -> list[Waiver]:
    """The waivers file, refusing waivers for rules that no loaded policy defines."""
    waivers = load_waivers(path, display_path=path.name)
    problems = unknown_rules(waivers, rules)
    if problems:
        raise SpecError(problems)
    return waivers


def _dedupe(findings: list[Finding]) -> list[Finding]:
    return merge_places(findings)
