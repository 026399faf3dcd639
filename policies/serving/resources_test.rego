package modelops.serving.resources_test

import rego.v1

deployment(resources) := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x", "resources": resources}]}}}}

test_allowed_requests_and_limits if {
	d := deployment({"requests": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": 1}, "limits": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": 1}})
	count(data.modelops.serving.resources.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_missing_limits if {
	d := deployment({"requests": {"cpu": "4", "memory": "32Gi"}})
	result := data.modelops.serving.resources.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 2
	msgs := {r.msg | some r in result}
	msgs == {"container 'server' has no resources.limits.cpu", "container 'server' has no resources.limits.memory"}
}

test_denied_no_resources_at_all if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x"}]}}}}
	count(data.modelops.serving.resources.deny) == 4 with input.kind as "Deployment"
		with input.document as d
}

test_denied_inferenceservice_model_without_limits if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"model": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}}}}
	result := data.modelops.serving.resources.deny with input.kind as "InferenceService"
		with input.document as d
	{r.path | some r in result} == {"spec.predictor.model.resources.limits"}
}
