# METADATA
# title: Training workflows have a deadline
# description: >-
#   A hung NCCL collective, a deadlocked DataLoader or a pod stuck Pending for GPUs keeps
#   GPUs reserved (and billed) forever unless something kills the workflow.
#   activeDeadlineSeconds on the workflow spec (or on every container, script and
#   resource template) bounds the damage. Applies to WorkflowTemplates and to
#   CronWorkflows that inline their templates.
# scope: package
# custom:
#   id: MO-TRN-001
#   kinds: [WorkflowTemplate, CronWorkflow]
#   severity: high
#   remediation: >-
#     Set spec.activeDeadlineSeconds (the blueprint derives it from
#     training.maxDurationSeconds); consider pendingTimeout as well for GPU waits.
package modelops.training.active_deadline

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	wf_spec
	not positive(object.get(wf_spec, "activeDeadlineSeconds", null))
	some i, t in wf_spec.templates
	workload(t)
	not positive(object.get(t, "activeDeadlineSeconds", null))
	result := {
		"msg": concat("", [
			"template '", object.get(t, "name", ""),
			"' runs without a deadline: set activeDeadlineSeconds on the workflow spec or the template",
		]),
		"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "].activeDeadlineSeconds"]),
	}
}

workload(t) if is_object(t.container)

workload(t) if is_object(t.script)

workload(t) if is_object(t.resource)

workload(t) if is_object(t.containerSet)

positive(v) if {
	is_number(v)
	v > 0
}

positive(v) if {
	is_string(v)
	regex.match(`^[0-9]+$`, v)
	to_number(v) > 0
}

# An Argo expression ({{workflow.parameters.deadline}}) is resolved at submit time.
positive(v) if {
	is_string(v)
	contains(v, "{{")
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
