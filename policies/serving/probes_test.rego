package modelops.serving.probes_test

import rego.v1

probe(path) := {"httpGet": {"path": path, "port": 8000}, "periodSeconds": 10}

test_allowed_both_probes if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{
		"name": "server", "image": "x",
		"readinessProbe": probe("/v2/health/ready"), "livenessProbe": probe("/v2/health/live"),
		"startupProbe": probe("/v2/health/ready"),
	}]}}}}
	count(data.modelops.serving.probes.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_missing_liveness if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x", "readinessProbe": probe("/health")}]}}}}
	result := data.modelops.serving.probes.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.msg == "container 'server' has no livenessProbe"
	r.path == "spec.template.spec.containers[0]"
}

test_denied_no_probes if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x"}]}}}}
	count(data.modelops.serving.probes.deny) == 2 with input.kind as "Deployment"
		with input.document as d
}

isvc(model) := {"kind": "InferenceService", "metadata": {"name": "m"}, "spec": {"predictor": {"model": model}}}

test_denied_inferenceservice_model_without_probes if {
	result := data.modelops.serving.probes.deny with input.kind as "InferenceService"
		with input.document as isvc({"modelFormat": {"name": "triton"}, "readinessProbe": probe("/v2/health/ready")})
	count(result) == 1
	some r in result
	r.msg == "InferenceService container 'kserve-container' has no livenessProbe"
	r.path == "spec.predictor.model"
}

test_allowed_inferenceservice_with_probes if {
	m := {"modelFormat": {"name": "triton"}, "readinessProbe": probe("/v2/health/ready"), "livenessProbe": probe("/v2/health/live")}
	count(data.modelops.serving.probes.deny) == 0 with input.kind as "InferenceService"
		with input.document as isvc(m)
}
