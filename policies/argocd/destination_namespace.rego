# METADATA
# title: Applications deploy into the environment's namespace
# description: >-
#   Each environment owns one namespace (environment.namespace) with its quotas, network
#   policies and secrets; an Application pointing elsewhere deploys a model next to
#   another environment's workloads (prod models into staging, or the reverse) or fails
#   at sync time. Every model Application's spec.destination.namespace must equal
#   environment.namespace. The per-environment root app-of-apps (environments/<env>/apps.yaml,
#   whose directory source only includes app-*.yaml) manages Application objects in Argo
#   CD's own namespace and is skipped.
# scope: package
# custom:
#   id: MO-ACD-002
#   kinds: [Application]
#   severity: high
#   remediation: >-
#     Set spec.destination.namespace to environment.namespace (the blueprint does this);
#     change the environment file, not the Application, to move an environment.
package modelops.argocd.destination_namespace

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Application"
	not root_app
	expected := input.environment.namespace
	is_string(expected)
	actual := object.get(reviewed, ["spec", "destination", "namespace"], "")
	actual != expected
	result := {
		"msg": concat("", [
			"Application '", object.get(reviewed, ["metadata", "name"], ""), "' deploys to namespace '", actual,
			"' but environment '", object.get(input.environment, "name", ""), "' uses namespace '", expected, "'",
		]),
		"path": "spec.destination.namespace",
	}
}

root_app if regex.match(`(^|/)apps\.yaml$`, object.get(input, "file", ""))

root_app if {
	include := reviewed.spec.source.directory.include
	is_string(include)
	contains(include, "app-")
}
