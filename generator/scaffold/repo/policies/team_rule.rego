# METADATA
# title: Model owners use a company e-mail address
# description: >-
#   An example team rule. Alerts and promotion requests go to metadata.owner, so it must be
#   an address the company controls. Evaluated once per model and environment (on the
#   serving Helm values). Severity low, so it is a `warn` rule: it shows in every report but
#   never fails `check` on its own (a `deny` rule fails staging and prod). Copy this folder
#   to start your own rules (see policies/README.md).
# scope: package
# custom:
#   id: TEAM-001
#   severity: low
#   remediation: >-
#     Set metadata.owner to a team mailing list in one of the company's mail domains.
package team.example.owner_domain

import rego.v1

# The company's mail domains.
domains := {"example.com"}

warn contains result if {
	input.kind == "Values"
	owner := object.get(input, ["model", "owner"], "")
	not company_address(owner)
	result := {"msg": concat("", [
		"model '", object.get(input, ["model", "name"], ""), "' has owner '", owner,
		"', which is not an address in ", concat(", ", sort(domains)),
	])}
}

company_address(owner) if {
	some domain in domains
	endswith(lower(owner), concat("", ["@", domain]))
}
