# METADATA
# title: No credentials in rendered documents
# description: >-
#   Anything committed under environments/ is readable by everyone with repo access and
#   lives forever in Git history. Every string in the document (at any depth, including
#   Argo resource manifests and args) is scanned for well-known credential formats: AWS access key ids (AKIA/ASIA...), GitHub tokens (ghp_, gho_,
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

# Cheap tests first, as almost every document holds no credential: walking every leaf is
# the expensive part, and the full pattern set over the serialised document costs about
# twice what this literal prefix screen costs. Every pattern
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

# A credential in a key, not a value (the leaves below are values): still report it,
# without a path.
deny contains result if {
	suspicious
	some kind, pattern in patterns
	not found(kind)
	regex.match(pattern, json.marshal(reviewed))
	result := {"msg": concat("", ["a key of the document looks like ", kind, "; never commit credentials"])}
}

found(kind) if {
	some leaf in string_leaves
	regex.match(patterns[kind], leaf[1])
}

# Every string value with its path, at any depth. (An enumeration of sixteen fixed depths
# stood here for rego-cpp, which crashed on walk(); regorus spent 160 ms of every process's
# first evaluation preparing it.)
string_leaves contains [path, value] if {
	walk(reviewed, [path, value])
	is_string(value)
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
