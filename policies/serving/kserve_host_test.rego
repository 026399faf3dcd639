package modelops.serving.kserve_host_test

import rego.v1

isvc(name, namespace, mode) := {
	"metadata": {"name": name, "namespace": namespace, "annotations": {"serving.kserve.io/deploymentMode": mode}},
	"spec": {"predictor": {}},
}

# `<name>-predictor-ml-staging`: 63 characters for a 42-character name
fits := "shelf-vision-for-every-store-in-the-region"

too_long := "shelf-vision-for-every-store-in-the-regions"

test_allowed_at_the_limit if {
	count(fits) == 42
	count(data.modelops.serving.kserve_host.deny) == 0 with input.kind as "InferenceService"
		with input.document as isvc(fits, "ml-staging", "RawDeployment")
}

test_denied_past_the_limit if {
	result := data.modelops.serving.kserve_host.deny with input.kind as "InferenceService"
		with input.document as isvc(too_long, "ml-staging", "RawDeployment")
	count(result) == 1
	some r in result
	r.path == "metadata.name"
	contains(r.msg, "'shelf-vision-for-every-store-in-the-regions-predictor-ml-staging' (KServe's default domainTemplate), 64 characters")
}

test_denied_in_standard_mode if {
	count(data.modelops.serving.kserve_host.deny) == 1 with input.kind as "InferenceService"
		with input.document as isvc(too_long, "ml-staging", "Standard")
}

test_allowed_serverless if {
	count(data.modelops.serving.kserve_host.deny) == 0 with input.kind as "InferenceService"
		with input.document as isvc(too_long, "ml-staging", "Serverless")
}

test_allowed_without_a_mode if {
	# the cluster's default mode is not known here
	d := {"metadata": {"name": too_long, "namespace": "ml-staging"}}
	count(data.modelops.serving.kserve_host.deny) == 0 with input.kind as "InferenceService"
		with input.document as d
}

test_denied_a_named_predictor if {
	d := object.union(isvc(fits, "ml-staging", "RawDeployment"), {"spec": {"predictor": {"name": "a"}}})
	result := data.modelops.serving.kserve_host.deny with input.kind as "InferenceService" with input.document as d
	count(result) == 1
	some r in result
	contains(r.msg, "-a-predictor-ml-staging'")
}

test_denied_a_plain_manifest_without_envelope if {
	d := object.union(isvc(too_long, "ml-staging", "RawDeployment"), {"kind": "InferenceService"})
	count(data.modelops.serving.kserve_host.deny) == 1 with input as d
}
