# METADATA
# title: Training workflows garbage-collect their pods
# description: >-
#   Completed training pods keep their logs but also hold node slots, ephemeral storage
#   and (for some device plugins) GPU accounting until deleted; thousands of finished pods
#   slow the API server and the Argo controller. spec.podGC.strategy must be set to one
#   of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess. Applies
#   to WorkflowTemplates and CronWorkflows that inline their templates.
# scope: package
# custom:
#   id: MO-TRN-004
#   kinds: [WorkflowTemplate, CronWorkflow]
#   severity: low
#   remediation: >-
#     Set spec.podGC: {strategy: OnPodCompletion} (or OnWorkflowSuccess to keep failed pods
#     for debugging); ship logs to an artifact repository or log store.
package modelops.training.pod_gc

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

strategies := {"OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"}

deny contains result if {
	wf_spec
	not object.get(wf_spec, ["podGC", "strategy"], "") in strategies
	result := {
		"msg": concat("", ["podGC.strategy must be one of ", concat(", ", sort(strategies)), "; finished training pods are never deleted"]),
		"path": concat("", [wf_prefix, ".podGC"]),
	}
}

# ---- the workflow spec --------------------------------------------------------------
# WorkflowTemplates always; CronWorkflows only when they inline their templates (one
# that references a WorkflowTemplate inherits these settings from it).

wf_spec := reviewed.spec if input.kind == "WorkflowTemplate"

wf_spec := reviewed.spec.workflowSpec if {
	input.kind == "CronWorkflow"
	count(object.get(reviewed.spec.workflowSpec, "templates", [])) > 0
}

wf_prefix := "spec" if input.kind == "WorkflowTemplate"

wf_prefix := "spec.workflowSpec" if input.kind == "CronWorkflow"
