# METADATA
# title: Workloads carry the required ownership and cost labels
# description: >-
#   GPU spend is attributed and alerts are routed by labels: without team, cost center,
#   model and environment labels a runaway training job or an idle GPU Deployment cannot
#   be traced to anyone. Deployments must set modelops.dev/team, modelops.dev/cost-center,
#   modelops.dev/model and modelops.dev/environment (non-empty) on metadata.labels and on
#   the pod template (pods are what cost tools see); WorkflowTemplates and CronWorkflows
#   on metadata.labels.
# scope: package
# custom:
#   id: MO-LBL-001
#   kinds: [Deployment, WorkflowTemplate, CronWorkflow, InferenceService]
#   severity: medium
#   remediation: >-
#     Set team and costCenter in the model spec; the blueprints and the chart render the
#     modelops.dev/* labels from them (also add them to the workflow's podMetadata.labels).
package modelops.labels.required

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

required := ["modelops.dev/team", "modelops.dev/cost-center", "modelops.dev/model", "modelops.dev/environment"]

label_sets contains {"path": "metadata.labels", "labels": object.get(reviewed, ["metadata", "labels"], {})} if {
	input.kind in {"Deployment", "WorkflowTemplate", "CronWorkflow"}
	is_object(reviewed)
}

label_sets contains {"path": "spec.template.metadata.labels", "labels": object.get(reviewed, ["spec", "template", "metadata", "labels"], {})} if {
	input.kind == "Deployment"
	is_object(reviewed)
}

deny contains result if {
	some entry in label_sets
	missing := [l | some l in required; not present(entry.labels, l)]
	count(missing) > 0
	result := {
		"msg": concat("", [input.kind, " '", name, "' is missing required labels at ", entry.path, ": ", concat(", ", missing)]),
		"path": entry.path,
	}
}

name := n if {
	n := reviewed.metadata.name
	is_string(n)
} else := ""

present(labels, l) if {
	v := labels[l]
	is_string(v)
	trim_space(v) != ""
}

# KServe: the InferenceService and the labels its predictor pods get.
label_sets contains {"path": "metadata.labels", "labels": object.get(reviewed, ["metadata", "labels"], {})} if {
	input.kind == "InferenceService"
	is_object(reviewed)
}

label_sets contains {"path": "spec.predictor.labels", "labels": object.get(reviewed, ["spec", "predictor", "labels"], {})} if {
	input.kind == "InferenceService"
	is_object(reviewed)
}
