# METADATA
# title: Training retries are bounded and back off
# description: >-
#   GPU jobs fail for infrastructure reasons (preemption, node shutdown, NCCL timeouts),
#   so container, script and resource templates need a retryStrategy, but an unbounded or
#   immediate retry loop hammers a broken cluster and burns GPU hours. Each workload
#   template's effective retryStrategy (its own, else the workflow spec's) must have a
#   limit of at most 10 and a backoff. A missing retryStrategy is accepted only when the
#   model spec asks for no retries (training.retries: 0). Applies to WorkflowTemplates and
#   CronWorkflows that inline their templates.
# scope: package
# custom:
#   id: MO-TRN-002
#   kinds: [WorkflowTemplate, CronWorkflow]
#   severity: medium
#   remediation: >-
#     Set retryStrategy {limit: <=10, backoff: {duration: "1m", factor: 2, cap: "30m"}}
#     on the workflow spec or on the training template (`cap` from Argo 3.7; not
#     `maxDuration`, which Argo counts from the first attempt and so disables late retries).
package modelops.training.retry_strategy

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

max_limit := 10

deny contains result if {
	some i, t in wf_spec.templates
	workload(t)
	not effective(t)
	not no_retries_requested
	result := {
		"msg": concat("", ["template '", object.get(t, "name", ""), "' has no retryStrategy (workflow spec or template) although the model asks for retries"]),
		"path": template_path(i),
	}
}

deny contains result if {
	some i, t in wf_spec.templates
	workload(t)
	rs := effective(t)
	limit := object.get(rs, "limit", null)
	limit == null
	result := {
		"msg": concat("", ["template '", object.get(t, "name", ""), "': retryStrategy has no limit (retries forever); set limit <= ", format_int(max_limit, 10)]),
		"path": concat("", [rs_path(i, t), ".limit"]),
	}
}

deny contains result if {
	some i, t in wf_spec.templates
	workload(t)
	rs := effective(t)
	n := as_number(object.get(rs, "limit", null))
	n > max_limit
	result := {
		"msg": concat("", ["template '", object.get(t, "name", ""), "': retryStrategy.limit ", sprintf("%v", [n]), " is above the maximum of ", format_int(max_limit, 10)]),
		"path": concat("", [rs_path(i, t), ".limit"]),
	}
}

deny contains result if {
	some i, t in wf_spec.templates
	workload(t)
	rs := effective(t)
	not has_backoff(rs)
	result := {
		"msg": concat("", ["template '", object.get(t, "name", ""), "': retryStrategy has no backoff (duration), so failed GPU pods are retried immediately"]),
		"path": concat("", [rs_path(i, t), ".backoff"]),
	}
}

no_retries_requested if input.model.training.retries == 0

effective(t) := t.retryStrategy if is_object(t.retryStrategy)

effective(t) := wf_spec.retryStrategy if {
	not is_object(object.get(t, "retryStrategy", null))
	is_object(wf_spec.retryStrategy)
}

rs_path(i, t) := concat("", [template_path(i), ".retryStrategy"]) if is_object(t.retryStrategy)

rs_path(_, t) := concat("", [wf_prefix, ".retryStrategy"]) if not is_object(object.get(t, "retryStrategy", null))

template_path(i) := concat("", [wf_prefix, ".templates[", format_int(i, 10), "]"])

has_backoff(rs) if {
	d := rs.backoff.duration
	d != ""
	d != "0"
	d != 0
}

as_number(v) := v if is_number(v)

as_number(v) := to_number(v) if {
	is_string(v)
	regex.match(`^[0-9]+$`, v)
}

workload(t) if is_object(t.container)

workload(t) if is_object(t.script)

workload(t) if is_object(t.resource)

workload(t) if is_object(t.containerSet)

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
