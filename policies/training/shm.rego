# METADATA
# title: Multi-GPU pods mount a memory-backed /dev/shm
# description: >-
#   The container runtime gives pods a 64 MiB /dev/shm. PyTorch DataLoader workers, NCCL
#   (intra-node transport) and vLLM/Triton tensor parallelism need far more and fail with
#   bus errors or hangs. Every pod that uses more than one GPU (its nvidia.com/ limits,
#   or training.gpus.perNode for training pods whose counts are parameterised) must have
#   an emptyDir volume with medium Memory mounted at /dev/shm in its GPU containers.
#   Applies to WorkflowTemplate/CronWorkflow templates, JobSets (the one embedded in a
#   multi-node WorkflowTemplate is checked as a document of its own) and Deployments.
# scope: package
# custom:
#   id: MO-TRN-006
#   kinds: [Deployment, WorkflowTemplate, CronWorkflow, JobSet]
#   severity: medium
#   remediation: >-
#     Add a volume {name: dshm, emptyDir: {medium: Memory, sizeLimit: 16Gi}} and a
#     volumeMount {name: dshm, mountPath: /dev/shm} on the GPU containers; the sizeLimit
#     counts against the pod's memory limit.
package modelops.training.shm

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some pod in pods
	gpu_pod(pod)
	n := gpus_per_pod(pod)
	n > 1
	some c in pod.spec.containers
	is_object(c)
	gpu_container(c)
	not shm_mounted(pod.spec, c)
	result := {
		"msg": concat("", [
			"container '", object.get(c, "name", ""), "'", pod.where, " uses ", sprintf("%v", [n]),
			" GPUs but has no emptyDir (medium: Memory) volume mounted at /dev/shm",
		]),
		"path": pod.path,
	}
}

gpus_per_pod(pod) := max({gpu_count(pod), training_per_node})

training_per_node := n if {
	input.kind in {"WorkflowTemplate", "CronWorkflow", "JobSet"}
	n := input.model.training.gpus.perNode
	is_number(n)
} else := 0

gpu_container(c) if {
	some section in ["limits", "requests"]
	some k, _ in object.get(c, ["resources", section], {})
	contains(k, "nvidia.com/")
}

shm_mounted(spec, c) if {
	some m in object.get(c, "volumeMounts", [])
	trim_suffix(m.mountPath, "/") == "/dev/shm"
	some v in object.get(spec, "volumes", [])
	v.name == m.name
	v.emptyDir.medium == "Memory"
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
