# METADATA
# title: Serving containers set CPU and memory requests and limits
# description: >-
#   Without requests the scheduler packs model servers onto nodes that cannot hold them
#   and the HPA has no baseline for CPU utilisation; without a memory limit one server
#   that leaks (KV cache, batching queue) can evict its neighbours. Every container and
#   init container of a serving Deployment must set cpu and memory in both
#   resources.requests and resources.limits.
# scope: package
# custom:
#   id: MO-SRV-001
#   kinds: [Deployment, InferenceService]
#   severity: medium
#   remediation: >-
#     Set serving resources (cpu, memory) in the model spec; the chart renders them as
#     requests equal to limits (Guaranteed QoS).
package modelops.serving.resources

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Deployment"
	some f in ["containers", "initContainers"]
	some i, c in reviewed.spec.template.spec[f]
	is_object(c)
	some section in ["requests", "limits"]
	some res in ["cpu", "memory"]
	not set(c, section, res)
	result := {
		"msg": concat("", ["container '", object.get(c, "name", ""), "' has no resources.", section, ".", res]),
		"path": concat("", ["spec.template.spec.", f, "[", format_int(i, 10), "].resources.", section]),
	}
}

set(c, section, res) if {
	v := c.resources[section][res]
	v != null
	v != ""
}

# ---- KServe InferenceService predictor: its containers and its `model` container -------

isvc_containers contains {"path": sprintf("spec.predictor.containers[%d]", [i]), "container": c} if {
	input.kind == "InferenceService"
	some i, c in reviewed.spec.predictor.containers
	is_object(c)
}

isvc_containers contains {"path": "spec.predictor.model", "container": object.union({"name": "kserve-container"}, m)} if {
	input.kind == "InferenceService"
	m := reviewed.spec.predictor.model
	is_object(m)
}

deny contains result if {
	some ref in isvc_containers
	some section in ["requests", "limits"]
	some res in ["cpu", "memory"]
	not set(ref.container, section, res)
	result := {
		"msg": concat("", ["InferenceService container '", object.get(ref.container, "name", ""), "' has no resources.", section, ".", res]),
		"path": concat("", [ref.path, ".resources.", section]),
	}
}
