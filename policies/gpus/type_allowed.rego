# METADATA
# title: GPU types are allowed in the environment
# description: >-
#   Each environment lists the GPU types its clusters actually have and that the team
#   may use (environment.gpus.allowed). A model asking for another type either never
#   schedules (pods stay Pending, burning the training deadline) or lands on expensive
#   hardware that was never budgeted. Checks the training GPU type (reported on the
#   WorkflowTemplate) and the serving GPU type (reported on the serving Values file;
#   CPU-only serving with gpus.count 0 is skipped).
# scope: package
# custom:
#   id: MO-GPU-001
#   kinds: [Values, WorkflowTemplate, InferenceService]
#   severity: high
#   remediation: >-
#     Use one of the environment's allowed GPU types in the model spec (training.gpus.type /
#     serving.gpus.type, or an environment override), or have the platform team add the
#     type to environment.gpus.allowed.
package modelops.gpus.type_allowed

import rego.v1

deny contains result if {
	input.kind == "WorkflowTemplate"
	gpu_type := input.model.training.gpus.type
	not allowed(gpu_type)
	result := {"msg": concat("", [
		"training GPU type '", gpu_type, "' is not allowed in environment '",
		object.get(input, ["environment", "name"], ""), "' (allowed: ", concat(", ", allowed_types), ")",
	])}
}

deny contains result if {
	input.kind == "Values"
	gpu_type := input.model.serving.gpus.type
	object.get(input.model.serving.gpus, "count", 1) != 0
	not allowed(gpu_type)
	result := {"msg": concat("", [
		"serving GPU type '", gpu_type, "' is not allowed in environment '",
		object.get(input, ["environment", "name"], ""), "' (allowed: ", concat(", ", allowed_types), ")",
	])}
}

allowed_types := input.environment.gpus.allowed

allowed(gpu_type) if {
	not is_string(gpu_type)
}

allowed(gpu_type) if {
	gpu_type == ""
}

# No allowlist configured: nothing to check against.
allowed(_) if {
	not is_array(object.get(input, ["environment", "gpus", "allowed"], null))
}

allowed(gpu_type) if {
	gpu_type in input.environment.gpus.allowed
}

# KServe-served models have no Values file: the InferenceService carries the serving check.
deny contains result if {
	input.kind == "InferenceService"
	gpu_type := input.model.serving.gpus.type
	object.get(input.model.serving.gpus, "count", 1) != 0
	not allowed(gpu_type)
	result := {"msg": concat("", [
		"serving GPU type '", gpu_type, "' is not allowed in environment '",
		object.get(input, ["environment", "name"], ""), "' (allowed: ", concat(", ", allowed_types), ")",
	])}
}
