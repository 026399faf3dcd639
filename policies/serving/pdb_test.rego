package modelops.serving.pdb_test

import rego.v1

deployment := {"kind": "Deployment", "metadata": {"name": "support-chat"}, "spec": {}}

test_allowed_pdb_present if {
	d := deployment
	count(data.modelops.serving.pdb.deny) == 0 with input.kind as "Deployment"
		with input.environment as {"name": "prod"}
		with input.document as d
		with input.context as {"kinds": ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceAccount"], "plan": null}
}

test_allowed_dev_without_pdb if {
	d := deployment
	count(data.modelops.serving.pdb.deny) == 0 with input.kind as "Deployment"
		with input.environment as {"name": "dev"}
		with input.document as d
		with input.context as {"kinds": ["Deployment", "Service"], "plan": null}
}

test_denied_prod_without_pdb if {
	d := deployment
	result := data.modelops.serving.pdb.deny with input.kind as "Deployment"
		with input.environment as {"name": "prod"}
		with input.document as d
		with input.context as {"kinds": ["Deployment", "Service"], "plan": null}
	count(result) == 1
	some r in result
	contains(r.msg, "production Deployment 'support-chat' has no PodDisruptionBudget")
}

test_allowed_not_reported_on_service if {
	count(data.modelops.serving.pdb.deny) == 0 with input.kind as "Service"
		with input.environment as {"name": "prod"}
		with input.document as {"kind": "Service"}
		with input.context as {"kinds": ["Deployment", "Service"], "plan": null}
}
