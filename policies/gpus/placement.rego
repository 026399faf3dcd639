# METADATA
# title: GPU pods select GPU nodes and tolerate the GPU taint
# description: >-
#   GPU node pools are normally tainted nvidia.com/gpu:NoSchedule so that CPU work does
#   not squat on them; a GPU pod without the toleration stays Pending. Without a
#   nodeSelector (e.g. nvidia.com/gpu.product) or node affinity, a pod may land on the
#   wrong GPU generation, or on a shared/MIG pool it was not sized for. Applies to every
#   pod of a Deployment, WorkflowTemplate/CronWorkflow template (template fields merged
#   over workflow-level defaults) or JobSet replicated job (the JobSet embedded in a
#   multi-node WorkflowTemplate is checked as a document of its own) that requests a
#   nvidia.com/ resource.
# scope: package
# custom:
#   id: MO-GPU-004
#   kinds: [Deployment, WorkflowTemplate, CronWorkflow, JobSet, InferenceService]
#   severity: medium
#   remediation: >-
#     Add a nodeSelector (e.g. nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3) or a
#     nodeAffinity for the GPU type, and a toleration {key: nvidia.com/gpu, operator:
#     Exists, effect: NoSchedule}; the environment file maps GPU types to node selection.
package modelops.gpus.placement

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some pod in pods
	gpu_pod(pod)
	not selects_nodes(pod.spec)
	result := {
		"msg": concat("", ["GPU pod", pod.where, " has neither a nodeSelector nor a node affinity; pin it to the intended GPU nodes"]),
		"path": pod.path,
	}
}

deny contains result if {
	some pod in pods
	gpu_pod(pod)
	not tolerates_gpu_taint(pod.spec)
	result := {
		"msg": concat("", ["GPU pod", pod.where, " does not tolerate the nvidia.com/gpu:NoSchedule taint"]),
		"path": pod.path,
	}
}

selects_nodes(spec) if count(object.get(spec, "nodeSelector", {})) > 0

selects_nodes(spec) if count(object.get(spec, ["affinity", "nodeAffinity"], {})) > 0

tolerates_gpu_taint(spec) if {
	some t in object.get(spec, "tolerations", [])
	object.get(t, "key", "") == "nvidia.com/gpu"
	object.get(t, "effect", "") in {"", "NoSchedule"}
}

# An empty key with operator Exists tolerates every taint.
tolerates_gpu_taint(spec) if {
	some t in object.get(spec, "tolerations", [])
	object.get(t, "key", "") == ""
	object.get(t, "operator", "") == "Exists"
	object.get(t, "effect", "") in {"", "NoSchedule"}
}

# ---- pods in the document -----------------------------------------------------------
# Each entry: path (where the pod spec lives), where (extra location text), spec (a pod
# spec; for Argo container/script templates, the template's fields merged over the
# workflow-level defaults).

pods contains {"path": "spec.template.spec", "where": "", "spec": reviewed.spec.template.spec} if {
	input.kind == "Deployment"
	is_object(reviewed.spec.template.spec)
}

wf_spec := reviewed.spec if input.kind == "WorkflowTemplate"

wf_spec := reviewed.spec.workflowSpec if input.kind == "CronWorkflow"

wf_prefix := "spec" if input.kind == "WorkflowTemplate"

wf_prefix := "spec.workflowSpec" if input.kind == "CronWorkflow"

pods contains {"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "]"]), "where": "", "spec": merged} if {
	some i, t in wf_spec.templates
	main := template_main(t)
	merged := {
		"containers": array.concat([main], object.get(t, "sidecars", [])),
		"initContainers": object.get(t, "initContainers", []),
		"nodeSelector": object.get(t, "nodeSelector", object.get(wf_spec, "nodeSelector", {})),
		"affinity": object.get(t, "affinity", object.get(wf_spec, "affinity", {})),
		"tolerations": array.concat(object.get(t, "tolerations", []), object.get(wf_spec, "tolerations", [])),
		"volumes": array.concat(object.get(t, "volumes", []), object.get(wf_spec, "volumes", [])),
		"securityContext": object.get(t, "securityContext", object.get(wf_spec, "securityContext", {})),
		"hostNetwork": object.get(wf_spec, "hostNetwork", false),
	}
}

template_main(t) := object.union({"name": "main"}, t.container) if is_object(t.container)

template_main(t) := object.union({"name": "main"}, t.script) if {
	not is_object(object.get(t, "container", null))
	is_object(t.script)
}

# The embedded JobSet of a multi-node WorkflowTemplate is its own document (kind JobSet,
# source embedded): one pod per replicated job.
pods contains {"path": concat("", ["spec.replicatedJobs[", format_int(j, 10), "].template.spec.template.spec"]), "where": concat("", [" (JobSet replicatedJob '", object.get(rj, "name", ""), "')"]), "spec": rj.template.spec.template.spec} if {
	input.kind == "JobSet"
	some j, rj in reviewed.spec.replicatedJobs
	is_object(rj.template.spec.template.spec)
}

gpu_count(pod) := sum([to_number(v) |
	some c in pod.spec.containers
	is_object(c)
	lim := object.get(c, ["resources", "limits"], {})
	some k
	v := lim[k]
	contains(k, "nvidia.com/")
	is_numeric(v)
])

gpu_pod(pod) if {
	some f in ["containers", "initContainers"]
	some c in object.get(pod.spec, f, [])
	is_object(c)
	some section in ["limits", "requests"]
	some k, _ in object.get(c, ["resources", section], {})
	contains(k, "nvidia.com/")
}

is_numeric(v) if is_number(v)

is_numeric(v) if {
	is_string(v)
	regex.match(`^[0-9]+$`, v)
}

# A KServe predictor is a pod spec of its own: its containers plus the `model` container.
pods contains {"path": "spec.predictor", "where": " (InferenceService predictor)", "spec": merged} if {
	input.kind == "InferenceService"
	predictor := reviewed.spec.predictor
	is_object(predictor)
	model := [m | m := predictor.model; is_object(m)]
	merged := object.union(predictor, {"containers": array.concat(object.get(predictor, "containers", []), model)})
}
