# METADATA
# title: Application sync policy matches the environment
# description: >-
#   Each environment decides how changes reach the cluster (environment.syncPolicy):
#   typically dev syncs automatically with prune, prod syncs manually or automatically
#   without prune. An Application that auto-syncs where the environment wants manual
#   promotion, or prunes where it must not, bypasses the release process (and a prune in
#   prod can delete a serving Deployment). spec.syncPolicy.automated must be present
#   (and not disabled with enabled: false) exactly when environment.syncPolicy.automated is
#   true, and automated.prune must equal environment.syncPolicy.prune (default false).
#   Skipped when the environment declares no syncPolicy.
# scope: package
# custom:
#   id: MO-ACD-004
#   kinds: [Application]
#   severity: high
#   remediation: >-
#     Render spec.syncPolicy from the environment's syncPolicy (the blueprint does this);
#     change the environment file, not individual Applications.
package modelops.argocd.sync_policy

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

env_automated := object.get(input, ["environment", "syncPolicy", "automated"], false) == true

env_prune := object.get(input, ["environment", "syncPolicy", "prune"], false) == true

automated := reviewed.spec.syncPolicy.automated if {
	a := reviewed.spec.syncPolicy.automated
	is_object(a)
	object.get(a, "enabled", true) != false
}

deny contains result if {
	input.kind == "Application"
	is_object(input.environment.syncPolicy)
	env_automated
	not automated
	result := {
		"msg": concat("", [app_name, " is not automatically synced but environment '", env_name, "' requires automated sync"]),
		"path": "spec.syncPolicy.automated",
	}
}

deny contains result if {
	input.kind == "Application"
	is_object(input.environment.syncPolicy)
	not env_automated
	automated
	result := {
		"msg": concat("", [app_name, " syncs automatically but environment '", env_name, "' requires manual sync"]),
		"path": "spec.syncPolicy.automated",
	}
}

deny contains result if {
	input.kind == "Application"
	is_object(input.environment.syncPolicy)
	env_automated
	prune := object.get(automated, "prune", false) == true
	prune != env_prune
	result := {
		"msg": concat("", [app_name, " has automated.prune ", bool_text(prune), " but environment '", env_name, "' requires prune ", bool_text(env_prune)]),
		"path": "spec.syncPolicy.automated.prune",
	}
}

app_name := concat("", ["Application '", object.get(reviewed, ["metadata", "name"], ""), "'"])

env_name := object.get(input, ["environment", "name"], "")

bool_text(true) := "true"

bool_text(false) := "false"
