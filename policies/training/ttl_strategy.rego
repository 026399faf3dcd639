# METADATA
# title: Training workflows expire with a ttlStrategy
# description: >-
#   Without a ttlStrategy finished Workflow objects (and their status, which for large
#   training DAGs is big) pile up in etcd forever. spec.ttlStrategy must set at least one
#   of secondsAfterCompletion, secondsAfterSuccess or secondsAfterFailure. Applies to
#   WorkflowTemplates and CronWorkflows that inline their templates.
# scope: package
# custom:
#   id: MO-TRN-005
#   kinds: [WorkflowTemplate, CronWorkflow]
#   severity: low
#   remediation: >-
#     Set spec.ttlStrategy, e.g. {secondsAfterSuccess: 86400, secondsAfterFailure: 604800};
#     archive workflows to the Argo workflow archive if history is needed.
package modelops.training.ttl_strategy

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

fields := ["secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure"]

deny contains result if {
	wf_spec
	not has_ttl
	result := {
		"msg": "ttlStrategy must set secondsAfterCompletion, secondsAfterSuccess or secondsAfterFailure; finished workflows are never cleaned up",
		"path": concat("", [wf_prefix, ".ttlStrategy"]),
	}
}

has_ttl if {
	some f in fields
	v := wf_spec.ttlStrategy[f]
	v != null
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
