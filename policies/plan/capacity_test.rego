package modelops.plan.capacity_test

import rego.v1

model := {"name": "llama-ft", "training": {"gpus": {"type": "nvidia-h100-80gb", "perNode": 8, "nodes": 1}, "strategy": "ddp"}}

test_allowed_plan_fits if {
	m := model
	count(data.modelops.plan.capacity.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.model as m
		with input.context as {"kinds": ["WorkflowTemplate"], "plan": {"fits": true, "reason": "", "perGpuMemoryGiB": 61.2}}
}

test_allowed_no_plan if {
	m := model
	count(data.modelops.plan.capacity.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.model as m
		with input.context as {"kinds": ["WorkflowTemplate"], "plan": null}
}

test_denied_plan_does_not_fit if {
	m := model
	result := data.modelops.plan.capacity.deny with input.kind as "WorkflowTemplate"
		with input.model as m
		with input.context as {"kinds": ["WorkflowTemplate"], "plan": {"fits": false, "reason": "needs 142 GiB per GPU with ddp; nvidia-h100-80gb has 80 GiB (use fsdp)"}}
	count(result) == 1
	some r in result
	r.msg == "capacity plan for model 'llama-ft' does not fit: needs 142 GiB per GPU with ddp; nvidia-h100-80gb has 80 GiB (use fsdp)"
}

test_denied_reported_once_per_model if {
	m := model
	ctx := {"kinds": ["WorkflowTemplate", "CronWorkflow"], "plan": {"fits": false}}
	count(data.modelops.plan.capacity.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.model as m
		with input.context as ctx
	count(data.modelops.plan.capacity.deny) == 0 with input.kind as "CronWorkflow"
		with input.model as m
		with input.context as ctx
	count(data.modelops.plan.capacity.deny) == 0 with input.kind as "Values"
		with input.model as m
		with input.context as ctx
}
