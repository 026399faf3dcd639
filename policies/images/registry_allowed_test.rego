package modelops.images.registry_allowed_test

import rego.v1

env := {"name": "prod", "registries": ["registry.example.com/", "ghcr.io/example/"]}

values(image) := {"model": {"name": "support-chat"}, "image": image, "port": 8000}

test_allowed_registry_prefix if {
	e := env
	count(data.modelops.images.registry_allowed.deny) == 0 with input.kind as "Values"
		with input.environment as e
		with input.document as values("ghcr.io/example/vllm:v0.6.3")
}

test_allowed_no_allowlist_configured if {
	count(data.modelops.images.registry_allowed.deny) == 0 with input.kind as "Values"
		with input.environment as {"name": "dev"}
		with input.document as values("docker.io/vllm/vllm-openai:v0.6.3")
}

test_denied_docker_hub_short_name if {
	e := env
	result := data.modelops.images.registry_allowed.deny with input.kind as "Values"
		with input.environment as e
		with input.document as values("vllm/vllm-openai:v0.6.3")
	count(result) == 1
	some r in result
	r.path == "image"
	contains(r.msg, "not from an allowed registry")
}

test_denied_lookalike_registry if {
	e := env
	result := data.modelops.images.registry_allowed.deny with input.kind as "Deployment"
		with input.environment as e
		with input.document as {"spec": {"template": {"spec": {"containers": [
			{"name": "server", "image": "registry.example.com.evil.io/vllm:v1"},
			{"name": "sidecar", "image": "registry.example.com/proxy:v1"},
		]}}}}
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].image"
}

ra_jobset(image) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"generateName": "train-"},
	"spec": {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {"template": {"spec": {
		"initContainers": [{"name": "fetch", "image": "registry.example.com/tools/fetch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}],
		"containers": [{"name": "trainer", "image": image}],
	}}}}}]},
}

ra_manifest_template(image) := {
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

test_allowed_jobset_registry if {
	e := env
	d := ra_jobset("ghcr.io/example/torch:2.4")
	count(data.modelops.images.registry_allowed.deny) == 0 with input.kind as "JobSet"
		with input.environment as e
		with input.document as d
}

test_denied_jobset_registry if {
	e := env
	d := ra_jobset("docker.io/pytorch/pytorch:2.4")
	result := data.modelops.images.registry_allowed.deny with input.kind as "JobSet"
		with input.environment as e
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec.containers[0].image"
	contains(r.msg, "image 'docker.io/pytorch/pytorch:2.4' (JobSet replicatedJob 'workers' container 'trainer') is not from an allowed registry")
}

test_allowed_workflow_template_manifest_not_parsed if {
	e := env
	wf := ra_manifest_template("docker.io/pytorch/pytorch:2.4")
	count(data.modelops.images.registry_allowed.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.environment as e
		with input.document as wf
}

test_denied_serving_runtime_from_another_registry if {
	d := {"kind": "ServingRuntime", "spec": {"containers": [{"name": "kserve-container", "image": "docker.io/vllm/vllm-openai:v0.9.0"}]}}
	result := data.modelops.images.registry_allowed.deny with input.kind as "ServingRuntime"
		with input.environment as {"name": "prod", "registries": ["registry.example.com/"]}
		with input.document as d
	count(result) == 1
}
