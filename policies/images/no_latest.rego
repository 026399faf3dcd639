# METADATA
# title: Images have an explicit, non-latest tag or a digest
# description: >-
#   An untagged image means ':latest', and ':latest' changes under you: a node that
#   pulls later runs different code than the one that was tested, and a rollback cannot
#   go back to the old bytes. Applies in every environment to every container image in
#   Deployments, WorkflowTemplates/CronWorkflows, JobSets (the one embedded in a
#   multi-node WorkflowTemplate is checked as a document of its own) and the serving
#   Values file. An image pinned by digest is accepted whatever its tag.
# scope: package
# custom:
#   id: MO-IMG-002
#   kinds: [Values, Deployment, WorkflowTemplate, CronWorkflow, JobSet, InferenceService, ServingRuntime]
#   severity: high
#   remediation: >-
#     Use an immutable version tag (e.g. vllm/vllm-openai:v0.6.3) or, better, a digest
#     (@sha256:<digest>) for the image in the model spec.
package modelops.images.no_latest

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some ref in images
	not contains(ref.image, "{{")
	not has_digest(ref.image)
	tag := image_tag(ref.image)
	tag == "latest"
	result := {
		"msg": concat("", ["image '", ref.image, "'", ref.where, " uses the mutable ':latest' tag; use a version tag or a digest"]),
		"path": ref.path,
	}
}

deny contains result if {
	some ref in images
	not contains(ref.image, "{{")
	not has_digest(ref.image)
	not image_tag(ref.image)
	result := {
		"msg": concat("", ["image '", ref.image, "'", ref.where, " has no tag (defaults to ':latest'); use a version tag or a digest"]),
		"path": ref.path,
	}
}

has_digest(image) if contains(image, "@")

# The tag is what follows the last ':' of the last path component (a ':' before the
# last '/' is a registry port, as in registry.local:5000/team/model).
image_tag(image) := tag if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	segs := split(last, ":")
	tag := segs[count(segs) - 1]
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
