# METADATA
# title: Applications use the environment's Argo CD project
# description: >-
#   The Argo CD "default" project allows any source repository, any destination cluster
#   and namespace and any resource kind, so an Application in it escapes the guard rails
#   (sync windows, allowed namespaces, RBAC) set up for the environment. Every
#   Application must name a project other than "default", and it must be the
#   environment's project (environment.project).
# scope: package
# custom:
#   id: MO-ACD-001
#   kinds: [Application]
#   severity: high
#   remediation: >-
#     Set spec.project to the environment's project (environment.project in
#     environments/<env>/environment.yaml); create an AppProject per environment if needed.
package modelops.argocd.project

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	input.kind == "Application"
	object.get(reviewed, ["spec", "project"], "default") in {"", "default"}
	result := {
		"msg": concat("", ["Application '", object.get(reviewed, ["metadata", "name"], ""), "' uses the unrestricted 'default' project"]),
		"path": "spec.project",
	}
}

deny contains result if {
	input.kind == "Application"
	project := object.get(reviewed, ["spec", "project"], "default")
	not project in {"", "default"}
	expected := input.environment.project
	is_string(expected)
	project != expected
	result := {
		"msg": concat("", [
			"Application '", object.get(reviewed, ["metadata", "name"], ""), "' uses project '", project,
			"' but environment '", object.get(input.environment, "name", ""), "' requires project '", expected, "'",
		]),
		"path": "spec.project",
	}
}
