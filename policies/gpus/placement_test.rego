package modelops.gpus.placement_test

import rego.v1

gpu_container := {"name": "server", "image": "x", "resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}}

deployment(pod_extra) := {"kind": "Deployment", "spec": {"template": {"spec": object.union({"containers": [gpu_container]}, pod_extra)}}}

good_pod := {
	"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
	"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
}

test_allowed_selector_and_toleration if {
	d := deployment(good_pod)
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_allowed_cpu_pod_without_placement if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x", "resources": {"limits": {"cpu": "2"}}}]}}}}
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_allowed_workflow_level_defaults if {
	c := gpu_container
	wf := {"kind": "WorkflowTemplate", "spec": {
		"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}]}]}}},
		"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
		"templates": [{"name": "train", "container": c}],
	}}
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_denied_missing_both if {
	d := deployment({})
	result := data.modelops.gpus.placement.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 2
	every r in result {
		r.path == "spec.template.spec"
	}
}

test_denied_toleration_wrong_effect if {
	d := deployment({
		"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
		"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}],
	})
	result := data.modelops.gpus.placement.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	contains(r.msg, "does not tolerate")
}

placement_jobset(pod_extra) := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {"template": {"spec": object.union({"containers": [gpu_container]}, pod_extra)}}}}]}}

test_allowed_jobset_pod if {
	d := placement_jobset(good_pod)
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "JobSet"
		with input.document as d
}

test_denied_jobset_pod_without_toleration if {
	d := placement_jobset({"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}})
	result := data.modelops.gpus.placement.deny with input.kind as "JobSet"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec"
	r.msg == "GPU pod (JobSet replicatedJob 'workers') does not tolerate the nvidia.com/gpu:NoSchedule taint"
}

# The JobSet in a resource manifest is checked as its own document (input.kind JobSet),
# not by parsing the WorkflowTemplate's string.
test_allowed_workflow_template_manifest_not_parsed if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "resource": {"action": "create", "manifest": `apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
spec:
  replicatedJobs:
    - name: workers
      template:
        spec:
          template:
            spec:
              containers:
                - name: trainer
                  image: x
                  resources:
                    limits: {nvidia.com/gpu: 8}
                    requests: {nvidia.com/gpu: 8}
`}}]}}
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_denied_gpu_inferenceservice_without_placement if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"model": {"resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}}}}}
	result := data.modelops.gpus.placement.deny with input.kind as "InferenceService"
		with input.document as d
	count(result) == 2
	some r in result
	r.path == "spec.predictor"
}

test_allowed_gpu_inferenceservice_with_placement if {
	d := {"kind": "InferenceService", "spec": {"predictor": {
		"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
		"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
		"model": {"resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}},
	}}}
	count(data.modelops.gpus.placement.deny) == 0 with input.kind as "InferenceService"
		with input.document as d
}
