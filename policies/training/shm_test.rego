package modelops.training.shm_test

import rego.v1

trainer(n, mounts) := {"name": "trainer", "image": "x", "resources": {"requests": {"nvidia.com/gpu": n}, "limits": {"nvidia.com/gpu": n}}, "volumeMounts": mounts}

dshm := {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}

dshm_mount := [{"name": "dshm", "mountPath": "/dev/shm"}]

wf(container, volumes) := {"kind": "WorkflowTemplate", "spec": {"volumes": volumes, "templates": [
	{"name": "main", "steps": [[{"name": "train", "template": "train"}]]},
	{"name": "train", "container": container},
]}}

test_allowed_multi_gpu_with_shm if {
	d := wf(trainer(8, dshm_mount), [dshm])
	count(data.modelops.training.shm.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 8, "nodes": 1}}}
}

test_allowed_single_gpu_without_shm if {
	d := wf(trainer(1, []), [])
	count(data.modelops.training.shm.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 1, "nodes": 1}}}
}

test_denied_multi_gpu_without_shm if {
	d := wf(trainer(8, []), [])
	result := data.modelops.training.shm.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 8, "nodes": 1}}}
	count(result) == 1
	some r in result
	r.path == "spec.templates[1]"
	contains(r.msg, "uses 8 GPUs")
}

test_denied_disk_backed_shm_parameterised_count if {
	d := wf(trainer("{{inputs.parameters.gpus}}", dshm_mount), [{"name": "dshm", "emptyDir": {}}])
	result := data.modelops.training.shm.deny with input.kind as "WorkflowTemplate"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 4, "nodes": 1}}}
	count(result) == 1
}

test_denied_tensor_parallel_deployment if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [trainer(2, [])]}}}}
	result := data.modelops.training.shm.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.spec"
}

shm_jobset(container, volumes) := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {"parallelism": 2, "template": {"spec": {"containers": [container], "volumes": volumes}}}}}]}}

test_allowed_jobset_with_shm if {
	d := shm_jobset(trainer("8", dshm_mount), [dshm])
	count(data.modelops.training.shm.deny) == 0 with input.kind as "JobSet"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 8, "nodes": 2}}}
}

test_denied_jobset_without_shm if {
	d := shm_jobset(trainer("8", []), [])
	result := data.modelops.training.shm.deny with input.kind as "JobSet"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 8, "nodes": 2}}}
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec"
	r.msg == "container 'trainer' (JobSet replicatedJob 'workers') uses 8 GPUs but has no emptyDir (medium: Memory) volume mounted at /dev/shm"
}

# Parameterised count in the JobSet: training.gpus.perNode decides.
test_denied_jobset_parameterised_count_uses_per_node if {
	d := shm_jobset(trainer("{{inputs.parameters.gpus}}", []), [])
	result := data.modelops.training.shm.deny with input.kind as "JobSet"
		with input.document as d
		with input.model as {"training": {"gpus": {"perNode": 4, "nodes": 2}}}
	count(result) == 1
	some r in result
	contains(r.msg, "uses 4 GPUs")
}

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
	count(data.modelops.training.shm.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
		with input.model as {"training": {"gpus": {"perNode": 8, "nodes": 2}}}
}
