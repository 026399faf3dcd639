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
