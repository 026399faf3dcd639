"""Names the cluster derives from a model's name, checked when the spec is loaded.

A model's name is a DNS-1123 label of at most 53 characters, but the objects named after
it are held to stricter rules by the controllers that take them, after they applied:
- the chart's Service and KServe's InferenceService are DNS-1035 labels (a letter first;
  KServe's webhook: `[a-z]([-a-z0-9]*[a-z0-9])?`);
- a multi-node run's JobSet is named after its Workflow (`<model>-training-` and Argo's
  five-character suffix, or `-<unix time>` when the CronWorkflow starts it), and JobSet's
  webhook requires its longest Job name (`<jobset>-workers-0`) and pod name
  (`<jobset>-workers-0-<last index>-` and a five-character suffix) to be DNS-1035 labels:
  a letter first and 63 characters at most.
Exit 2 at the spec's `metadata.name` says so before anything is rendered, rather than a
JobSet refused in the middle of a training run.
"""
from __future__ import annotations

from generator.errors import Problem
from generator.spec.model import ModelSpec, ResolvedModel

__all__ = ["MAX_LABEL", "longest_training_pod_name", "name_problems"]

MAX_LABEL = 63
WORKFLOW_SUFFIX = "-training-" + "x" * 5  # `argo submit --from workflowtemplate/<model>-training`
CRON_WORKFLOW_SUFFIX = "-training-" + "9" * 10  # `<cron workflow>-<unix time>`
REPLICATED_JOB = "workers"  # blueprints/templates/training-jobset.yaml.j2
POD_SUFFIX = "-abcde"  # the Job controller's random suffix, as JobSet's webhook counts it


def longest_training_pod_name(model: str, nodes: int, scheduled: bool) -> str:
    """The longest pod name a multi-node run of `model` gets (what JobSet's webhook checks)."""
    jobset = model + (CRON_WORKFLOW_SUFFIX if scheduled else WORKFLOW_SUFFIX)
    return f"{jobset}-{REPLICATED_JOB}-0-{nodes - 1}{POD_SUFFIX}"


def name_problems(spec: ModelSpec, resolved: ResolvedModel) -> list[Problem]:
    name, problems = spec.name, []
    training = resolved.training or {}
    nodes = int(training.get("gpus", {}).get("nodes", 1))
    serves, jobset = resolved.serving is not None, nodes > 1
    if not name[:1].isalpha() and (serves or jobset):
        named = "its Service and InferenceService" if serves else "its training JobSet's Jobs and pods"
        problems.append(spec.located.problem(("metadata", "name"), f"'{name}' starts with a digit: {named} are "
                                             "named after the model, and those names must start with a letter "
                                             "(DNS-1035)"))
    if jobset:
        scheduled = bool(training.get("schedule"))
        longest = longest_training_pod_name(name, nodes, scheduled)
        if len(longest) > MAX_LABEL:
            most = len(name) - (len(longest) - MAX_LABEL)
            problems.append(spec.located.problem(("metadata", "name"), (
                f"'{name}' is too long for {nodes}-node training{' on a schedule' if scheduled else ''}: each run's "
                f"JobSet names its pods after the run, up to '{longest}' ({len(longest)} characters), and JobSet "
                f"refuses names over {MAX_LABEL}; use at most {most} characters")))
    return problems
