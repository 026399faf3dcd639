package modelops.gpus.type_allowed_test

import rego.v1

env := {"name": "prod", "gpus": {"allowed": ["nvidia-h100-80gb", "nvidia-l4"], "quota": 64}}

test_allowed_training_and_serving_types if {
	e := env
	m := {"training": {"gpus": {"type": "nvidia-h100-80gb", "perNode": 8, "nodes": 2}}, "serving": {"gpus": {"type": "nvidia-l4", "count": 1}}}
	count(data.modelops.gpus.type_allowed.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.environment as e
		with input.model as m
	count(data.modelops.gpus.type_allowed.deny) == 0 with input.kind as "Values"
		with input.environment as e
		with input.model as m
}

test_allowed_cpu_serving if {
	e := env
	count(data.modelops.gpus.type_allowed.deny) == 0 with input.kind as "Values"
		with input.environment as e
		with input.model as {"serving": {"gpus": {"type": "nvidia-a100-80gb", "count": 0}}}
}

test_denied_training_type if {
	e := env
	result := data.modelops.gpus.type_allowed.deny with input.kind as "WorkflowTemplate"
		with input.environment as e
		with input.model as {"training": {"gpus": {"type": "nvidia-a100-80gb", "perNode": 8, "nodes": 1}}}
	count(result) == 1
	some r in result
	contains(r.msg, "training GPU type 'nvidia-a100-80gb' is not allowed")
}

test_denied_serving_type_reported_on_values_only if {
	e := env
	m := {"serving": {"gpus": {"type": "nvidia-a100-80gb", "count": 2}}}
	result := data.modelops.gpus.type_allowed.deny with input.kind as "Values"
		with input.environment as e
		with input.model as m
	count(result) == 1
	count(data.modelops.gpus.type_allowed.deny) == 0 with input.kind as "Deployment"
		with input.environment as e
		with input.model as m
}

test_denied_inferenceservice_gpu_type_not_allowed if {
	result := data.modelops.gpus.type_allowed.deny with input.kind as "InferenceService"
		with input.environment as {"name": "prod", "gpus": {"allowed": ["nvidia-l4"]}}
		with input.model as {"name": "m", "serving": {"gpus": {"type": "nvidia-h100-80gb", "count": 1}}}
	count(result) == 1
}
