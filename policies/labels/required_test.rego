package modelops.labels.required_test

import rego.v1

labels := {
	"app.kubernetes.io/name": "support-chat",
	"modelops.dev/team": "assistants",
	"modelops.dev/cost-center": "cc-4410",
	"modelops.dev/model": "support-chat",
	"modelops.dev/environment": "prod",
}

test_allowed_deployment_labels if {
	ls := labels
	d := {"kind": "Deployment", "metadata": {"name": "support-chat", "labels": ls}, "spec": {"template": {"metadata": {"labels": ls}, "spec": {}}}}
	count(data.modelops.labels.required.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_allowed_service_not_checked if {
	count(data.modelops.labels.required.deny) == 0 with input.kind as "Service"
		with input.document as {"kind": "Service", "metadata": {"name": "support-chat"}}
}

test_denied_pod_template_labels_missing if {
	ls := labels
	d := {"kind": "Deployment", "metadata": {"name": "support-chat", "labels": ls}, "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "support-chat"}}, "spec": {}}}}
	result := data.modelops.labels.required.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.metadata.labels"
	contains(r.msg, "modelops.dev/team, modelops.dev/cost-center, modelops.dev/model, modelops.dev/environment")
}

test_denied_workflow_template_empty_cost_center if {
	ls := object.union(labels, {"modelops.dev/cost-center": ""})
	d := {"kind": "WorkflowTemplate", "metadata": {"name": "support-chat-train", "labels": ls}, "spec": {"templates": []}}
	result := data.modelops.labels.required.deny with input.kind as "WorkflowTemplate"
		with input.document as d
	count(result) == 1
	some r in result
	r.msg == "WorkflowTemplate 'support-chat-train' is missing required labels at metadata.labels: modelops.dev/cost-center"
}

test_denied_inferenceservice_predictor_without_labels if {
	l := {"modelops.dev/team": "t", "modelops.dev/cost-center": "c", "modelops.dev/model": "m", "modelops.dev/environment": "e"}
	result := data.modelops.labels.required.deny with input.kind as "InferenceService"
		with input.document as {"metadata": {"name": "m", "labels": l}, "spec": {"predictor": {}}}
	{r.path | some r in result} == {"spec.predictor.labels"}
}
