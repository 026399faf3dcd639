package modelops.argocd.sync_policy_test

import rego.v1

app(sync) := {"kind": "Application", "metadata": {"name": "support-chat-serving"}, "spec": {"syncPolicy": sync}}

prod_env := {"name": "prod", "syncPolicy": {"automated": true, "prune": false, "selfHeal": true}}

test_allowed_prod_automated_without_prune if {
	e := prod_env
	d := app({"automated": {"prune": false, "selfHeal": true}, "syncOptions": ["ServerSideApply=true"]})
	count(data.modelops.argocd.sync_policy.deny) == 0 with input.kind as "Application"
		with input.environment as e
		with input.document as d
}

test_allowed_manual_environment if {
	d := app({"syncOptions": ["CreateNamespace=true"]})
	count(data.modelops.argocd.sync_policy.deny) == 0 with input.kind as "Application"
		with input.environment as {"name": "prod", "syncPolicy": {"automated": false}}
		with input.document as d
}

test_allowed_dev_prune if {
	d := app({"automated": {"prune": true, "selfHeal": true}})
	count(data.modelops.argocd.sync_policy.deny) == 0 with input.kind as "Application"
		with input.environment as {"name": "dev", "syncPolicy": {"automated": true, "prune": true, "selfHeal": true}}
		with input.document as d
}

test_denied_prune_in_prod if {
	e := prod_env
	d := app({"automated": {"prune": true, "selfHeal": true}})
	result := data.modelops.argocd.sync_policy.deny with input.kind as "Application"
		with input.environment as e
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.syncPolicy.automated.prune"
	r.msg == "Application 'support-chat-serving' has automated.prune true but environment 'prod' requires prune false"
}

test_denied_automated_in_manual_environment if {
	d := app({"automated": {}})
	result := data.modelops.argocd.sync_policy.deny with input.kind as "Application"
		with input.environment as {"name": "prod", "syncPolicy": {"automated": false}}
		with input.document as d
	count(result) == 1
	some r in result
	contains(r.msg, "requires manual sync")
}

test_denied_disabled_automation if {
	e := prod_env
	d := app({"automated": {"enabled": false}})
	result := data.modelops.argocd.sync_policy.deny with input.kind as "Application"
		with input.environment as e
		with input.document as d
	count(result) == 1
	some r in result
	contains(r.msg, "is not automatically synced")
}
