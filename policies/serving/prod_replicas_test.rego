package modelops.serving.prod_replicas_test

import rego.v1

values(n) := {"model": {"name": "support-chat", "environment": "prod"}, "replicas": {"min": n, "max": 4}}

model(n) := {"name": "support-chat", "serving": {"replicas": {"min": n, "max": 4}}}

test_allowed_two_replicas_in_prod if {
	count(data.modelops.serving.prod_replicas.deny) == 0 with input.kind as "Values"
		with input.environment as {"name": "prod"}
		with input.model as model(2)
		with input.document as values(2)
}

test_allowed_one_replica_in_staging if {
	count(data.modelops.serving.prod_replicas.deny) == 0 with input.kind as "Values"
		with input.environment as {"name": "staging"}
		with input.model as model(1)
		with input.document as values(1)
}

test_denied_one_replica_in_prod if {
	result := data.modelops.serving.prod_replicas.deny with input.kind as "Values"
		with input.environment as {"name": "prod"}
		with input.model as model(1)
		with input.document as values(1)
	count(result) == 1
	some r in result
	r.path == "replicas.min"
	contains(r.msg, "has min replicas 1; at least 2")
}

test_denied_values_fallback if {
	count(data.modelops.serving.prod_replicas.deny) == 1 with input.kind as "Values"
		with input.environment as {"name": "production"}
		with input.model as {"name": "support-chat"}
		with input.document as values(1)
}

test_denied_single_replica_inferenceservice_in_prod if {
	result := data.modelops.serving.prod_replicas.deny with input.kind as "InferenceService"
		with input.environment as {"name": "prod"}
		with input.model as {"name": "m"}
		with input.document as {"spec": {"predictor": {"minReplicas": 1}}}
	{r.path | some r in result} == {"spec.predictor.minReplicas"}
}
