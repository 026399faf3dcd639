package modelops.images.digest_pinned_test

import rego.v1

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

deployment(image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "support-chat"},
	"spec": {"template": {"spec": {"containers": [{"name": "server", "image": image}]}}},
}

jobset_template(image) := {
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

test_denied_jobset_manifest if {
	result := data.modelops.images.digest_pinned.deny with input.kind as "WorkflowTemplate"
		with input.environment as {"name": "prod"}
		with input.document as jobset_template("registry.example.com/train/torch:2.4")
	count(result) == 1
	some r in result
	r.path == "spec.templates[0].resource.manifest"
	contains(r.msg, "JobSet")
}

test_allowed_jobset_manifest_pinned if {
	count(data.modelops.images.digest_pinned.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.environment as {"name": "prod"}
		with input.document as jobset_template(sprintf("registry.example.com/train/torch@%s", [digest]))
}
