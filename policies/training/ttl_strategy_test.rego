package modelops.training.ttl_strategy_test

import rego.v1

wf(spec_extra) := {"kind": "WorkflowTemplate", "spec": object.union({"templates": [{"name": "train", "container": {"name": "main", "image": "x"}}]}, spec_extra)}

test_allowed_ttl if {
	d := wf({"ttlStrategy": {"secondsAfterSuccess": 86400, "secondsAfterFailure": 604800}})
	count(data.modelops.training.ttl_strategy.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
}

test_denied_missing if {
	d := wf({})
	result := data.modelops.training.ttl_strategy.deny with input.kind as "WorkflowTemplate"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.ttlStrategy"
}

test_denied_empty_ttl if {
	d := wf({"ttlStrategy": {}})
	count(data.modelops.training.ttl_strategy.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.document as d
}
