# METADATA
# title: GPU requests equal limits
# description: >-
#   Extended resources such as nvidia.com/gpu (and MIG resources such as
#   nvidia.com/mig-1g.10gb) cannot be overcommitted: Kubernetes rejects pods whose GPU
#   request differs from the limit, and a request left to defaulting hides the real ask
#   from quota tools (Kueue, ResourceQuota). Every container of a Deployment,
#   WorkflowTemplate/CronWorkflow or JobSet (the one embedded in a multi-node
#   WorkflowTemplate is checked as a document of its own) that names a nvidia.com/
#   resource must set it in both requests and limits, with the same value.
# scope: package
# custom:
#   id: MO-GPU-003
#   kinds: [Deployment, WorkflowTemplate, CronWorkflow, JobSet, InferenceService]
#   severity: high
#   remediation: >-
#     Set resources.requests and resources.limits of every nvidia.com/ resource to the same
#     value (the blueprints do this from gpus.count / gpus.perNode).
package modelops.gpus.requests_equal_limits

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some ref in containers
	some name in gpu_resources(ref.container)
	requests := object.get(ref.container, ["resources", "requests"], {})
	limits := object.get(ref.container, ["resources", "limits"], {})
	not same(requests, limits, name)
	result := {
		"msg": concat("", [
			"container '", object.get(ref.container, "name", ""), "'", ref.where, ": ", name,
			" request (", show(requests, name), ") must equal its limit (", show(limits, name), ")",
		]),
		"path": concat("", [ref.path, ".resources"]),
	}
}

gpu_resources(c) := {name |
	some section in ["requests", "limits"]
	res := object.get(c, ["resources", section], {})
	some name
	res[name]
	contains(name, "nvidia.com/")
}

same(requests, limits, name) if {
	normal(requests[name]) == normal(limits[name])
}

normal(v) := sprintf("%v", [v]) if is_number(v)

normal(v) := v if is_string(v)

show(res, name) := normal(res[name])

show(res, name) := "unset" if not res[name]

# ---- containers in the document -----------------------------------------------------
# Each entry: path (where the container lives), where (extra location text), container.

containers contains {"path": concat("", ["spec.template.spec.", f, "[", format_int(i, 10), "]"]), "where": "", "container": c} if {
	input.kind == "Deployment"
	some f in ["containers", "initContainers"]
	some i, c in reviewed.spec.template.spec[f]
	is_object(c)
}

wf_spec := reviewed.spec if input.kind == "WorkflowTemplate"

wf_spec := reviewed.spec.workflowSpec if input.kind == "CronWorkflow"

wf_prefix := "spec" if input.kind == "WorkflowTemplate"

wf_prefix := "spec.workflowSpec" if input.kind == "CronWorkflow"

containers contains {"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "].", f]), "where": "", "container": c} if {
	some i, t in wf_spec.templates
	some f in ["container", "script"]
	is_object(t[f])
	c := object.union({"name": "main"}, t[f])
}

containers contains {"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "].", f, "[", format_int(j, 10), "]"]), "where": "", "container": c} if {
	some i, t in wf_spec.templates
	some f in ["initContainers", "sidecars"]
	some j, c in t[f]
	is_object(c)
}

# The embedded JobSet of a multi-node WorkflowTemplate is its own document (kind JobSet,
# source embedded).
containers contains {"path": concat("", ["spec.replicatedJobs[", format_int(j, 10), "].template.spec.template.spec.", f, "[", format_int(k, 10), "]"]), "where": concat("", [" in JobSet replicatedJob '", object.get(rj, "name", ""), "'"]), "container": c} if {
	input.kind == "JobSet"
	some j, rj in reviewed.spec.replicatedJobs
	some f in ["containers", "initContainers"]
	some k, c in rj.template.spec.template.spec[f]
	is_object(c)
}

containers contains {"path": sprintf("spec.predictor.containers[%d]", [i]), "where": " (InferenceService)", "container": c} if {
	input.kind == "InferenceService"
	some i, c in reviewed.spec.predictor.containers
	is_object(c)
}

containers contains {"path": "spec.predictor.model", "where": " (InferenceService)", "container": object.union({"name": "kserve-container"}, m)} if {
	input.kind == "InferenceService"
	m := reviewed.spec.predictor.model
	is_object(m)
}
