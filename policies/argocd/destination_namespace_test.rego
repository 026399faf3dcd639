package modelops.argocd.destination_namespace_test

import rego.v1

app(ns) := {"kind": "Application", "metadata": {"name": "support-chat-serving"}, "spec": {"project": "ml-prod", "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}}}

env := {"name": "prod", "namespace": "ml-prod", "project": "ml-prod"}

test_allowed_environment_namespace if {
	e := env
	d := app("ml-prod")
	count(data.modelops.argocd.destination_namespace.deny) == 0 with input.kind as "Application"
		with input.environment as e
		with input.file as "environments/prod/support-chat/app-serving.yaml"
		with input.document as d
}

test_allowed_root_app_of_apps if {
	e := env
	d := {"kind": "Application", "metadata": {"name": "prod-apps"}, "spec": {
		"project": "ml-prod",
		"destination": {"server": "https://kubernetes.default.svc", "namespace": "argocd"},
		"source": {"repoURL": "https://git.example.com/ml/gitops.git", "path": "environments/prod", "directory": {"recurse": true, "include": "*/app-*.yaml"}},
	}}
	count(data.modelops.argocd.destination_namespace.deny) == 0 with input.kind as "Application"
		with input.environment as e
		with input.file as "environments/prod/apps.yaml"
		with input.document as d
}

test_denied_wrong_namespace if {
	e := env
	d := app("ml-staging")
	result := data.modelops.argocd.destination_namespace.deny with input.kind as "Application"
		with input.environment as e
		with input.file as "environments/prod/support-chat/app-serving.yaml"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.destination.namespace"
	contains(r.msg, "deploys to namespace 'ml-staging' but environment 'prod' uses namespace 'ml-prod'")
}

test_denied_missing_namespace if {
	e := env
	d := {"kind": "Application", "metadata": {"name": "a"}, "spec": {"destination": {"server": "https://kubernetes.default.svc"}}}
	count(data.modelops.argocd.destination_namespace.deny) == 1 with input.kind as "Application"
		with input.environment as e
		with input.file as "environments/prod/a/app-training.yaml"
		with input.document as d
}
