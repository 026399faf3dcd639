# METADATA
# title: Images are pinned by digest outside dev
# description: >-
#   A tag can be moved to point at different bytes at any time; only a digest
#   (@sha256:...) guarantees that staging and prod run exactly the image that was
#   tested and promoted. Applies to every container image in Deployments,
#   WorkflowTemplates/CronWorkflows (container, script, init and sidecar containers),
#   JobSets (the one embedded in a multi-node WorkflowTemplate is checked as a document
#   of its own) and the serving Values file, in every environment except dev.
#   Argo template expressions ({{...}}) cannot be verified and are skipped.
# scope: package
# custom:
#   id: MO-IMG-001
#   kinds: [Values, Deployment, WorkflowTemplate, CronWorkflow, JobSet, InferenceService, ServingRuntime]
#   severity: high
#   remediation: >-
#     Pin the image with @sha256:<digest> (e.g. registry.example.com/vllm/vllm-openai@sha256:...)
#     in the model spec (release.image / serving.image / training.image); promotion
#     should resolve tags to digests.
package modelops.images.digest_pinned

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	env_name != "dev"
	some ref in images
	not templated(ref.image)
	not pinned(ref.image)
	result := {
		"msg": concat("", ["image '", ref.image, "'", ref.where, " is not pinned by digest in environment '", env_name, "'; use @sha256:<digest>"]),
		"path": ref.path,
	}
}

# A missing environment name is treated as "not dev": pinning is required.
env_name := n if {
	n := input.environment.name
	is_string(n)
} else := ""

pinned(image) if regex.match(`@sha256:[a-f0-9]{64}$`, image)

templated(image) if contains(image, "{{")

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
