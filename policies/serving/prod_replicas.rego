# METADATA
# title: Production serving runs at least two replicas
# description: >-
#   A single replica means every node drain, GPU failure, rollout or eviction is an
#   outage. In production (environment.name prod or production) the model's minimum
#   serving replica count (model.serving.replicas.min, falling back to the Values file's
#   replicas.min) must be at least 2. Reported once, on the serving Values file.
# scope: package
# custom:
#   id: MO-SRV-003
#   kinds: [Values, InferenceService]
#   severity: high
#   remediation: >-
#     Set serving.replicas.min to 2 or more for production (an environment override in the
#     model spec), and make sure the GPU quota allows it.
package modelops.serving.prod_replicas

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

minimum := 2

deny contains result if {
	input.kind == "Values"
	prod
	n := min_replicas
	is_number(n)
	n < minimum
	result := {
		"msg": concat("", [
			"production serving of model '", object.get(input, ["model", "name"], ""), "' has min replicas ",
			sprintf("%v", [n]), "; at least ", format_int(minimum, 10), " are required for availability",
		]),
		"path": "replicas.min",
	}
}

min_replicas := input.model.serving.replicas.min

min_replicas := reviewed.replicas.min if not input.model.serving.replicas.min

prod if {
	name := input.environment.name
	is_string(name)
	lower(name) in {"prod", "production"}
}

# KServe: the InferenceService's predictor.minReplicas when the spec gives none.
deny contains result if {
	input.kind == "InferenceService"
	prod
	n := object.get(input, ["model", "serving", "replicas", "min"], object.get(reviewed, ["spec", "predictor", "minReplicas"], 1))
	is_number(n)
	n < minimum
	result := {
		"msg": concat("", [
			"production serving of model '", object.get(input, ["model", "name"], ""), "' has min replicas ",
			sprintf("%v", [n]), "; at least ", format_int(minimum, 10), " are required for availability",
		]),
		"path": "spec.predictor.minReplicas",
	}
}
