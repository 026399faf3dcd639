# METADATA
# title: Production serving has a PodDisruptionBudget
# description: >-
#   Without a PodDisruptionBudget a node-pool upgrade or cluster-autoscaler scale-down can
#   evict every replica of a model at once; GPU pods then take minutes to reschedule and
#   load weights. In production (environment.name prod or production) the serving release
#   must render a PodDisruptionBudget (checked through input.context.kinds) and the
#   finding is reported on the Deployment.
# scope: package
# custom:
#   id: MO-SRV-004
#   kinds: [Deployment]
#   severity: medium
#   remediation: >-
#     Enable the chart's PodDisruptionBudget (pdb.enabled with minAvailable or
#     maxUnavailable) for production; it is only useful with at least 2 replicas.
package modelops.serving.pdb

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Deployment"
	prod
	not "PodDisruptionBudget" in object.get(input, ["context", "kinds"], [])
	result := {
		"msg": concat("", [
			"production Deployment '", object.get(reviewed, ["metadata", "name"], ""),
			"' has no PodDisruptionBudget; voluntary disruptions can take all replicas down at once",
		]),
		"path": "metadata.name",
	}
}

prod if {
	name := input.environment.name
	is_string(name)
	lower(name) in {"prod", "production"}
}
