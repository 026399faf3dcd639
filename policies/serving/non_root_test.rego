package modelops.serving.non_root_test

import rego.v1

deployment(pod_sc, container_sc) := {"kind": "Deployment", "spec": {"template": {"spec": {
	"securityContext": pod_sc,
	"containers": [{"name": "server", "image": "x", "securityContext": container_sc}],
}}}}

test_allowed_pod_level_non_root if {
	d := deployment({"runAsNonRoot": true, "runAsUser": 1000}, {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
	count(data.modelops.serving.non_root.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_allowed_container_level_non_root if {
	d := deployment({}, {"runAsNonRoot": true, "allowPrivilegeEscalation": false})
	count(data.modelops.serving.non_root.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_container_overrides_pod if {
	d := deployment({"runAsNonRoot": true}, {"runAsNonRoot": false, "allowPrivilegeEscalation": false})
	result := data.modelops.serving.non_root.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].securityContext.runAsNonRoot"
}

test_denied_no_security_context if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x"}]}}}}
	result := data.modelops.serving.non_root.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 2
	paths := {r.path | some r in result}
	paths == {"spec.template.spec.containers[0].securityContext.runAsNonRoot", "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"}
}

test_allowed_inferenceservice_non_root_by_predictor if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"securityContext": {"runAsNonRoot": true},
		"model": {"securityContext": {"allowPrivilegeEscalation": false}}}}}
	count(data.modelops.serving.non_root.deny) == 0 with input.kind as "InferenceService"
		with input.document as d
}

test_denied_inferenceservice_container_as_root if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "x"}]}}}
	result := data.modelops.serving.non_root.deny with input.kind as "InferenceService"
		with input.document as d
	{r.path | some r in result} == {"spec.predictor.containers[0].securityContext.runAsNonRoot", "spec.predictor.containers[0].securityContext.allowPrivilegeEscalation"}
}
