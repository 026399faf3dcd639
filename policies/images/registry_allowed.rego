# METADATA
# title: Images come from an allowed registry
# description: >-
#   Each environment lists the registries it trusts (environment.registries, matched as
#   prefixes). Images from anywhere else bypass the organisation's scanning, signing and
#   pull-through caching, and public registries rate-limit and disappear. Applies to every
#   container image in Deployments, WorkflowTemplates/CronWorkflows, JobSets (the one
#   embedded in a multi-node WorkflowTemplate is checked as a document of its own) and
#   the serving Values file. Skipped when the environment lists no
#   registries.
# scope: package
# custom:
#   id: MO-IMG-003
#   kinds: [Values, Deployment, WorkflowTemplate, CronWorkflow, JobSet, InferenceService, ServingRuntime]
#   severity: high
#   remediation: >-
#     Mirror the image into one of the environment's registries and reference it from
#     there, or add the registry to environment.registries after review.
package modelops.images.registry_allowed

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	allowed := object.get(input, ["environment", "registries"], [])
	count(allowed) > 0
	some ref in images
	not contains(ref.image, "{{")
	not strings.any_prefix_match(ref.image, allowed)
	result := {
		"msg": concat("", ["image '", ref.image, "'", ref.where, " is not from an allowed registry for environment '", object.get(input, ["environment", "name"], ""), "' (allowed: ", concat(", ", allowed), ")"]),
		"path": ref.path,
	}
}

# ---- image references in the document -------------------------------------------

images contains {"path": "image", "image": reviewed.image, "where": ""} if {
	input.kind == "Values"
	is_string(reviewed.image)
}

images contains {"path": sprintf("spec.template.spec.%s[%d].image", [f, i]), "image": c.image, "where": ""} if {
	input.kind == "Deployment"
	some f in ["containers", "initContainers"]
	some i, c in reviewed.spec.template.spec[f]
	is_object(c)
	is_string(c.image)
}

wf_spec := reviewed.spec if input.kind == "WorkflowTemplate"

wf_spec := reviewed.spec.workflowSpec if input.kind == "CronWorkflow"

wf_prefix := "spec" if input.kind == "WorkflowTemplate"

wf_prefix := "spec.workflowSpec" if input.kind == "CronWorkflow"

images contains {"path": sprintf("%s.templates[%d].%s.image", [wf_prefix, i, f]), "image": c.image, "where": ""} if {
	some i, t in wf_spec.templates
	some f in ["container", "script"]
	c := t[f]
	is_string(c.image)
}

images contains {"path": sprintf("%s.templates[%d].%s[%d].image", [wf_prefix, i, f, j]), "image": c.image, "where": ""} if {
	some i, t in wf_spec.templates
	some f in ["initContainers", "sidecars"]
	some j, c in t[f]
	is_object(c)
	is_string(c.image)
}

# The embedded JobSet of a multi-node WorkflowTemplate is its own document (kind JobSet,
# source embedded).
images contains {"path": concat("", ["spec.replicatedJobs[", format_int(j, 10), "].template.spec.template.spec.", f, "[", format_int(k, 10), "].image"]), "image": c.image, "where": concat("", [" (JobSet replicatedJob '", object.get(rj, "name", ""), "' container '", object.get(c, "name", ""), "')"])} if {
	input.kind == "JobSet"
	some j, rj in reviewed.spec.replicatedJobs
	some f in ["containers", "initContainers"]
	some k, c in rj.template.spec.template.spec[f]
	is_object(c)
	is_string(c.image)
}

# ---- KServe: the ServingRuntime's containers and the InferenceService predictor ------

images contains {"path": sprintf("spec.containers[%d].image", [i]), "image": c.image, "where": " (ServingRuntime)"} if {
	input.kind == "ServingRuntime"
	some i, c in reviewed.spec.containers
	is_object(c)
	is_string(c.image)
}

images contains {"path": sprintf("spec.predictor.containers[%d].image", [i]), "image": c.image, "where": ""} if {
	input.kind == "InferenceService"
	some i, c in reviewed.spec.predictor.containers
	is_object(c)
	is_string(c.image)
}

images contains {"path": "spec.predictor.model.image", "image": reviewed.spec.predictor.model.image, "where": ""} if {
	input.kind == "InferenceService"
	is_string(reviewed.spec.predictor.model.image)
}
