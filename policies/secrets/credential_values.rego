# METADATA
# title: No credentials in rendered documents
# description: >-
#   Anything committed under environments/ is readable by everyone with repo access and
#   lives forever in Git history. Every string in the document (at any depth up to 16
#   levels, including Argo resource manifests and args) is scanned for well-known
#   credential formats: AWS access key ids (AKIA/ASIA...), GitHub tokens (ghp_, gho_,
#   ghu_, ghs_, ghr_, github_pat_), Hugging Face tokens (hf_...), Slack tokens (xox?-) and
#   PEM private keys (-----BEGIN ... PRIVATE KEY-----). Applies to every document kind.
#   The secret itself is never echoed in the finding.
# scope: package
# custom:
#   id: MO-SEC-002
#   severity: critical
#   remediation: >-
#     Remove the credential from the model spec and the rendered files, rotate it (it is
#     in Git history now), store it in a Kubernetes Secret / External Secrets / Vault and
#     reference it (valueFrom.secretKeyRef, a mounted secret volume).
package modelops.secrets.credential_values

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

patterns := {
	"an AWS access key id": `(^|[^0-9A-Z])(AKIA|ASIA)[0-9A-Z]{16}([^0-9A-Z]|$)`,
	"a GitHub token": `(^|[^A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})`,
	"a Hugging Face token": `(^|[^A-Za-z0-9_])hf_[A-Za-z0-9]{34}([^A-Za-z0-9]|$)`,
	"a Slack token": `(^|[^A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}`,
	"a private key": `-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`,
}

# Cheap tests first, as almost every document holds no credential: the leaf enumeration
# below costs ~300 ms on a WorkflowTemplate in rego-cpp, and the full pattern set over the
# serialised document about twice what this literal prefix screen costs. Every pattern
# above contains one of these prefixes, so a document that fails the screen cannot match.
suspicious if {
	text := json.marshal(reviewed)
	regex.match(`AKIA|ASIA|gh[pousr]_|github_pat_|hf_|xox[abprs]-|PRIVATE KEY`, text)
	regex.match(any_pattern, text)
}

any_pattern := concat("|", [sprintf("(%s)", [p]) | some p in patterns])

deny contains result if {
	suspicious
	some leaf in string_leaves
	some kind, pattern in patterns
	regex.match(pattern, leaf[1])
	result := {
		"msg": concat("", ["value at ", path_text(leaf[0]), " looks like ", kind, "; never commit credentials"]),
		"path": path_text(leaf[0]),
	}
}

# Deeper than the enumeration below: still report, without a precise path.
deny contains result if {
	suspicious
	some kind, pattern in patterns
	not found(kind)
	regex.match(pattern, json.marshal(reviewed))
	result := {"msg": concat("", ["the document contains what looks like ", kind, " (nested too deep to locate); never commit credentials"])}
}

found(kind) if {
	some leaf in string_leaves
	regex.match(patterns[kind], leaf[1])
}

# ---- string leaves of the document with their paths --------------------------------
# walk() would do this in one line, but rego-cpp (regopy 1.5.2) crashes or runs out of
# memory evaluating walk() under `with input... as`, which every policy test needs; so the
# document is enumerated depth by depth (refs with variables, no rule chains: rego-cpp also
# crashes on chains of about ten dependent rules under `with`).

string_leaves contains [[k1], v] if {
	v := reviewed[k1]
	is_string(v)
}

string_leaves contains [[k1, k2], v] if {
	v := reviewed[k1][k2]
	is_string(v)
}

string_leaves contains [[k1, k2, k3], v] if {
	v := reviewed[k1][k2][k3]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4], v] if {
	v := reviewed[k1][k2][k3][k4]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5], v] if {
	v := reviewed[k1][k2][k3][k4][k5]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11][k12]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11][k12][k13]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11][k12][k13][k14]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11][k12][k13][k14][k15]
	is_string(v)
}

string_leaves contains [[k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15, k16], v] if {
	v := reviewed[k1][k2][k3][k4][k5][k6][k7][k8][k9][k10][k11][k12][k13][k14][k15][k16]
	is_string(v)
}

path_text(p) := concat("", [seg |
	some i
	k := p[i]
	seg := segment(i, k)
])

segment(_, k) := concat("", ["[", format_int(k, 10), "]"]) if is_number(k)

segment(0, k) := k if is_string(k)

segment(i, k) := concat("", [".", k]) if {
	is_string(k)
	i > 0
}
