# METADATA
# title: Serving containers run as non-root without privilege escalation
# description: >-
#   Model servers parse untrusted input (prompts, tensors, uploaded files) and often load
#   third-party code (custom models, tokenizers with trust_remote_code); running them as
#   root, or letting them gain privileges through setuid binaries, turns any exploit into
#   node compromise. Every container and init container of a serving Deployment must run
#   with runAsNonRoot true (set on the pod or the container securityContext) and
#   allowPrivilegeEscalation false.
# scope: package
# custom:
#   id: MO-SRV-005
#   kinds: [Deployment, InferenceService]
#   severity: high
#   remediation: >-
#     Set securityContext.runAsNonRoot: true (pod level) and
#     securityContext.allowPrivilegeEscalation: false on each container; use an image with
#     a non-root USER (vLLM/Triton images run fine with runAsUser 1000).
package modelops.serving.non_root

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Deployment"
	pod := reviewed.spec.template.spec
	some f in ["containers", "initContainers"]
	some i, c in pod[f]
	is_object(c)
	not non_root(pod, c)
	result := {
		"msg": concat("", ["container '", object.get(c, "name", ""), "' may run as root: set securityContext.runAsNonRoot: true"]),
		"path": concat("", ["spec.template.spec.", f, "[", format_int(i, 10), "].securityContext.runAsNonRoot"]),
	}
}

deny contains result if {
	input.kind == "Deployment"
	some f in ["containers", "initContainers"]
	some i, c in reviewed.spec.template.spec[f]
	is_object(c)
	object.get(c, ["securityContext", "allowPrivilegeEscalation"], true) != false
	result := {
		"msg": concat("", ["container '", object.get(c, "name", ""), "' allows privilege escalation: set securityContext.allowPrivilegeEscalation: false"]),
		"path": concat("", ["spec.template.spec.", f, "[", format_int(i, 10), "].securityContext.allowPrivilegeEscalation"]),
	}
}

# The container setting wins over the pod setting.
non_root(_, c) if c.securityContext.runAsNonRoot == true

non_root(pod, c) if {
	object.get(c, ["securityContext", "runAsNonRoot"], null) == null
	pod.securityContext.runAsNonRoot == true
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
	not non_root(reviewed.spec.predictor, ref.container)
	result := {
		"msg": concat("", ["InferenceService container '", object.get(ref.container, "name", ""), "' may run as root: set securityContext.runAsNonRoot: true"]),
		"path": concat("", [ref.path, ".securityContext.runAsNonRoot"]),
	}
}

deny contains result if {
	some ref in isvc_containers
	object.get(ref.container, ["securityContext", "allowPrivilegeEscalation"], true) != false
	result := {
		"msg": concat("", ["InferenceService container '", object.get(ref.container, "name", ""), "' allows privilege escalation: set securityContext.allowPrivilegeEscalation: false"]),
		"path": concat("", [ref.path, ".securityContext.allowPrivilegeEscalation"]),
	}
}
