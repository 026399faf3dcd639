package modelops.training.workflow_name_test

import rego.v1

named(name) := {"metadata": {"name": name}, "spec": {}}

# 43 characters: the longest model name whose `<model>-training` fits
fits := "support-chat-assistant-for-enterprise-ticke-training"

too_long := "support-chat-assistant-for-enterprise-tickets-training"

test_allowed_cron_workflow_at_the_limit if {
	count(fits) == 52
	count(data.modelops.training.workflow_name.deny) == 0 with input.kind as "CronWorkflow"
		with input.document as named(fits)
}

test_denied_cron_workflow_past_the_limit if {
	result := data.modelops.training.workflow_name.deny with input.kind as "CronWorkflow"
		with input.document as named(too_long)
	count(result) == 1
	some r in result
	r.path == "metadata.name"
	contains(r.msg, "has 54 characters; Argo Workflows refuses more than 52")
}

test_allowed_the_same_name_on_a_workflow_template if {
	# only Workflow and CronWorkflow names are limited by Argo's validation
	count(data.modelops.training.workflow_name.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as named(too_long)
}

test_denied_workflow_past_63 if {
	name := concat("", [too_long, "-0123456789"])
	result := data.modelops.training.workflow_name.deny with input.kind as "Workflow"
		with input.document as named(name)
	count(result) == 1
}

test_denied_a_plain_manifest_without_envelope if {
	count(data.modelops.training.workflow_name.deny) == 1 with input as {"kind": "CronWorkflow", "metadata": {"name": too_long}}
}

test_allowed_generate_name_only if {
	count(data.modelops.training.workflow_name.deny) == 0 with input.kind as "Workflow"
		with input.document as {"metadata": {"generateName": "x-"}}
}
