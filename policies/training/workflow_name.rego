# METADATA
# title: Argo Workflows accepts the workflow's name
# description: >-
#   Argo's controller validates names the CRD schema does not limit: a CronWorkflow name
#   of more than 52 characters (each Workflow it starts is named after it plus
#   `-<unix time>`, and must fit 63) and a Workflow name of more than 63 are refused, so
#   a scheduled training never runs although the object applies cleanly. modelops names
#   a model's CronWorkflow `<model>-training`.
# scope: package
# custom:
#   id: MO-TRN-007
#   kinds: [CronWorkflow, Workflow]
#   severity: high
#   remediation: >-
#     Shorten the model's name (a scheduled model: 43 characters at most, so that
#     `<model>-training` fits 52) or name the CronWorkflow in your blueprint within the limit.
package modelops.training.workflow_name

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

# Argo Workflows' workflow/validate: maxCharsInCronWorkflowName, maxCharsInObjectName
limits := {"CronWorkflow": 52, "Workflow": 63}

deny contains result if {
	limit := limits[input.kind]
	name := object.get(reviewed, ["metadata", "name"], null)
	is_string(name)
	count(name) > limit
	result := {
		"msg": sprintf("%s name '%s' has %d characters; Argo Workflows refuses more than %d", [
			input.kind, name, count(name), limit,
		]),
		"path": "metadata.name",
	}
}
