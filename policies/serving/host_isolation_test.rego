package modelops.serving.host_isolation_test

import rego.v1

test_allowed_plain_pod if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {
		"containers": [{"name": "server", "image": "x", "securityContext": {"privileged": false}}],
		"volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}, {"name": "cache", "persistentVolumeClaim": {"claimName": "hf-cache"}}],
	}}}}
	count(data.modelops.serving.host_isolation.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_host_network_and_host_path if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {
		"hostNetwork": true,
		"containers": [{"name": "server", "image": "x"}],
		"volumes": [{"name": "models", "hostPath": {"path": "/mnt/models"}}],
	}}}}
	result := data.modelops.serving.host_isolation.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 2
	msgs := {r.msg | some r in result}
	msgs == {"pod sets hostNetwork: true", "pod mounts hostPath volume 'models' (/mnt/models)"}
}

test_denied_privileged_training_container if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "container": {"name": "main", "image": "x", "securityContext": {"privileged": true}}}]}}
	result := data.modelops.serving.host_isolation.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 1
	some r in result
	r.path == "spec.templates[0]"
	r.msg == "container 'main' is privileged"
}

test_denied_workflow_level_host_path if {
	wf := {"kind": "WorkflowTemplate", "spec": {
		"volumes": [{"name": "data", "hostPath": {"path": "/data"}}],
		"templates": [{"name": "train", "container": {"name": "main", "image": "x"}}],
	}}
	count(data.modelops.serving.host_isolation.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.document as wf
}
