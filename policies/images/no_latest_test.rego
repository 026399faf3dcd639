package modelops.images.no_latest_test

import rego.v1

deployment(image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "support-chat"},
	"spec": {"template": {"spec": {
		"initContainers": [{"name": "fetch", "image": "registry.example.com/tools/fetch:1.2.0"}],
		"containers": [{"name": "server", "image": image}],
	}}},
}

test_allowed_version_tag if {
	count(data.modelops.images.no_latest.deny) == 0 with input.kind as "Deployment"
		with input.document as deployment("registry.example.com/vllm/vllm-openai:v0.6.3")
}

test_allowed_registry_port_and_digest if {
	count(data.modelops.images.no_latest.deny) == 0 with input.kind as "Deployment"
		with input.document as deployment("registry.local:5000/vllm/vllm-openai@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

test_denied_latest if {
	result := data.modelops.images.no_latest.deny with input.kind as "Deployment"
		with input.document as deployment("registry.example.com/vllm/vllm-openai:latest")
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].image"
	contains(r.msg, ":latest")
}

test_denied_untagged_with_registry_port if {
	result := data.modelops.images.no_latest.deny with input.kind as "Deployment"
		with input.document as deployment("registry.local:5000/vllm/vllm-openai")
	count(result) == 1
	some r in result
	contains(r.msg, "has no tag")
}

test_denied_workflow_template_container if {
	result := data.modelops.images.no_latest.deny with input.kind as "WorkflowTemplate"
		with input.document as {"kind": "WorkflowTemplate", "spec": {"templates": [
			{"name": "main", "steps": [[{"name": "train", "template": "train"}]]},
			{"name": "train", "container": {"image": "pytorch/pytorch"}},
		]}}
	count(result) == 1
	some r in result
	r.path == "spec.templates[1].container.image"
}

test_denied_cron_workflow_inline_spec if {
	result := data.modelops.images.no_latest.deny with input.kind as "CronWorkflow"
		with input.document as {"kind": "CronWorkflow", "spec": {"workflowSpec": {"templates": [{"name": "train", "container": {"image": "pytorch/pytorch:latest"}}]}}}
	count(result) == 1
	some r in result
	r.path == "spec.workflowSpec.templates[0].container.image"
}

nl_jobset(image) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"generateName": "train-"},
	"spec": {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {"template": {"spec": {
		"initContainers": [{"name": "fetch", "image": "registry.example.com/tools/fetch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}],
		"containers": [{"name": "trainer", "image": image}],
	}}}}}]},
}

nl_manifest_template(image) := {
	"apiVersion": "argoproj.io/v1alpha1",
	"kind": "WorkflowTemplate",
	"metadata": {"name": "train"},
	"spec": {"templates": [{"name": "train", "resource": {"action": "create", "manifest": concat("", [`apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  generateName: train-
spec:
  replicatedJobs:
    - name: workers
      replicas: 2
      template:
        spec:
          template:
            spec:
              containers:
                - name: trainer
                  image: `, image, "\n"])}}]},
}

test_allowed_jobset_version_tag if {
	d := nl_jobset("registry.example.com/train/torch:2.4")
	count(data.modelops.images.no_latest.deny) == 0 with input.kind as "JobSet"
		with input.document as d
}

test_denied_jobset_latest if {
	d := nl_jobset("registry.example.com/train/torch:latest")
	result := data.modelops.images.no_latest.deny with input.kind as "JobSet"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec.containers[0].image"
	r.msg == "image 'registry.example.com/train/torch:latest' (JobSet replicatedJob 'workers' container 'trainer') uses the mutable ':latest' tag; use a version tag or a digest"
}

test_allowed_workflow_template_manifest_not_parsed if {
	wf := nl_manifest_template("registry.example.com/train/torch:latest")
	count(data.modelops.images.no_latest.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

test_denied_latest_in_inferenceservice_model if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"model": {"image": "registry.example.com/x/y:latest"}}}}
	result := data.modelops.images.no_latest.deny with input.kind as "InferenceService"
		with input.document as d
	count(result) == 1
}
