package modelops.argocd.project_test

import rego.v1

app(project) := {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "support-chat-serving"}, "spec": {"project": project}}

test_allowed_environment_project if {
	d := app("ml-prod")
	count(data.modelops.argocd.project.deny) == 0 with input.kind as "Application"
		with input.environment as {"name": "prod", "project": "ml-prod"}
		with input.document as d
}

test_denied_default_project if {
	d := app("default")
	result := data.modelops.argocd.project.deny with input.kind as "Application"
		with input.environment as {"name": "prod", "project": "default"}
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.project"
	contains(r.msg, "unrestricted 'default' project")
}

test_denied_missing_project if {
	d := {"kind": "Application", "metadata": {"name": "a"}, "spec": {}}
	count(data.modelops.argocd.project.deny) == 1 with input.kind as "Application"
		with input.environment as {"name": "prod", "project": "ml-prod"}
		with input.document as d
}

test_denied_other_environment_project if {
	d := app("ml-staging")
	result := data.modelops.argocd.project.deny with input.kind as "Application"
		with input.environment as {"name": "prod", "project": "ml-prod"}
		with input.document as d
	count(result) == 1
	some r in result
	contains(r.msg, "uses project 'ml-staging' but environment 'prod' requires project 'ml-prod'")
}
