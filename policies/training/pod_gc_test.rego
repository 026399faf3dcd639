package modelops.training.pod_gc_test

import rego.v1

wf(spec_extra) := {"kind": "WorkflowTemplate", "spec": object.union({"templates": [{"name": "train", "container": {"name": "main", "image": "x"}}]}, spec_extra)}

test_allowed_pod_gc if {
	d := wf({"podGC": {"strategy": "OnPodCompletion"}})
	count(data.modelops.training.pod_gc.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
}

test_allowed_other_kind if {
	count(data.modelops.training.pod_gc.deny) == 0 with input.kind as "Deployment"
		with input.document as {"spec": {}}
}

test_denied_missing if {
	d := wf({})
	result := data.modelops.training.pod_gc.deny with input.kind as "WorkflowTemplate"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.podGC"
}

test_denied_invalid_strategy_in_cron_workflow if {
	cw := {"kind": "CronWorkflow", "spec": {"workflowSpec": {"podGC": {"strategy": "Never"}, "templates": [{"name": "t", "container": {"image": "x"}}]}}}
	result := data.modelops.training.pod_gc.deny with input.kind as "CronWorkflow"
		with input.document as cw
	count(result) == 1
	some r in result
	r.path == "spec.workflowSpec.podGC"
}
