# METADATA
# title: Retried training writes checkpoints
# description: >-
#   A retry only helps if the trainer resumes where it stopped: without a checkpoint
#   location every retry restarts from step 0, multiplying the GPU bill and possibly never
#   finishing within the deadline. When the model asks for retries
#   (training.retries > 0) or the workflow has a retryStrategy with a non-zero limit, the
#   model must name a checkpoint location (training.checkpoints). Reported on the
#   training WorkflowTemplate.
# scope: package
# custom:
#   id: MO-TRN-003
#   kinds: [WorkflowTemplate]
#   severity: medium
#   remediation: >-
#     Set training.checkpoints in the model spec to a durable location (e.g.
#     s3://ml-checkpoints/<model>/) and make the trainer resume from the latest checkpoint.
package modelops.training.checkpoints

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "WorkflowTemplate"
	retries_enabled
	not has_checkpoints
	result := {"msg": concat("", [
		"training of model '", object.get(input, ["model", "name"], ""),
		"' retries failed runs but has no checkpoint location (training.checkpoints); every retry restarts from scratch",
	])}
}

retries_enabled if {
	r := input.model.training.retries
	is_number(r)
	r > 0
}

retries_enabled if {
	rs := reviewed.spec.retryStrategy
	nonzero(object.get(rs, "limit", 1))
}

retries_enabled if {
	some t in reviewed.spec.templates
	rs := t.retryStrategy
	nonzero(object.get(rs, "limit", 1))
}

nonzero(v) if {
	is_number(v)
	v > 0
}

nonzero(v) if {
	is_string(v)
	v != "0"
}

has_checkpoints if {
	c := input.model.training.checkpoints
	is_string(c)
	trim_space(c) != ""
}
