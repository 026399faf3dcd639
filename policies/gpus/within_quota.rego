# METADATA
# title: Environment GPU usage is within quota
# description: >-
#   The GPUs requested by all models in the environment (environment.gpuUsage.total,
#   training and serving together) must fit the environment's quota
#   (environment.gpus.quota). Over quota, jobs queue forever or preempt each other and
#   serving cannot scale out. Reported once per model, on the serving Values file (or on
#   the WorkflowTemplate for training-only models), to avoid duplicate findings.
# scope: package
# custom:
#   id: MO-GPU-002
#   kinds: [Values, WorkflowTemplate, InferenceService]
#   severity: high
#   remediation: >-
#     Reduce GPU requests (fewer nodes or GPUs per node, smaller serving replica ranges),
#     move a model to another environment, or raise environment.gpus.quota with the
#     platform team.
package modelops.gpus.within_quota

import rego.v1

deny contains result if {
	reported_here
	uses_gpus
	total := input.environment.gpuUsage.total
	quota := input.environment.gpus.quota
	is_number(total)
	is_number(quota)
	total > quota
	result := {"msg": concat("", [
		"environment '", object.get(input, ["environment", "name"], ""), "' would use ",
		sprintf("%v", [total]), " GPUs, over its quota of ", sprintf("%v", [quota]),
		" (this model: ", sprintf("%v", [object.get(input, ["environment", "gpuUsage", "byModel", object.get(input, ["model", "name"], "")], 0)]), ")",
	])}
}

# Only models that hold GPUs are part of the overrun: a CPU model gets no finding.
uses_gpus if object.get(input, ["environment", "gpuUsage", "byModel", object.get(input, ["model", "name"], "")], 0) > 0

reported_here if input.kind == "Values"

reported_here if {
	input.kind == "WorkflowTemplate"
	not has_serving
}

has_serving if is_object(input.model.serving)

# A model served by KServe has no Values file: its InferenceService carries the finding.
reported_here if input.kind == "InferenceService"
