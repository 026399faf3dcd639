package modelops.images.digest_pinned_test

import rego.v1

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

deployment(image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "support-chat"},
	"spec": {"template": {"spec": {"containers": [{"name": "server", "image": image}]}}},
}

test_allowed_digest_in_prod if {
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "Deployment"
		with input.environment as {"name": "prod"}
		with input.document as deployment(sprintf("registry.example.com/vllm/vllm-openai@%s", [digest]))
}

test_allowed_tag_in_dev if {
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "Deployment"
		with input.environment as {"name": "dev"}
		with input.document as deployment("registry.example.com/vllm/vllm-openai:v0.6.3")
}

test_allowed_other_kind if {
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "Service"
		with input.environment as {"name": "prod"}
		with input.document as deployment("registry.example.com/vllm/vllm-openai:v0.6.3")
}

test_denied_tag_in_prod_deployment if {
	result := data.modelops.images.digest_pinned.deny with input.kind as "Deployment"
		with input.environment as {"name": "prod"}
		with input.document as deployment("registry.example.com/vllm/vllm-openai:v0.6.3")
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].image"
	contains(r.msg, "not pinned by digest")
}

test_denied_values_image if {
	result := data.modelops.images.digest_pinned.deny with input.kind as "Values"
		with input.environment as {"name": "staging"}
		with input.document as {"image": "registry.example.com/vllm/vllm-openai:v0.6.3"}
	count(result) == 1
	some r in result
	r.path == "image"
}

dp_jobset(image) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"generateName": "train-"},
	"spec": {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {"template": {"spec": {
		"initContainers": [{"name": "fetch", "image": "registry.example.com/tools/fetch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}],
		"containers": [{"name": "trainer", "image": image}],
	}}}}}]},
}

dp_manifest_template(image) := {
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

test_allowed_jobset_pinned if {
	d := dp_jobset(sprintf("registry.example.com/train/torch@%s", [digest]))
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "JobSet"
		with input.environment as {"name": "prod"}
		with input.document as d
}

test_allowed_jobset_tag_in_dev if {
	d := dp_jobset("registry.example.com/train/torch:2.4")
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "JobSet"
		with input.environment as {"name": "dev"}
		with input.document as d
}

test_denied_jobset_tag_in_prod if {
	d := dp_jobset("registry.example.com/train/torch:2.4")
	result := data.modelops.images.digest_pinned.deny with input.kind as "JobSet"
		with input.environment as {"name": "prod"}
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec.containers[0].image"
	r.msg == "image 'registry.example.com/train/torch:2.4' (JobSet replicatedJob 'workers' container 'trainer') is not pinned by digest in environment 'prod'; use @sha256:<digest>"
}

test_allowed_workflow_template_manifest_not_parsed if {
	wf := dp_manifest_template("registry.example.com/train/torch:2.4")
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.environment as {"name": "prod"}
		with input.document as wf
}

test_denied_tagged_serving_runtime_in_staging if {
	d := {"kind": "ServingRuntime", "spec": {"containers": [{"name": "kserve-container", "image": "registry.example.com/vllm/vllm-openai:v0.9.0"}]}}
	result := data.modelops.images.digest_pinned.deny with input.kind as "ServingRuntime"
		with input.environment as {"name": "staging"}
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.containers[0].image"
	contains(r.msg, "(ServingRuntime)")
}

test_denied_tagged_inferenceservice_container_in_prod if {
	d := {"kind": "InferenceService", "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "registry.example.com/growth/churn:1.2"}]}}}
	result := data.modelops.images.digest_pinned.deny with input.kind as "InferenceService"
		with input.environment as {"name": "prod"}
		with input.document as d
	{r.path | some r in result} == {"spec.predictor.containers[0].image"}
}

test_allowed_pinned_serving_runtime if {
	d := {"kind": "ServingRuntime", "spec": {"containers": [{"name": "kserve-container", "image": sprintf("registry.example.com/vllm/vllm-openai@%s", [digest])}]}}
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "ServingRuntime"
		with input.environment as {"name": "prod"}
		with input.document as d
}
