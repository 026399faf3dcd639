# METADATA
# title: No plaintext secrets in environment variables
# description: >-
#   Everything under environments/ is committed to Git and readable by everyone with repo
#   access, and env values show up in `kubectl describe`, Argo UI and logs. Environment
#   variables whose name looks like a credential (PASSWORD, PASSWD, TOKEN, SECRET, API_KEY,
#   ACCESS_KEY, PRIVATE_KEY, CREDENTIALS as a name segment, case-insensitive; e.g.
#   HF_TOKEN, WANDB_API_KEY, AWS_SECRET_ACCESS_KEY) must come from valueFrom
#   (secretKeyRef), not a literal value. Names that only point at a secret (…_FILE,
#   …_PATH, …_DIR, …_NAME, …_REF) and Argo expressions are not flagged. Checks containers
#   of Deployments, WorkflowTemplates/CronWorkflows, JobSets (the one embedded in a
#   multi-node WorkflowTemplate is checked as a document of its own) and the serving
#   Values file's env list.
# scope: package
# custom:
#   id: MO-SEC-001
#   kinds: [Values, Deployment, WorkflowTemplate, CronWorkflow, JobSet]
#   severity: critical
#   remediation: >-
#     Remove the value from the model spec and Git history (rotate the credential), store it
#     in a Kubernetes Secret (or External Secrets / Vault) and reference it with
#     valueFrom.secretKeyRef.
package modelops.secrets.plaintext_env

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

deny contains result if {
	some ref in env_entries
	is_string(ref.env.name)
	secret_name(ref.env.name)
	literal(object.get(ref.env, "value", null))
	result := {
		"msg": concat("", ["env var '", ref.env.name, "'", ref.where, " holds a literal value; credentials must come from valueFrom.secretKeyRef"]),
		"path": concat("", [ref.path, ".value"]),
	}
}

secret_name(name) if {
	n := upper(name)
	contains_secret_word(n)
	regex.match(`(^|[_.-])(PASSWORD|PASSWD|TOKEN|SECRET|API[_-]?KEY|APIKEY|ACCESS[_-]?KEY|PRIVATE[_-]?KEY|CREDENTIALS?)([_.-]|$)`, n)
	not regex.match(`[_.-](FILE|PATH|DIR|NAME|REF)$`, n)
}

# A literal screen for the pattern below (every alternative contains one of these words):
# rego-cpp compiles a regex on every call, and a training pod has dozens of variables.
contains_secret_word(n) if {
	some word in ["PASSW", "TOKEN", "SECRET", "KEY", "CREDENTIAL"]
	contains(n, word)
}

literal(v) if {
	is_string(v)
	trim_space(v) != ""
	not contains(v, "{{")
	not regex.match(`^\$\([A-Za-z_][A-Za-z0-9_]*\)$`, v)
}

literal(v) if is_number(v)

env_entries contains {"path": concat("", ["env[", format_int(i, 10), "]"]), "where": "", "env": e} if {
	input.kind == "Values"
	some i, e in reviewed.env
	is_object(e)
}

env_entries contains {"path": concat("", [ref.path, ".env[", format_int(i, 10), "]"]), "where": ref.where, "env": e} if {
	some ref in containers
	some i, e in object.get(ref.container, "env", [])
	is_object(e)
}

# ---- containers in the document -----------------------------------------------------
# Each entry: path (where the container lives), where (extra location text), container.

containers contains {"path": concat("", ["spec.template.spec.", f, "[", format_int(i, 10), "]"]), "where": "", "container": c} if {
	input.kind == "Deployment"
	some f in ["containers", "initContainers"]
	some i, c in reviewed.spec.template.spec[f]
	is_object(c)
}

wf_spec := reviewed.spec if input.kind == "WorkflowTemplate"

wf_spec := reviewed.spec.workflowSpec if input.kind == "CronWorkflow"

wf_prefix := "spec" if input.kind == "WorkflowTemplate"

wf_prefix := "spec.workflowSpec" if input.kind == "CronWorkflow"

containers contains {"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "].", f]), "where": "", "container": c} if {
	some i, t in wf_spec.templates
	some f in ["container", "script"]
	is_object(t[f])
	c := object.union({"name": "main"}, t[f])
}

containers contains {"path": concat("", [wf_prefix, ".templates[", format_int(i, 10), "].", f, "[", format_int(j, 10), "]"]), "where": "", "container": c} if {
	some i, t in wf_spec.templates
	some f in ["initContainers", "sidecars"]
	some j, c in t[f]
	is_object(c)
}

# The embedded JobSet of a multi-node WorkflowTemplate is its own document (kind JobSet,
# source embedded).
containers contains {"path": concat("", ["spec.replicatedJobs[", format_int(j, 10), "].template.spec.template.spec.", f, "[", format_int(k, 10), "]"]), "where": concat("", [" (JobSet replicatedJob '", object.get(rj, "name", ""), "' container '", object.get(c, "name", ""), "')"]), "container": c} if {
	input.kind == "JobSet"
	some j, rj in reviewed.spec.replicatedJobs
	some f in ["containers", "initContainers"]
	some k, c in rj.template.spec.template.spec[f]
	is_object(c)
}
