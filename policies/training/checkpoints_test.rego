package modelops.training.checkpoints_test

import rego.v1

wf(spec_extra) := {"kind": "WorkflowTemplate", "spec": object.union({"templates": [{"name": "train", "container": {"name": "main", "image": "x"}}]}, spec_extra)}

test_allowed_retries_with_checkpoints if {
	d := wf({"retryStrategy": {"limit": 3, "backoff": {"duration": "1m"}}})
	count(data.modelops.training.checkpoints.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"name": "m", "training": {"retries": 3, "checkpoints": "s3://ml-checkpoints/m/"}}
}

test_allowed_no_retries_no_checkpoints if {
	d := wf({})
	count(data.modelops.training.checkpoints.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"name": "m", "training": {"retries": 0, "checkpoints": null}}
}

test_denied_retries_without_checkpoints if {
	d := wf({})
	result := data.modelops.training.checkpoints.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"name": "m", "training": {"retries": 3, "checkpoints": null}}
	count(result) == 1
	some r in result
	contains(r.msg, "model 'm' retries failed runs but has no checkpoint location")
}

test_denied_document_retry_strategy_without_checkpoints if {
	d := wf({"retryStrategy": {"limit": "2"}})
	count(data.modelops.training.checkpoints.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"name": "m", "training": {"retries": 0, "checkpoints": ""}}
}
