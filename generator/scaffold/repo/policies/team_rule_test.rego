package team.example.owner_domain_test

import rego.v1

model(owner) := {"name": "example-model", "owner": owner}

test_company_address_passes if {
	count(data.team.example.owner_domain.warn) == 0 with input.kind as "Values"
		with input.model as model("ml-team@example.com")
}

test_domain_match_ignores_case if {
	count(data.team.example.owner_domain.warn) == 0 with input.kind as "Values"
		with input.model as model("ML-Team@Example.COM")
}

test_outside_address_warned if {
	result := data.team.example.owner_domain.warn with input.kind as "Values"
		with input.model as model("someone@mail.test")
	count(result) == 1
	some r in result
	contains(r.msg, "not an address in example.com")
}

test_lookalike_domain_warned if {
	count(data.team.example.owner_domain.warn) == 1 with input.kind as "Values"
		with input.model as model("x@evil-example.com")
}

test_other_documents_ignored if {
	count(data.team.example.owner_domain.warn) == 0 with input.kind as "Deployment"
		with input.model as model("someone@mail.test")
}
