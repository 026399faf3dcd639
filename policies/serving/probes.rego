# METADATA
# title: Serving containers have readiness and liveness probes
# description: >-
#   Without a readiness probe a model server receives traffic while it is still loading
#   weights (minutes for large LLMs), failing requests on every rollout and scale-up;
#   without a liveness probe a wedged server (CUDA error, deadlocked scheduler) keeps its
#   GPU and never restarts. Every container of a serving Deployment must define
#   readinessProbe and livenessProbe (vLLM: /health; Triton: /v2/health/ready and
#   /v2/health/live). Slow starts belong in a startupProbe, not in a missing probe.
# scope: package
# custom:
#   id: MO-SRV-002
#   kinds: [Deployment, InferenceService]
#   severity: medium
#   remediation: >-
#     Add readinessProbe and livenessProbe on the serving port (the chart does this per
#     runtime; custom runtimes must declare a health path) and a startupProbe with a long
#     failureThreshold for model loading.
package modelops.serving.probes

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Deployment"
	some i, c in reviewed.spec.template.spec.containers
	is_object(c)
	some probe in ["readinessProbe", "livenessProbe"]
	not is_object(object.get(c, probe, null))
	result := {
		"msg": concat("", ["container '", object.get(c, "name", ""), "' has no ", probe]),
		"path": concat("", ["spec.template.spec.containers[", format_int(i, 10), "]"]),
	}
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
	some probe in ["readinessProbe", "livenessProbe"]
	not is_object(object.get(ref.container, probe, null))
	result := {
		"msg": concat("", ["InferenceService container '", object.get(ref.container, "name", ""), "' has no ", probe]),
		"path": ref.path,
	}
}
