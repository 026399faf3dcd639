# METADATA
# title: Applications carry the resources finalizer
# description: >-
#   Without resources-finalizer.argocd.argoproj.io, deleting an Application (removing a
#   model from the repo, pruning by the app-of-apps) orphans everything it deployed: GPU
#   Deployments keep running and billing, WorkflowTemplates keep being scheduled. With the
#   finalizer Argo CD deletes the managed resources first (cascading delete). The
#   background and foreground variants (.../background, .../foreground) are accepted.
# scope: package
# custom:
#   id: MO-ACD-003
#   kinds: [Application]
#   severity: medium
#   remediation: >-
#     Add metadata.finalizers: [resources-finalizer.argocd.argoproj.io] to the Application.
package modelops.argocd.finalizer

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

finalizer := "resources-finalizer.argocd.argoproj.io"

deny contains result if {
	input.kind == "Application"
	not has_finalizer
	result := {
		"msg": concat("", ["Application '", object.get(reviewed, ["metadata", "name"], ""), "' has no ", finalizer, " finalizer; deleting it would orphan its resources"]),
		"path": "metadata.finalizers",
	}
}

has_finalizer if {
	some f in object.get(reviewed, ["metadata", "finalizers"], [])
	f == finalizer
}

has_finalizer if {
	some f in object.get(reviewed, ["metadata", "finalizers"], [])
	startswith(f, concat("", [finalizer, "/"]))
}
