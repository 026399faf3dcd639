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

patterns := {
	"an AWS access key id": `(^|[^0-9A-Z])(AKIA|ASIA)[0-9A-Z]{16}([^0-9A-Z]|$)`,
	"a GitHub token": `(^|[^A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})`,
	"a Hugging Face token": `(^|[^A-Za-z0-9_])hf_[A-Za-z0-9]{34}([^A-Za-z0-9]|$)`,
	"a Slack token": `(^|[^A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}`,
	"a private key": `-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`,
}

deny contains result if {
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
	count(string_leaves) == 0
	some kind, pattern in patterns
	regex.match(pattern, json.marshal(input.document))
	result := {"msg": concat("", ["the document contains what looks like ", kind, " (nested too deep to locate); never commit credentials"])}
}

deny contains result if {
	count(string_leaves) > 0
	some kind, pattern in patterns
	not found(kind)
	regex.match(pattern, json.marshal(input.document))
	result := {"msg": concat("", ["the document contains what looks like ", kind, " (nested too deep to locate); never commit credentials"])}
}

found(kind) if {
	some leaf in string_leaves
	regex.match(patterns[kind], leaf[1])
}

# ---- string leaves of the document with their paths --------------------------------
# walk() would do this in one line, but rego-cpp (regopy 1.5.2) crashes or runs out of
# memory evaluating walk() under `with input... as`, which every policy test needs; so the
# document is enumerated level by level.

string_leaves := {e | some e in (nodes_1 | nodes_2 | nodes_3 | nodes_4 | nodes_5 | nodes_6 | nodes_7 | nodes_8 | nodes_9 | nodes_10 | nodes_11 | nodes_12 | nodes_13 | nodes_14 | nodes_15 | nodes_16); is_string(e[1])}

composite(x) if is_object(x)

composite(x) if is_array(x)

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

nodes_0 := {[[], input.document]}

nodes_1 := {pair |
	some e in nodes_0
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_2 := {pair |
	some e in nodes_1
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_3 := {pair |
	some e in nodes_2
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_4 := {pair |
	some e in nodes_3
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_5 := {pair |
	some e in nodes_4
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_6 := {pair |
	some e in nodes_5
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_7 := {pair |
	some e in nodes_6
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_8 := {pair |
	some e in nodes_7
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_9 := {pair |
	some e in nodes_8
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_10 := {pair |
	some e in nodes_9
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_11 := {pair |
	some e in nodes_10
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_12 := {pair |
	some e in nodes_11
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_13 := {pair |
	some e in nodes_12
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_14 := {pair |
	some e in nodes_13
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_15 := {pair |
	some e in nodes_14
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}

nodes_16 := {pair |
	some e in nodes_15
	n := e[1]
	composite(n)
	some k
	v := n[k]
	pair := [array.concat(e[0], [k]), v]
}
