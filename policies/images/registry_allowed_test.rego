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
