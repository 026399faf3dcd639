package modelops.gpus.requests_equal_limits_test

import rego.v1

deployment(resources) := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x", "resources": resources}]}}}}

test_allowed_equal_number_and_string if {
	d := deployment({"requests": {"cpu": "2", "nvidia.com/gpu": 1}, "limits": {"cpu": "4", "nvidia.com/gpu": "1"}})
	count(data.modelops.gpus.requests_equal_limits.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_allowed_cpu_only if {
	d := deployment({"requests": {"cpu": "2"}, "limits": {"cpu": "4"}})
	count(data.modelops.gpus.requests_equal_limits.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_different_values if {
	d := deployment({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}})
	result := data.modelops.gpus.requests_equal_limits.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].resources"
	contains(r.msg, "nvidia.com/gpu request (1) must equal its limit (2)")
}

test_denied_missing_request_mig_in_workflow if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "container": {"name": "main", "image": "x", "resources": {"limits": {"nvidia.com/mig-1g.10gb": 1}}}}]}}
	result := data.modelops.gpus.requests_equal_limits.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 1
	some r in result
	r.path == "spec.templates[0].container.resources"
	contains(r.msg, "request (unset)")
}

rel_jobset(resources) := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [{"name": "workers", "template": {"spec": {"template": {"spec": {"containers": [{"name": "trainer", "image": "x", "resources": resources}]}}}}}]}}

test_allowed_jobset_equal if {
	d := rel_jobset({"requests": {"nvidia.com/gpu": "8"}, "limits": {"nvidia.com/gpu": 8}})
	count(data.modelops.gpus.requests_equal_limits.deny) == 0 with input.kind as "JobSet"
		with input.document as d
}

test_denied_jobset_different_values if {
	d := rel_jobset({"requests": {"nvidia.com/gpu": 4}, "limits": {"nvidia.com/gpu": 8}})
	result := data.modelops.gpus.requests_equal_limits.deny with input.kind as "JobSet"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec.containers[0].resources"
	r.msg == "container 'trainer' in JobSet replicatedJob 'workers': nvidia.com/gpu request (4) must equal its limit (8)"
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
                    requests: {nvidia.com/gpu: 4}
`}}]}}
	count(data.modelops.gpus.requests_equal_limits.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_denied_inferenceservice_gpu_request_below_limit if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"model": {"resources": {"limits": {"nvidia.com/gpu": "2"}, "requests": {"nvidia.com/gpu": "1"}}}}}}
	result := data.modelops.gpus.requests_equal_limits.deny with input.kind as "InferenceService"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.predictor.model.resources"
}
