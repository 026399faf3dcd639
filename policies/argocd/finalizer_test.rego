package modelops.argocd.finalizer_test

import rego.v1

app(finalizers) := {"kind": "Application", "metadata": {"name": "support-chat-serving", "finalizers": finalizers}, "spec": {}}

test_allowed_finalizer if {
	d := app(["resources-finalizer.argocd.argoproj.io"])
	count(data.modelops.argocd.finalizer.deny) == 0 with input.kind as "Application"
		with input.document as d
}

test_allowed_background_finalizer if {
	d := app(["resources-finalizer.argocd.argoproj.io/background"])
	count(data.modelops.argocd.finalizer.deny) == 0 with input.kind as "Application"
		with input.document as d
}

test_denied_no_finalizer if {
	d := {"kind": "Application", "metadata": {"name": "support-chat-serving"}, "spec": {}}
	result := data.modelops.argocd.finalizer.deny with input.kind as "Application"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "metadata.finalizers"
	contains(r.msg, "Application 'support-chat-serving' has no resources-finalizer.argocd.argoproj.io finalizer")
}

test_denied_other_finalizer_only if {
	d := app(["example.com/cleanup"])
	count(data.modelops.argocd.finalizer.deny) == 1 with input.kind as "Application"
		with input.document as d
}
