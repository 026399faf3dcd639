package modelops.training.active_deadline_test

import rego.v1

templates := [
	{"name": "main", "steps": [[{"name": "train", "template": "train"}]]},
	{"name": "train", "container": {"name": "main", "image": "x"}},
]

test_allowed_workflow_level_deadline if {
	wf := {"kind": "WorkflowTemplate", "spec": {"activeDeadlineSeconds": 43200, "templates": templates}}
	count(data.modelops.training.active_deadline.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_allowed_template_level_deadline if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [
		{"name": "main", "steps": [[{"name": "train", "template": "train"}]]},
		{"name": "train", "activeDeadlineSeconds": "3600", "container": {"name": "main", "image": "x"}},
	]}}
	count(data.modelops.training.active_deadline.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_allowed_cron_workflow_referencing_template if {
	cw := {"kind": "CronWorkflow", "spec": {"schedules": ["0 2 * * *"], "workflowSpec": {"workflowTemplateRef": {"name": "train"}}}}
	count(data.modelops.training.active_deadline.deny) == 0 with input.kind as "CronWorkflow"
		with input.document as cw
}

test_denied_no_deadline if {
	ts := templates
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": ts}}
	result := data.modelops.training.active_deadline.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 1
	some r in result
	r.path == "spec.templates[1].activeDeadlineSeconds"
	contains(r.msg, "template 'train' runs without a deadline")
}

test_denied_zero_deadline if {
	ts := templates
	wf := {"kind": "WorkflowTemplate", "spec": {"activeDeadlineSeconds": 0, "templates": ts}}
	count(data.modelops.training.active_deadline.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.document as wf
}
