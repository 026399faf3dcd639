# METADATA
# title: Pods do not share the host (no hostPath, hostNetwork, hostPID, privileged)
# description: >-
#   hostPath volumes, host networking/PID/IPC namespaces and privileged containers give a
#   pod the node: they bypass the GPU device plugin's isolation, expose other tenants'
#   data and credentials on shared GPU nodes, and pin workloads to specific nodes. Model
#   caches belong on PVCs or emptyDir, NCCL works over the pod network. Applies to pods
#   of Deployments, WorkflowTemplate/CronWorkflow templates and JobSets (the one embedded
#   in a multi-node WorkflowTemplate is checked as a document of its own).
# scope: package
# custom:
#   id: MO-SRV-006
#   kinds: [Deployment, WorkflowTemplate, CronWorkflow, JobSet]
#   severity: critical
#   remediation: >-
#     Remove hostPath volumes (use a PVC, an emptyDir or an ephemeral volume), hostNetwork,
#     hostPID, hostIPC and privileged: true; for RDMA/InfiniBand use the network operator's
#     device plugin resources instead of privileged pods.
package modelops.serving.host_isolation

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some pod in pods
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	object.get(pod.spec, field, false) == true
	result := {
		"msg": concat("", ["pod", pod.where, " sets ", field, ": true"]),
		"path": pod.path,
	}
}

deny contains result if {
	some pod in pods
	some v in object.get(pod.spec, "volumes", [])
	is_object(v.hostPath)
	result := {
		"msg": concat("", ["pod", pod.where, " mounts hostPath volume '", object.get(v, "name", ""), "' (", object.get(v.hostPath, "path", ""), ")"]),
		"path": pod.path,
	}
}

deny contains result if {
	some pod in pods
	some f in ["containers", "initContainers"]
	some c in object.get(pod.spec, f, [])
	is_object(c)
	c.securityContext.privileged == true
	result := {
		"msg": concat("", ["container '", object.get(c, "name", ""), "'", pod.where, " is privileged"]),
		"path": pod.path,
	}
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
