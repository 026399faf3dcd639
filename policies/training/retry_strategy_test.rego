package modelops.training.retry_strategy_test

import rego.v1

good_retry := {"limit": 3, "retryPolicy": "Always", "backoff": {"duration": "1m", "factor": 2, "maxDuration": "30m"}}

wf(spec_extra, train_extra) := {"kind": "WorkflowTemplate", "spec": object.union({"templates": [
	{"name": "main", "steps": [[{"name": "train", "template": "train"}]]},
	object.union({"name": "train", "container": {"name": "main", "image": "x"}}, train_extra),
]}, spec_extra)}

test_allowed_workflow_level_retry if {
	d := wf({"retryStrategy": good_retry}, {})
	count(data.modelops.training.retry_strategy.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 3}}
}

test_allowed_template_level_retry_string_limit if {
	d := wf({}, {"retryStrategy": {"limit": "10", "backoff": {"duration": "30s"}}})
	count(data.modelops.training.retry_strategy.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 10}}
}

test_allowed_no_retries_requested if {
	d := wf({}, {})
	count(data.modelops.training.retry_strategy.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 0}}
}

test_denied_missing_retry_strategy if {
	d := wf({}, {})
	result := data.modelops.training.retry_strategy.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 3}}
	count(result) == 1
	some r in result
	r.path == "spec.templates[1]"
}

test_denied_limit_too_high_and_no_backoff if {
	d := wf({"retryStrategy": {"limit": 50}}, {})
	result := data.modelops.training.retry_strategy.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 3}}
	count(result) == 2
	paths := {r.path | some r in result}
	paths == {"spec.retryStrategy.limit", "spec.retryStrategy.backoff"}
}

test_denied_unbounded if {
	d := wf({}, {"retryStrategy": {"backoff": {"duration": "1m"}}})
	result := data.modelops.training.retry_strategy.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"retries": 3}}
	count(result) == 1
	some r in result
	contains(r.msg, "retries forever")
}
