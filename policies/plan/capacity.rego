# METADATA
# title: The capacity plan fits
# description: >-
#   When a capacity plan is available for the model (input.context.plan, from the
#   training planner: GPU memory per device for the model size, strategy and batch, nodes
#   and GPUs available), a plan that does not fit means the job will OOM on the first step
#   or never be admitted, after waiting for scarce GPUs. Reported once per model with the
#   planner's reason, on the training WorkflowTemplate (on the serving Values file for
#   models without training).
# scope: package
# custom:
#   id: MO-CAP-001
#   kinds: [Values, WorkflowTemplate]
#   severity: high
#   remediation: >-
#     Follow the planner's reason: use more or larger GPUs (training.gpus), a sharding
#     strategy (fsdp/deepspeed), a smaller micro-batch or activation checkpointing, or ask
#     for more quota.
package modelops.plan.capacity

import rego.v1

deny contains result if {
	reported_here
	plan := input.context.plan
	is_object(plan)
	plan.fits == false
	result := {"msg": concat("", [
		"capacity plan for model '", object.get(input, ["model", "name"], ""), "' does not fit: ",
		reason(plan),
	])}
}

reported_here if input.kind == "WorkflowTemplate"

reported_here if {
	input.kind == "Values"
	not is_object(object.get(input, ["model", "training"], null))
}

reason(plan) := plan.reason if {
	is_string(plan.reason)
	plan.reason != ""
}

reason(plan) := "no reason given" if not is_string(object.get(plan, "reason", null))

reason(plan) := "no reason given" if plan.reason == ""
