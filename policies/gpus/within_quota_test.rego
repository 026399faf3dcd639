package modelops.gpus.within_quota_test

import rego.v1

env(total) := {"name": "prod", "gpus": {"allowed": ["nvidia-l4"], "quota": 64}, "gpuUsage": {"total": total, "byModel": {"support-chat": 20}}}

model := {"name": "support-chat", "serving": {"gpus": {"type": "nvidia-l4", "count": 1}}}

test_allowed_within_quota if {
	m := model
	count(data.modelops.gpus.within_quota.deny) == 0 with input.kind as "Values"
		with input.environment as env(64)
		with input.model as m
}

test_denied_over_quota if {
	m := model
	result := data.modelops.gpus.within_quota.deny with input.kind as "Values"
		with input.environment as env(80)
		with input.model as m
	count(result) == 1
	some r in result
	contains(r.msg, "would use 80 GPUs, over its quota of 64 (this model: 20)")
}

test_allowed_not_duplicated_on_other_documents if {
	m := model
	count(data.modelops.gpus.within_quota.deny) == 0 with input.kind as "Deployment"
		with input.environment as env(80)
		with input.model as m
	count(data.modelops.gpus.within_quota.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.environment as env(80)
		with input.model as m
}

test_denied_training_only_model_on_workflow_template if {
	result := data.modelops.gpus.within_quota.deny with input.kind as "WorkflowTemplate"
		with input.environment as env(80)
		with input.model as {"name": "support-chat", "training": {"gpus": {"type": "nvidia-l4", "perNode": 8, "nodes": 10}}, "serving": null}
	count(result) == 1
}

test_allowed_cpu_model_in_an_environment_over_quota if {
	m := {"name": "churn-scorer", "serving": {"runtime": "custom"}}
	count(data.modelops.gpus.within_quota.deny) == 0 with input.kind as "Values"
		with input.environment as env(80)
		with input.model as m
}

test_denied_over_quota_on_the_inferenceservice if {
	m := model
	count(data.modelops.gpus.within_quota.deny) == 1 with input.kind as "InferenceService"
		with input.environment as env(80)
		with input.model as m
}
